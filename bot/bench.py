"""`python -m bot bench`: answer quality beside a typical peer setup, and speed as ratios to
baselines measured in the same run (so a noisy, shared machine moves both sides alike).

Baselines: "bare" is sentence-transformers alone on the same model: a torch ``encode`` of
the same question for latency; import + load + one encode (same backend as the bot) for
start-up and memory; batch encoding of the same passages for index building. The peer is
what one builds in an afternoon: LangChain's RecursiveCharacterTextSplitter (1000/200) over
the raw page, the same model, FAISS, the top chunks pasted back."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bot.answer import Answerer
from bot.config import Settings
from bot.embeddings import OV_CONFIG, Embedder, model_location, openvino_export
from bot.evaluate import EvalQuestion, Ranked, Report, answerer_system, evaluate
from bot.index import Index, Manifest, assemble, build_index
from bot.ingest import load_documents
from bot.passages import Passage
from bot.retriever import Retriever
from bot.service import QAService, open_answerer
from bot.store import Store

Log = Callable[[str], None]


def run(settings: Settings, questions: Sequence[EvalQuestion], out_dir: Path,
        sizes: Sequence[int], log: Log) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    answerer, _ = open_answerer(settings)
    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(model_location(settings.model), device="cpu", backend="torch")
    texts = [q.q for q in questions]
    results: dict[str, Any] = {"machine": _machine(), "backend": settings.backend,
                               "questions": len(questions)}

    log("quality: ours and the peer")
    ours = evaluate(questions, answerer_system(answerer))
    peer, peer_latency = _peer(settings, questions, bare)
    results.update(_quality(ours))
    results["peer"] = _quality(peer)

    log("warm latency: ours against a bare torch encode of the same question")
    ours_ms, bare_ms = _latency(answerer, bare, texts)
    results.update(latency_p50_ms=_pct(ours_ms, 50), latency_p95_ms=_pct(ours_ms, 95),
                   bare_encode_p50_ms=_pct(bare_ms, 50), bare_encode_p95_ms=_pct(bare_ms, 95))
    results["latency_ratio"] = results["latency_p50_ms"] / results["bare_encode_p50_ms"]
    results["latency_p95_ratio"] = results["latency_p95_ms"] / results["bare_encode_p95_ms"]

    log("start-up and memory: fresh processes, ours against bare")
    results.update(_startup(settings, texts))

    log("burst: 64 questions at once through the bot's path, against one by one")
    results.update(_burst(settings, answerer, texts))

    log("index build: 2,000 generated passages, against bare batch encoding")
    results.update(_build(settings, answerer.retriever.embedder, answerer.index))

    log(f"scale: retrieval latency at {', '.join(f'{n:,}' for n in sizes)} passages")
    results["scale"] = _scale(answerer, texts, sizes, log)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    _chart(results, ours_ms, bare_ms, peer_latency, out_dir / "latest.png")
    return results


# --- quality ---------------------------------------------------------------------------------

def _quality(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data.pop("failures")
    data["misses"] = report.failures
    return data


def _peer(settings: Settings, questions: Sequence[EvalQuestion],
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


# --- speed -----------------------------------------------------------------------------------

def _latency(answerer: Answerer, bare: Any, texts: Sequence[str],
             rounds: int = 6) -> tuple[list[float], list[float]]:
    """Alternating blocks (one pass over the questions each), so drift in machine load hits
    both sides alike; each block starts with untimed calls, so neither side pays for the
    other's thread pools winding down (torch's OpenMP threads spin after each call)."""
    ours: list[float] = []
    base: list[float] = []
    for _ in range(rounds):
        for run, sink in ((lambda t: answerer.ask(t), ours),
                          (lambda t: bare.encode([t], normalize_embeddings=True), base)):
            for text in texts[:3]:
                run(text)
            for text in texts:
                started = time.perf_counter()
                run(text)
                sink.append((time.perf_counter() - started) * 1000)
    return ours, base


_PEAK_MB = """
import resource


def peak_mb():
    # VmHWM: this process's own peak. ru_maxrss would include the benchmark's RSS at the
    # fork that started us (Linux keeps it across execve).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_OURS_CHILD = _PEAK_MB + """
import json, sys, time
from bot.config import Settings
from bot.service import open_answerer
answerer, _ = open_answerer(Settings())
answerer.ask(sys.argv[1])
first = time.time()
for question in json.loads(sys.argv[2]):
    answerer.ask(question)
