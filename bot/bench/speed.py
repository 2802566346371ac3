"""Speed as ratios to baselines measured in the same run: warm latency against a bare torch
encode, start-up and memory against a bare import + load + encode in a fresh process, bursts
against one by one, index builds against bare batch encoding."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.answer import Answerer
from bot.config import Settings
from bot.embeddings import OV_CONFIG, Embedder, model_location, openvino_export
from bot.index import Index, build_index
from bot.ingest import load_documents
from bot.service import QAService
from bot.store import Store


def latency(answerer: Answerer, bare: Any, texts: Sequence[str],
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


def startup(settings: Settings, texts: Sequence[str], runs: int = 3) -> dict[str, Any]:
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


def burst(settings: Settings, answerer: Answerer, texts: Sequence[str],
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


def build(settings: Settings, embedder: Embedder, small: Index,
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
