"""BM25 top-k from the postings of the question's terms: work proportional to the passages
that hold a term of the question, not to the corpus.

``bm25s`` keeps its index as a term-major sparse matrix of precomputed BM25 scores: for
term ``t``, ``indices[indptr[t]:indptr[t + 1]]`` are the passages holding it and ``data``
their scores. Its ``retrieve`` adds a question's columns into a dense array of one score
per passage, then selects the top k with ``argpartition`` over all of them: at 100,000
passages, nearly all zeros, that selection is most of a question's lexical cost. Here
the same columns are added, in the same order and in the same float32 arithmetic, into a
reusable per-thread buffer, and only the passages touched are read back, ranked and the
buffer cleared: the scores are bit for bit ``retrieve``'s, and the cost is the length of
the question's postings (the inverted-index top-k of Lucene and Tantivy, without their
block-max pruning, which pays only for postings far longer than a question meets here)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

_local = threading.local()


def top_k(
    matrix: Mapping[str, Any], term_ids: Sequence[int], k: int
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The ``k`` best passages for a question's term ids (repeats count again, as in
    ``bm25s``; ids outside the vocabulary are ignored), best first, ties by passage id.
    ``matrix`` is ``bm25s.BM25().scores``. Only passages holding a term are returned, so
    there may be fewer than ``k``."""
    data: NDArray[np.float32] = matrix["data"]
    indices: NDArray[np.int32] = matrix["indices"]
    indptr: NDArray[np.int64] = matrix["indptr"]
    columns = len(indptr) - 1
    spans = [(int(indptr[t]), int(indptr[t + 1])) for t in term_ids if 0 <= t < columns]
    spans = [(s, e) for s, e in spans if e > s]
    if not spans or k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if len(spans) == 1:  # one term: its postings are the scores, no accumulation needed
        s, e = spans[0]
        found, scores = indices[s:e].astype(np.int64), data[s:e].copy()
    else:
        found, scores = _accumulate(data, indices, spans, int(matrix["num_docs"]))
    return _best(found, scores, k)


def _accumulate(
    data: NDArray[np.float32], indices: NDArray[np.int32], spans: list[tuple[int, int]],
    passages: int,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Sum the columns term by term into this thread's buffer (a term's postings hold each
    passage once, so a fancy-indexed ``+=`` is exact), then read back and clear only the
    passages touched."""
    scores, seen = _buffers(passages)
    found_parts = []
    try:
        for s, e in spans:
            docs = indices[s:e]
            new = docs[~seen[docs]]
            seen[new] = True
            found_parts.append(new)
            scores[docs] += data[s:e]
        found = np.concatenate(found_parts)
        return found.astype(np.int64), scores[found]
    finally:
        for part in found_parts:
            scores[part] = 0.0
            seen[part] = False


def _buffers(passages: int) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """A zeroed score per passage and a 'touched' flag, kept per thread (questions are
    answered from worker threads) and grown when a bigger index is searched."""
    scores: NDArray[np.float32] | None = getattr(_local, "scores", None)
    seen: NDArray[np.bool_] | None = getattr(_local, "seen", None)
    if scores is None or seen is None or len(scores) < passages:
        scores = np.zeros(passages, np.float32)
        seen = np.zeros(passages, np.bool_)
        _local.scores, _local.seen = scores, seen
    return scores, seen


def _best(
    found: NDArray[np.int64], scores: NDArray[np.float32], k: int
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The top ``k`` by score, then by passage id: among passages tied at the k-th score,
    the lowest ids are kept, so the result does not depend on the order of the postings."""
    if len(found) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        above = np.flatnonzero(scores > kth)
        tied = np.flatnonzero(scores == kth)
        tied = tied[np.argsort(found[tied], kind="stable")[: k - len(above)]]
        keep = np.concatenate([above, tied])
        found, scores = found[keep], scores[keep]
    order = np.lexsort((found, -scores))
    return found[order], scores[order]
