"""`python -m bot.bench.ann [N]`: which approximate FAISS index answers a question fastest at
N clustered vectors (1,000,000 by default) for recall@10 >= 0.95 against exact search.

Measures exact search, the product's IVF (``bot.index.vector_index``) at several probe
counts, and HNSW at several search depths: recall@10 over the benchmark's probe queries, and
milliseconds per single query (one question at a time, as the bot asks). Not part of
``make bench``: HNSW takes minutes to build at 1M. Prints a Markdown table."""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from bot.bench.scale import clustered_vectors, exact_neighbours, overlap, probes
from bot.index import vector_index

TARGET = 0.95


def per_query_ms(index: Any, queries: Any, k: int = 10) -> tuple[float, Any]:
    """Median milliseconds of single-query searches, one OpenMP thread as the retriever
    searches, and the neighbours found."""
    import faiss

    index.search(queries[:5], k)
    times, found = [], []
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        for q in queries:
            started = time.perf_counter()
            _, ids = index.search(q.reshape(1, -1), k)
            times.append((time.perf_counter() - started) * 1000)
            found.append(ids[0])
    finally:
        faiss.omp_set_num_threads(threads)
    return float(np.median(times)), np.array(found)


def compare(n: int, questions: Any, log: Any = print) -> list[dict[str, Any]]:
    import faiss

    rng = np.random.default_rng(3)
    vectors = clustered_vectors(n, questions, rng)
    queries = probes(vectors, questions, rng)
    exact = exact_neighbours(vectors, queries)
    rows: list[dict[str, Any]] = []

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    ms, _ = per_query_ms(flat, queries[:50])
    rows.append({"index": "IndexFlatIP", "param": "", "build_s": 0.0, "ms": ms, "recall": 1.0})
    log(rows[-1])
    del flat

    started = time.perf_counter()
    ivf = vector_index(vectors, approx_above=0)
    built = time.perf_counter() - started
    for nprobe in (8, 16, 24, 32, 48, 64):
        ivf.nprobe = nprobe
        ms, found = per_query_ms(ivf, queries)
        rows.append({"index": f"IndexIVFFlat, {ivf.nlist} lists", "param": f"nprobe={nprobe}",
                     "build_s": built, "ms": ms, "recall": overlap(exact, found)})
        log(rows[-1])
    del ivf

    for m, construction in ((16, 40),):
        started = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = construction
        hnsw.add(vectors)
        built = time.perf_counter() - started
        for ef in (64, 128, 256, 512, 1024):
            hnsw.hnsw.efSearch = ef
            ms, found = per_query_ms(hnsw, queries)
            rows.append({"index": f"IndexHNSWFlat, M={m}, efConstruction={construction}",
                         "param": f"efSearch={ef}", "build_s": built, "ms": ms,
                         "recall": overlap(exact, found)})
            log(rows[-1])
        del hnsw
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| index | search setting | build | ms per question | recall@10 |",
             "|---|---|---|---|---|"]
    for r in rows:
        mark = " ✓" if r["recall"] >= TARGET else ""
        lines.append(f"| {r['index']} | {r['param']} | {r['build_s']:.0f} s | {r['ms']:.3f} "
                     f"| {r['recall']:.3f}{mark} |")
    return "\n".join(lines)


def main() -> None:
    import json

    from bot.config import PROJECT_ROOT, Settings
    from bot.embeddings import Embedder

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    settings = Settings()
    texts = [json.loads(line)["q"] for line in
             (PROJECT_ROOT.parent / "shared/eval/dev.jsonl").read_text().splitlines() if line]
    questions = Embedder(settings.model, settings.backend, settings.model_cache).encode(texts)
    rows = compare(n, questions, log=lambda row: print(row, file=sys.stderr, flush=True))
    print(f"{n:,} clustered vectors, {len(rows)} settings\n")
    print(table(rows))
    fastest = min((r for r in rows if r["recall"] >= TARGET), key=lambda r: r["ms"])
    print(f"\nfastest at recall@10 >= {TARGET}: {fastest['index']} {fastest['param']} "
          f"({fastest['ms']:.3f} ms)")


if __name__ == "__main__":
    main()
