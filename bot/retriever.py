"""Question → ranked passages: dense (FAISS) and lexical (BM25) candidates fused by
reciprocal rank, overlapping windows de-duplicated, every sentence of a hit scored.

A sentence's evidence score is its cosine similarity to the question plus
``LEXICAL_WEIGHT`` times its coverage of the question's terms (``bot.lexicon``): meaning
and wording, each able to carry a sentence the other misses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bot import lexical
from bot.embeddings import Embedder
from bot.index import Index
from bot.passages import Passage
from bot.text import normalize, terms

if TYPE_CHECKING:
    from numpy.typing import NDArray

RRF_K = 60  # the constant of Cormack et al. (2009); flattens the weight of top ranks
LEXICAL_WEIGHT = 1.0  # wording counts as much as meaning: a sentence holding every term gains 1


@dataclass(frozen=True)
class Hit:
    passage: Passage
    # Per sentence of the passage, in order: cosine similarity to the question, and the
    # share of the question's terms the sentence holds.
    similarity: tuple[float, ...]
    coverage: tuple[float, ...]

    @property
    def evidence(self) -> tuple[float, ...]:
        return tuple(s + LEXICAL_WEIGHT * c
                     for s, c in zip(self.similarity, self.coverage, strict=True))


class Retriever:
    def __init__(self, index: Index, embedder: Embedder, candidates: int = 20) -> None:
        self.index = index
        self.embedder = embedder
        self.candidates = candidates

    def encode(self, questions: list[str]) -> NDArray[np.float32]:
        return self.embedder.encode([normalize(q) for q in questions])

    def search(
        self, question: str, limit: int, vector: NDArray[np.float32] | None = None
    ) -> list[Hit]:
        """Up to ``limit`` non-overlapping hits, best first. ``vector`` is the question's
        embedding when the caller already has it (batched encoding)."""
        if vector is None:
            vector = self.encode([question])[0]
        n = min(max(self.candidates, limit * 3), len(self.index.passages))
        dense_ids = self._dense(vector, n)
        lexical_ids = self._lexical(normalize(question), n)
        candidates = list(dict.fromkeys(dense_ids + lexical_ids))
        asked = terms(question)
        scored = {pid: self._hit(pid, vector, asked) for pid in candidates}
        best = {pid: max(hit.evidence) for pid, hit in scored.items()}
        by_sentence = sorted(candidates, key=lambda pid: -best[pid])
        fused: dict[int, float] = {}
        for ranking in (dense_ids, lexical_ids, by_sentence):
            for rank, pid in enumerate(ranking, start=1):
                fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + rank)
        order = sorted(fused, key=lambda pid: (-fused[pid], -best[pid], pid))
        hits: list[Hit] = []
        for pid in order:
            if any(_overlaps(scored[pid].passage, h.passage) for h in hits):
                continue
            hits.append(scored[pid])
            if len(hits) == limit:
                break
        return hits

    def _hit(self, pid: int, vector: NDArray[np.float32], asked: frozenset[str]) -> Hit:
        passage = self.index.passages[pid]
        rows = list(self.index.sentence_rows[pid])
        similarity = tuple(float(s) for s in self.index.sentence_vectors[rows] @ vector)
        coverage = tuple(
            self.index.lexicon.coverage(asked, terms(passage.text[s - passage.start :
                                                                   e - passage.start]))
            for s, e in passage.sentences
        )
        return Hit(passage, similarity, coverage)

    def _dense(self, vector: NDArray[np.float32], n: int) -> list[int]:
        import faiss

        # One question is one scan: faiss gains little from a second OpenMP thread here,
        # and on a busy machine waits for it (2-3x slower). The setting is this thread's
        # (an OpenMP per-thread variable), restored after, so builds keep every core.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            _, ids = self.index.vectors.search(vector.reshape(1, -1).astype(np.float32), n)
        finally:
            faiss.omp_set_num_threads(threads)
        return [int(i) for i in ids[0] if i >= 0]

    def _lexical(self, question: str, n: int) -> list[int]:
        tokens = self.index.tokenizer.tokenize(
            [question], update_vocab=False, return_as="ids", show_progress=False
        )
        if not any(t for t in tokens[0]):
            return []
        ids, _ = lexical.top_k(self.index.bm25.scores, tokens[0], n)
        return [int(i) for i in ids]


def _overlaps(a: Passage, b: Passage) -> bool:
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end
