"""Question → candidate passages: dense (FAISS) and lexical (BM25) candidates merged, each
with what the answerability model needs to judge its sentences: every sentence's cosine
similarity to the question, raw and centred on its document, and the passage's BM25 score.

Centring: MiniLM's cosine is dominated by the topic (every sentence of an article about
TikTok scores 0.5–0.7 against any TikTok question), so a sentence's similarity is also
measured after subtracting its document's mean sentence vector from both sides, which keeps
what tells the document's sentences apart."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bot import lexical
from bot.embeddings import Embedder
from bot.index import Index
from bot.passages import Passage
from bot.text import normalize

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True)
class Hit:
    passage: Passage
    # Per sentence of the passage, in order: cosine similarity to the question, and the
    # same after centring both on the document's mean sentence vector.
    similarity: tuple[float, ...]
    centred: tuple[float, ...]
    lexical: float  # the passage's BM25 score; 0 when no question term is in it

    @property  # not cached_property: its lock (Python 3.11) costs more than the slicing
    def sentences(self) -> tuple[str, ...]:
        p = self.passage
        return tuple(p.text[s - p.start : e - p.start] for s, e in p.sentences)


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
        """The candidates for at least ``limit`` answers, unordered: the union of the
        ``max(candidates, 3 * limit)`` nearest passages and the as many best by BM25.
        ``vector`` is the question's embedding when the caller already has it."""
        if vector is None:
            vector = self.encode([question])[0]
        n = min(max(self.candidates, limit * 3), len(self.index.passages))
        dense = self._dense(vector, n)
        lexical = self._lexical(normalize(question), n)
        return self.hits(list(dict.fromkeys([*dense, *lexical])), vector, lexical)

    def hit(self, pid: int, vector: NDArray[np.float32], lexical: float = 0.0) -> Hit:
        """Passage ``pid`` as a candidate for the question whose embedding is ``vector``."""
        return self.hits([pid], vector, {pid: lexical})[0]

    def hits(self, pids: Sequence[int], vector: NDArray[np.float32],
             lexical: Mapping[int, float]) -> list[Hit]:
        """Passages ``pids`` as candidates, their sentences' similarities computed together:
        one gather and one product for all of them. The centred cosine of sentence ``s``
        and question ``q`` around their document's mean ``m`` is
        ``(s·q − s·m − m·q + m·m) / (|s − m| |q − m|)``, so only ``s·q`` and one ``m·q``
        per document are computed per question; ``s·m`` and ``|s − m|`` are the index's."""
        index = self.index
        counts = [len(index.sentence_rows[p]) for p in pids]
        rows = np.fromiter(itertools.chain.from_iterable(index.sentence_rows[p] for p in pids),
                           dtype=np.int64, count=sum(counts))
        similarity = index.sentence_vectors[rows] @ vector
        docs = {index.passages[p].doc_id for p in pids}
        around: dict[str, tuple[float, float, float]] = {}
        for doc in docs:
            centre = index.centroid(doc)
            towards = float(centre @ vector)
            spread = float(centre @ centre)
            around[doc] = (towards, spread, max(1.0 - 2.0 * towards + spread, 1e-12) ** 0.5)
        dots, norms = index.centring
        per_row = np.array([around[index.passages[p].doc_id] for p, c in zip(pids, counts,
                                                                             strict=True)
                            for _ in range(c)], dtype=np.float64).reshape(-1, 3)
        centred = ((similarity - dots[rows] - per_row[:, 0] + per_row[:, 1])
                   / np.maximum(norms[rows] * per_row[:, 2], 1e-12))
        found, at = [], 0
        for pid, count in zip(pids, counts, strict=True):
            found.append(Hit(index.passages[pid],
                             tuple(similarity[at : at + count].tolist()),
                             tuple(centred[at : at + count].tolist()),
                             lexical.get(pid, 0.0)))
            at += count
        return found

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

    def _lexical(self, question: str, n: int) -> dict[int, float]:
        tokens = self.index.tokenizer.tokenize(
            [question], update_vocab=False, return_as="ids", show_progress=False
        )
        if not any(t for t in tokens[0]):
            return {}
        ids, scores = lexical.top_k(self.index.bm25.scores, tokens[0], n)
        return {int(i): float(s) for i, s in zip(ids, scores, strict=True)}


def overlaps(a: Passage, b: Passage) -> bool:
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end
