"""The reader at question time: its OpenVINO graph (``bot/reader/model/``) run by the OpenVINO
runtime, pairs tokenised by ``tokenizers`` (``bot.reader.pairs``). No torch, no transformers.

``Reader.read`` takes (question, sentence, previous sentence) pairs, any number at once, and
gives each the reader's log-odds that the sentence answers the question and, inside the
sentence, the likeliest answer's character span."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.encoding.runtime import openvino_core
from bot.errors import IndexUnavailable
from bot.reader.pairs import CONTEXT_WORDS, MAX_TOKENS, Pair, PairTokenizer, answer_span

logger = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).with_name("model")
GRAPH, WEIGHTS, TOKENIZER, MANIFEST = "reader.xml", "reader.bin", "tokenizer.json", "manifest.json"
FORMAT = 1  # bump when the inputs, outputs or pairing change
# The CPU plugin keeps what it prepared for each input shape it has seen (5,000 shapes by
# default); every (pairs, tokens) a burst makes is a new one, and a reader fed varied
# batches grew from 130 MB to 750 MB and on. 64 shapes held it at about 470 MB; 16 kept
# the soak's memory no lower and made its answers a quarter slower.
OV_CONFIG = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
             "CPU_RUNTIME_CACHE_CAPACITY": "64"}
BATCH = 32  # pairs per forward pass


@dataclass(frozen=True)
class Reading:
    logit: float  # the reader's log-odds that the sentence answers
    span: tuple[int, int] | None  # the answer's characters in the sentence


class PairReader(Protocol):
    def read(self, pairs: Sequence[Pair]) -> list[Reading]: ...


class Reader:
    """Thread-safe: one forward pass at a time (one already uses every core)."""

    def __init__(self, folder: Path = MODEL_DIR, cache_dir: Path | None = None,
                 check: bool = True) -> None:
        self.folder = folder
        self.manifest = read_manifest(folder) if check else {}
        self._tokenizer = PairTokenizer(folder / TOKENIZER, MAX_TOKENS)
        core = openvino_core()  # one per process: see its docstring
        config: dict[str, Any] = dict(OV_CONFIG)
        if cache_dir is not None:
            config["CACHE_DIR"] = str(cache_dir)
        try:
            compiled = core.compile_model(str(folder / GRAPH), "CPU", config)
        except RuntimeError:
            if cache_dir is None:
                raise
            shutil.rmtree(cache_dir, ignore_errors=True)  # a damaged compile cache
            compiled = core.compile_model(str(folder / GRAPH), "CPU", OV_CONFIG)
        feeds = ("input_ids", "attention_mask", "token_type_ids")
        self._inputs = [next((n for n in port.get_names() if n in feeds), port.get_any_name())
                        for port in compiled.inputs]
        names = [port.get_names() for port in compiled.outputs]
        self._outputs = [next(i for i, n in enumerate(names) if key in n)
                         for key in ("answer", "start", "end")]
        self._request: Any = compiled.create_infer_request()
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        digest = str(self.manifest.get("files", {}).get(WEIGHTS, ""))[:12]
        return f"reader-{digest or 'unchecked'}"

    def read(self, pairs: Sequence[Pair]) -> list[Reading]:
        """Each pair's reading, in order; pairs of similar length are batched together."""
        if not pairs:
            return []
        encodings = self._tokenizer.encode(pairs)
        found: list[Reading | None] = [None] * len(pairs)
        order = sorted(range(len(pairs)), key=lambda i: -len(encodings[i].ids))
        for at in range(0, len(order), BATCH):
            rows = order[at : at + BATCH]
            batch = self._tokenizer.batch([pairs[i] for i in rows], [encodings[i] for i in rows])
            feed = {"input_ids": batch.ids, "attention_mask": batch.mask,
                    "token_type_ids": batch.types}
            with self._lock:
                result = self._request.infer({name: feed[name] for name in self._inputs})
                answer, start, end = (np.array(result[i]) for i in self._outputs)
            for j, i in enumerate(rows):
                found[i] = Reading(float(answer[j]),
                                   answer_span(batch.spans[j], start[j], end[j]))
        return [r for r in found if r is not None]

    def logits(self, pairs: Sequence[Pair]) -> list[float]:
        return [r.logit for r in self.read(pairs)]


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest, checked against the files beside it (format, presence, SHA-256 of the
    weights); IndexUnavailable in one line otherwise."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format {manifest.get('format')}, this program reads {FORMAT}")
        if manifest.get("inputs", {}).get("context_words") != CONTEXT_WORDS:
            raise ValueError("it was trained on another pairing of question and sentence")
        for name in (GRAPH, WEIGHTS, TOKENIZER):
            if hashlib.sha256((folder / name).read_bytes()).hexdigest() != \
                    manifest["files"][name]:
                raise ValueError(f"{name} is not the file the manifest describes")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise IndexUnavailable(
            f"the reader model in {folder} cannot be used ({err}): restore it with "
            f"`git checkout -- {folder}` or train one with `python -m bot train-reader`"
        ) from None
    return dict(manifest)
