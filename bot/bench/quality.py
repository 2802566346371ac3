"""Answer quality: ours and the peer's (LangChain's splitter over the raw page, the same
model, FAISS, the top chunks pasted back), on the same question set."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from bot.config import Settings
from bot.evaluate import EvalQuestion, Ranked, Report, evaluate
from bot.ingest import load_documents


def quality(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data.pop("failures")
    data["misses"] = report.failures
    return data


def peer_report(settings: Settings, questions: Sequence[EvalQuestion],
          bare: Any) -> tuple[Report, list[float]]:
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    documents, _ = load_documents(settings.seeds_dir)
    chunks = [c for d in documents for c in splitter.split_text(d.text)]  # the raw page
    vectors = bare.encode(chunks, normalize_embeddings=True, convert_to_numpy=True)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.asarray(vectors, dtype=np.float32))
    latency: list[float] = []

    def system(texts: Sequence[str]) -> list[Ranked]:
        ranked = []
        for text in texts:
            started = time.perf_counter()
            q = bare.encode([text], normalize_embeddings=True, convert_to_numpy=True)
            _, ids = flat.search(np.asarray(q, dtype=np.float32), min(5, len(chunks)))
            latency.append((time.perf_counter() - started) * 1000)
            ranked.append(Ranked(True, tuple(chunks[i] for i in ids[0] if i >= 0)))
        return ranked

    return evaluate(questions, system), latency
