"""sentence-transformers on torch: the model exactly as its library runs it. Used to make
the export, as the fallback when the OpenVINO runtime cannot run, and as the reference the
runtime is tested against. Importing it costs seconds (torch, transformers)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.encoding.pooling import pool_spans
from bot.errors import IndexUnavailable

if TYPE_CHECKING:
    from numpy.typing import NDArray


class TorchEncoder:
    label = "sentence-transformers-torch"

    def __init__(self, location: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer

        try:
            self.model: Any = SentenceTransformer(location, device="cpu", backend="torch")
        except (OSError, ValueError) as err:
            raise IndexUnavailable(f"could not load the model at {location}: {err}") from None

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def vectors(self, texts: Sequence[str], batch_size: int) -> NDArray[np.float32]:
        vectors = self.model.encode(list(texts), batch_size=batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def passages(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                 batch_size: int) -> tuple[NDArray[np.float32], list[NDArray[np.float32]]]:
        outputs = self.model.encode(list(texts), batch_size=batch_size, output_value=None,
                                    convert_to_numpy=False, show_progress_bar=False)
        offsets = self.model.tokenizer(list(texts), return_offsets_mapping=True,
                                       truncation=True, max_length=self.model.max_seq_length
                                       )["offset_mapping"]
        passages, sentences = [], []
        for output, offs, text_spans in zip(outputs, offsets, spans, strict=True):
            passage = _numpy(output["sentence_embedding"])
            passage /= max(float(np.linalg.norm(passage)), 1e-12)
            passages.append(passage)
            tokens = _numpy(output["token_embeddings"])[: len(offs)]
            sentences.append(pool_spans(tokens, offs, text_spans, passage))
        return np.asarray(passages, dtype=np.float32).reshape(len(texts), -1), sentences


def _numpy(value: Any) -> NDArray[np.float32]:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.array(value, dtype=np.float32)
