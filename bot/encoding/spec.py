"""What a sentence-transformers model folder says about turning text into a vector: the
length limit, lower-casing and pooling, read from the model's own files
(``modules.json``, ``sentence_bert_config.json``, ``1_Pooling/config.json``,
``tokenizer_config.json``, ``config.json``), in both the layout sentence-transformers 2.x
wrote and the one 6.x writes. Only JSON is read here: no model library is imported."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Pooling modes the runtime computes itself (``bot.encoding.pooling``).
POOLING_MODES = ("mean", "cls", "max", "mean_sqrt_len_tokens")
_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


class UnsupportedModel(ValueError):
    """The model needs something the runtime does not do (a Dense layer, a prompt, a
    pooling mode it does not compute): sentence-transformers itself has to run it."""


@dataclass(frozen=True)
class ModelSpec:
    max_seq_length: int  # tokens, special tokens included; longer texts are truncated
    lowercase: bool  # sentence-transformers' do_lower_case: lower-case before tokenising
    pooling: tuple[str, ...]  # concatenated in this order
    token_dimension: int
    pad_token: str

    @property
    def dimension(self) -> int:
        return self.token_dimension * len(self.pooling)


def read_spec(folder: Path) -> ModelSpec:
    """The model's encoding recipe. Raises UnsupportedModel for a pipeline the runtime
    cannot reproduce, and OSError/ValueError for missing or malformed files."""
    modules = sorted(_json(folder / "modules.json"), key=lambda m: int(m.get("idx", 0)))
    kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
    if not kinds or kinds[0] != "Transformer":
        raise UnsupportedModel(f"the first module is {kinds[:1] or 'missing'}, not a Transformer")
    # Normalize is what this bot does to every vector anyway (inner product = cosine).
    if kinds[1:2] != ["Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise UnsupportedModel(f"modules {kinds}: the runtime does Transformer, Pooling, "
                               "Normalize")
    transformer = folder / str(modules[0].get("path", ""))
    sbert = _json_or_empty(transformer / "sentence_bert_config.json")
    tokenizer = _json_or_empty(transformer / "tokenizer_config.json")
    config = _json_or_empty(transformer / "config.json")
    pooling = _json(folder / str(modules[1]["path"]) / "config.json")
    _refuse_prompts(_json_or_empty(folder / "config_sentence_transformers.json"))

    positions = int(config.get("max_position_embeddings") or 0)
    # sentence-transformers 2.x kept the limit in sentence_bert_config.json, 6.x keeps it as
    # the tokenizer's model_max_length; either way it is capped at the position embeddings.
    limit = int(sbert.get("max_seq_length") or tokenizer.get("model_max_length") or positions)
    if positions > 0:
        limit = min(limit, positions)
    if limit <= 0:
        raise UnsupportedModel("no maximum sequence length in the model's files")
    modes = _pooling_modes(pooling)
    dimension = int(pooling.get("embedding_dimension") or pooling["word_embedding_dimension"])
    return ModelSpec(
        max_seq_length=limit,
        lowercase=bool(sbert.get("do_lower_case", False)),
        pooling=modes,
        token_dimension=dimension,
        pad_token=str(tokenizer.get("pad_token") or "[PAD]"),
    )


def _pooling_modes(config: dict[str, Any]) -> tuple[str, ...]:
    mode = config.get("pooling_mode")
    if mode is None:
        legacy = tuple(m for key, m in _LEGACY_POOLING.items() if config.get(key))
        modes = legacy or ("mean",)
    else:
        modes = (mode,) if isinstance(mode, str) else tuple(str(m) for m in mode)
    unknown = [m for m in modes if m not in POOLING_MODES]
    if unknown:
        raise UnsupportedModel(f"pooling mode {unknown[0]!r} is not computed by the runtime")
    return modes


def _refuse_prompts(config: dict[str, Any]) -> None:
    name = config.get("default_prompt_name")
    if name and (config.get("prompts") or {}).get(name):
        raise UnsupportedModel(f"the model prepends a default prompt ({name!r})")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _json_or_empty(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = _json(path)
    return data if isinstance(data, dict) else {}
