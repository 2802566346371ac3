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
the question's postings. When a question mixes rare and common words, MaxScore pruning
(as in Lucene) skips walking the common words' long postings altogether (``_max_score``)."""

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
        return _best(indices[s:e].astype(np.int64), data[s:e].copy(), k)
    pruned = _max_score(data, indices, spans, k)
    if pruned is not None:
        return _best(*pruned, k)
    return _best(*_accumulate(data, indices, spans, int(matrix["num_docs"])), k)


def _max_score(
    data: NDArray[np.float32], indices: NDArray[np.int32], spans: list[tuple[int, int]],
    k: int,
) -> tuple[NDArray[np.int64], NDArray[np.float32]] | None:
    """MaxScore (Turtle and Flood, 1995), as Lucene uses it: a passage holding none of the
    rarest terms scores at most the sum of the other terms' best scores; once the k-th
    best passage among those holding a rare term beats that sum, the common terms' long
    postings need not be walked, only looked up for those candidates (binary search:
    each term's postings are sorted by passage). Exact, ties included: every passage
    that can reach the k-th score is a candidate, and the candidates' scores are summed
    term by term in the question's order, as ``bm25s`` sums them. None when no split
    of the terms prunes."""
    lengths = [e - s for s, e in spans]
    total = sum(lengths)
    order = sorted(range(len(spans)), key=lambda i: lengths[i])
    best = [float(data[s:e].max()) for s, e in spans]  # contiguous: a fast scan
    walked = 0
    for m in range(1, len(spans)):
        walked += lengths[order[m - 1]]
        if walked * 2 > total:  # walking most postings anyway: no gain
            return None
        essential = [spans[i] for i in order[:m]]
        found = np.unique(np.concatenate([indices[s:e] for s, e in essential]))
        if len(found) < k:
            continue
        rest = sum(best[i] for i in order[m:])
        scores = np.zeros(len(found), np.float32)
        for s, e in spans:  # in the question's order, as bm25s adds them
            scores += _lookup(data, indices, s, e, found)
        kth = float(np.partition(scores, len(scores) - k)[len(scores) - k])
        # A passage outside ``found`` sums float32 values each at most ``best``; the margin
        # covers float32 rounding of that sum.
        if rest * (1 + 1e-5) < kth:
            return found.astype(np.int64), scores
    return None


def _lookup(data: NDArray[np.float32], indices: NDArray[np.int32], start: int, end: int,
            passages: NDArray[np.int32]) -> NDArray[np.float32]:
    """The term's score for each of ``passages`` (0 where it does not occur)."""
    column = indices[start:end]
    at = np.minimum(np.searchsorted(column, passages), len(column) - 1)
    held = column[at] == passages
    return np.where(held, data[start + at], np.float32(0))


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