print(json.dumps({"t": first, "rss_mb": peak_mb()}))
"""

_BARE_CHILD = _PEAK_MB + """
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
from sentence_transformers import SentenceTransformer
kwargs = json.loads(sys.argv[3])
model = SentenceTransformer(sys.argv[2], device="cpu", **kwargs)
model.encode([sys.argv[1]], normalize_embeddings=True)
first = time.time()
print(json.dumps({"t": first, "rss_mb": peak_mb()}))
"""


def _child(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    started = time.time()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True, env={**os.environ, **(env or {})}, timeout=600)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = result["t"] - started
    return result


def _startup(settings: Settings, texts: Sequence[str], runs: int = 3) -> dict[str, Any]:
    location = model_location(settings.model)
    if settings.backend == "openvino":
        bare_path = str(openvino_export(location, settings.model_cache))
        bare_kwargs = {"backend": "openvino", "model_kwargs": {"ov_config": OV_CONFIG}}
    else:
        bare_path, bare_kwargs = location, {"backend": "torch"}
    ours, bare, torch_bare = [], [], []
    for _ in range(runs):
        ours.append(_child(_OURS_CHILD, texts[0], json.dumps(list(texts))))
        bare.append(_child(_BARE_CHILD, texts[0], bare_path, json.dumps(bare_kwargs)))
        torch_bare.append(_child(_BARE_CHILD, texts[0], location,
                                 json.dumps({"backend": "torch"})))

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    return {
        "start_s": med(ours, "seconds"), "bare_start_s": med(bare, "seconds"),
        "start_ratio": med(ours, "seconds") / med(bare, "seconds"),
        "bare_torch_start_s": med(torch_bare, "seconds"),
        "rss_mb": med(ours, "rss_mb"), "bare_rss_mb": med(bare, "rss_mb"),
        "rss_ratio": med(ours, "rss_mb") / med(bare, "rss_mb"),
        "bare_torch_rss_mb": med(torch_bare, "rss_mb"),
    }


def _burst(settings: Settings, answerer: Answerer, texts: Sequence[str],
           n: int = 64) -> dict[str, Any]:
    questions = [texts[i % len(texts)] for i in range(n)]

    async def measure() -> tuple[float, float, list[int]]:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(Path(tmp))
            service = QAService(settings, answerer, store)
            try:
                await service.ask_async(questions[0])  # warm
                started = time.perf_counter()
                for question in questions:
                    await service.ask_async(question)
                one_by_one = time.perf_counter() - started
                service.batcher.batches.clear()
                started = time.perf_counter()
                await asyncio.gather(*(service.ask_async(q) for q in questions))
                together = time.perf_counter() - started
                return one_by_one, together, list(service.batcher.batches)
            finally:
                await service.batcher.close()
                store.close()

    one_by_one, together, batches = asyncio.run(measure())
    return {"burst_one_by_one_qps": n / one_by_one, "burst_qps": n / together,
            "burst_speedup": one_by_one / together, "burst_batches": batches}


def _build(settings: Settings, embedder: Embedder, small: Index,
           n: int = 2000) -> dict[str, Any]:
    """Build an index of ``n`` generated passages (article sentences recombined) and time
    it against encoding the same passages in batches with the bare model."""
    rng = np.random.default_rng(7)
    sentences = [small.passages[i].text[s - small.passages[i].start: e - small.passages[i].start]
                 for i in range(len(small.passages)) for s, e in small.passages[i].sentences]
    paragraphs = [" ".join(rng.choice(sentences, size=3)) for _ in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        (seeds / "generated.txt").write_text("Generated\n\n" + "\n\n".join(paragraphs) + "\n")
        documents, _ = load_documents(seeds)
        # One untimed pass first: OpenVINO prepares each new input shape once, and
        # whichever side ran first would pay for it.
        embedder.model.encode(paragraphs, batch_size=32)
        started = time.perf_counter()
        built = build_index(documents, Path(tmp) / "index", embedder)
        ours = time.perf_counter() - started
        texts = [p.text for p in built.passages]
        started = time.perf_counter()
        embedder.model.encode(texts, batch_size=32, normalize_embeddings=True)
        bare = time.perf_counter() - started
    count = len(built.passages)
    return {"build_passages": count, "build_s_per_1k": ours / count * 1000,
            "bare_encode_s_per_1k": bare / count * 1000, "build_ratio": bare / ours,
            "build_sentences": built.manifest.sentences}


def _scale(answerer: Answerer, texts: Sequence[str], sizes: Sequence[int],
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


# --- report ----------------------------------------------------------------------------------

def table(r: dict[str, Any]) -> str:
    p = r["peer"]
    rows = [
        ("Hit@1", f"{r['hit_at_1']:.2f}", f"{p['hit_at_1']:.2f}"),
        ("Hit@3", f"{r['hit_at_3']:.2f}", f"{p['hit_at_3']:.2f}"),
        ("MRR@5", f"{r['mrr_at_5']:.2f}", f"{p['mrr_at_5']:.2f}"),
        ("abstention accuracy", f"{r['abstain_acc']:.2f}", f"{p['abstain_acc']:.2f}"),
        ("end-to-end accuracy", f"{r['e2e_acc']:.2f}", f"{p['e2e_acc']:.2f}"),
        ("median top excerpt (chars)", f"{r['median_excerpt_chars']:.0f}",
         f"{p['median_excerpt_chars']:.0f}"),
        ("boilerplate ever returned", str(r["boilerplate_returned"]).lower(),
         str(p["boilerplate_returned"]).lower()),
    ]
    speed = [
        ("warm latency p50 / p95", f"{r['latency_p50_ms']:.1f} / {r['latency_p95_ms']:.1f} ms",
         f"bare torch encode {r['bare_encode_p50_ms']:.1f} / {r['bare_encode_p95_ms']:.1f} ms",
         f"{r['latency_ratio']:.2f}x"),
        ("start to first answer", f"{r['start_s']:.2f} s",
         f"bare import+load+encode {r['bare_start_s']:.2f} s", f"{r['start_ratio']:.2f}x"),
        ("peak RSS", f"{r['rss_mb']:.0f} MB", f"bare model loaded {r['bare_rss_mb']:.0f} MB",
         f"{r['rss_ratio']:.2f}x"),
        ("burst of 64", f"{r['burst_qps']:.0f} q/s",
         f"one by one {r['burst_one_by_one_qps']:.0f} q/s", f"{r['burst_speedup']:.2f}x"),
        ("index build per 1k passages", f"{r['build_s_per_1k']:.1f} s",
         f"bare batch encode {r['bare_encode_s_per_1k']:.1f} s",
         f"{r['build_ratio']:.2f}x throughput"),
    ]
    lines = ["| quality | this bot | peer (chunk 1000) |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", "| speed | this bot | baseline, same run | ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in speed]
    lines += ["", "| passages | retrieval ms | per question (encode + retrieval) | index "
              "| recall@10 vs exact |", "|---|---|---|---|---|"]
    for row in r["scale"]:
        recall = f"{row['recall_at_10']:.3f}" if "recall_at_10" in row else "exact"
        lines.append(f"| {row['passages']:,} | {row['search_ms']:.2f} ({row['ratio']:.1f}x) | "
                     f"{row['question_ms']:.2f} ms ({row['question_ratio']:.2f}x) | "
                     f"{row.get('faiss_index', 'IndexFlatIP')} | {recall} |")
    return "\n".join(lines)


def _chart(r: dict[str, Any], ours: list[float], bare: list[float], peer: list[float],
           path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.boxplot([ours, bare, peer], showfliers=False)
    left.set_xticks([1, 2, 3], ["this bot\n(answer)", "bare torch\n(encode)", "peer\n(search)"])
    left.set_ylabel("ms per question (warm)")
    left.set_title("Latency")
    keys = ["hit_at_1", "hit_at_3", "abstain_acc", "e2e_acc"]
    x = np.arange(len(keys))
    right.bar(x - 0.2, [r[k] for k in keys], 0.4, label="this bot")
    right.bar(x + 0.2, [r["peer"][k] for k in keys], 0.4, label="peer (chunk 1000)")
    right.set_xticks(x, ["Hit@1", "Hit@3", "abstain", "end-to-end"])
    right.set_ylim(0, 1.05)
    right.set_title("Quality")
    right.legend(loc="lower left")
    fig.suptitle(f"{r['machine']}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _pct(values: list[float], q: int) -> float:
    return float(np.percentile(values, q))


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
