"""Token vectors → one vector per text (the model's pooling), and → one vector per
sentence of a passage (late chunking). numpy only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray


def pool(tokens: NDArray[np.float32], mask: NDArray[np.int64],
         modes: Sequence[str]) -> NDArray[np.float32]:
    """sentence-transformers' Pooling over a padded batch: ``tokens`` is (batch, length,
    dim), ``mask`` (batch, length) with 1 for real tokens; modes are concatenated."""
    weights = mask[..., None].astype(np.float32)
    parts = []
    for mode in modes:
        if mode == "cls":
            parts.append(tokens[np.arange(len(tokens)), mask.argmax(axis=1)])
        elif mode == "max":
            parts.append(np.where(weights > 0, tokens, -np.inf).max(axis=1))
        else:  # mean, mean_sqrt_len_tokens
            count = np.clip(weights.sum(axis=1), 1e-9, None)
            total = (tokens * weights).sum(axis=1)
            parts.append(total / (count if mode == "mean" else np.sqrt(count)))
    pooled: NDArray[np.float32] = np.concatenate(parts, axis=1).astype(np.float32)
    return pooled


def normalize_rows(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: NDArray[np.float32] = (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)
    return unit


def pool_spans(tokens: NDArray[np.float32], offsets: Sequence[tuple[int, int]],
               spans: Sequence[tuple[int, int]],
               fallback: NDArray[np.float32]) -> NDArray[np.float32]:
    """Late chunking: for each character span, the mean of the vectors of the tokens inside
    it (computed with the whole passage in view), normalised; ``fallback`` for a span with
    no token (cut off by the model's length limit). Special and padding tokens have empty
    offsets and never count."""
    rows = []
    for start, end in spans:
        inside = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
        vector = tokens[inside].mean(axis=0) if inside else fallback
        rows.append(vector / max(float(np.linalg.norm(vector)), 1e-12))
    return np.asarray(rows, dtype=np.float32).reshape(len(spans), -1)
