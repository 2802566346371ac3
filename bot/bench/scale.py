"""Retrieval cost as the corpus grows: synthetic corpora of clustered vectors and generated
texts, fed through the same index and BM25 code, and recall of approximate search."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bot.answer import Answerer
from bot.index import Index, Manifest, assemble
from bot.passages import Passage
from bot.retriever import Retriever

Log = Callable[[str], None]


def scale(answerer: Answerer, texts: Sequence[str], sizes: Sequence[int],
           log: Log) -> list[dict[str, Any]]:
    """Retrieval (everything but the question's encode) over synthetic corpora of clustered
    vectors and generated texts, fed through the same index and BM25 code."""
    vectors = answerer.retriever.encode(list(texts))
    started = time.perf_counter()
    for text in texts:
        answerer.retriever.encode([text])
    encode_ms = (time.perf_counter() - started) / len(texts) * 1000
    small = _search_ms(answerer.retriever, texts, vectors)
    rows: list[dict[str, Any]] = [
        {"passages": len(answerer.index.passages), "search_ms": small, "ratio": 1.0,
         "question_ms": encode_ms + small, "question_ratio": 1.0}]
    rng = np.random.default_rng(3)
    words = sorted({w.lower() for t in texts for w in t.split()} | {
        f"word{i}" for i in range(5000)})
    for n in sizes:
        started = time.perf_counter()
        index = _synthetic(n, vectors, words, rng)
        built = time.perf_counter() - started
        retriever = Retriever(index, answerer.retriever.embedder)
        ms = _search_ms(retriever, texts, vectors)
        row = {"passages": n, "search_ms": ms, "ratio": ms / small,
               "question_ms": encode_ms + ms, "question_ratio": (encode_ms + ms) / (
                   encode_ms + small),
               "faiss_index": type(index.vectors).__name__, "build_s": built}
        if row["faiss_index"] != "IndexFlatIP":
            row["recall_at_10"] = _recall(index, vectors, rng)
        log(f"  {n:>9,}: {ms:.2f} ms per question ({row['faiss_index']})")
        rows.append(row)
        del index, retriever
    return rows


def _synthetic(n: int, questions: Any, words: list[str], rng: Any) -> Index:
    """Clustered unit vectors (1,000 topics, and the questions' own directions) with short
    generated texts; one sentence per passage."""
    dim = questions.shape[1]
    centres = rng.normal(size=(1000, dim)).astype(np.float32)
    centres[: len(questions)] = questions * np.linalg.norm(centres[0])
    vectors = centres[rng.integers(0, len(centres), n)]
    vectors += rng.normal(scale=0.6, size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vocab = np.array(words)
    texts = [" ".join(vocab[rng.integers(0, len(vocab), 12)]) for _ in range(n)]
    passages = [Passage(f"syn:{i}", "syn", 1, 0, len(t), t, ((0, len(t)),), i)
                for i, t in enumerate(texts)]
    manifest = Manifest(0, "synthetic", dim, {}, (), n, n, "", "")
    rows: list[tuple[int, ...]] = [(i,) for i in range(n)]
    return assemble(manifest, passages, rows, vectors, vectors)


def _search_ms(retriever: Retriever, texts: Sequence[str], vectors: Any,
               rounds: int = 3) -> float:
    for text, vector in zip(texts, vectors, strict=True):
        retriever.search(text, 3, vector)
    times = []
    for _ in range(rounds):
        for text, vector in zip(texts, vectors, strict=True):
            started = time.perf_counter()
            retriever.search(text, 3, vector)
            times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def _recall(index: Index, questions: Any, rng: Any, k: int = 10) -> float:
    import faiss

    n = index.vectors.ntotal
    stored = index.vectors.reconstruct_n(0, n) if hasattr(index.vectors, "reconstruct_n") \
        else None
    if stored is None:
        return float("nan")
    flat = faiss.IndexFlatIP(stored.shape[1])
    flat.add(stored)
    probes = stored[rng.integers(0, n, 200)] + rng.normal(scale=0.3, size=(200, stored.shape[1]))
    probes = np.vstack([questions, probes]).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    _, exact = flat.search(probes, k)
    _, approx = index.vectors.search(probes, k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact, approx, strict=True)]))
