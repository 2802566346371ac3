"""A realistic corpus through the real build: WordNet's glosses written out as documents
(``bot.bench.corpus``) beside the article, indexed in a fresh process by the product's own
``open_answerer(rebuild=True)``, with its throughput and peak memory; then the question set
answered over that index and compared, question by question, with the article alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.answer import Answer, Answerer
from bot.bench import corpus
from bot.bench.quality import quality
from bot.config import Settings
from bot.evaluate import EvalQuestion, answerer_system, evaluate
from bot.index import load_index
from bot.retriever import Retriever

Log = Callable[[str], None]

# Runs in a fresh process, so its peak memory is the build's alone. VmHWM, not ru_maxrss,
# which would include the benchmark's memory at the fork (see bench/speed.py).
_BUILD_CHILD = """
import json, time
from bot.config import Settings
from bot.embeddings import Embedder
from bot.index import build_index
from bot.ingest import load_documents


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


settings = Settings()
embedder = Embedder(settings.model, settings.backend, settings.model_cache)
embedder.encode(["warm up"])
loaded_mb = status("VmRSS")
started = time.perf_counter()
documents, _ = load_documents(settings.seeds_dir)
index = build_index(documents, settings.index_dir, embedder)
print(json.dumps({"seconds": time.perf_counter() - started, "loaded_mb": loaded_mb,
                  "peak_mb": status("VmHWM"), "passages": index.manifest.passages,
                  "sentences": index.manifest.sentences,
                  "documents": len(index.manifest.documents)}))
"""


def realistic(settings: Settings, answerer: Answerer, questions: Sequence[EvalQuestion],
              log: Log, every: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-wordnet-") as tmp:
        seeds, index_dir = Path(tmp) / "seeds", Path(tmp) / "index"
        started = time.perf_counter()
        paragraphs = corpus.write_documents(seeds, every=every)
        written = time.perf_counter() - started
        text_mb = sum(p.stat().st_size for p in seeds.iterdir()) / 1e6
        for path in settings.seeds_dir.iterdir():
            if path.is_file():
                shutil.copy(path, seeds / path.name)
        index_dir.mkdir()
        if settings.model_cache.is_dir():  # the OpenVINO export, made once already
            (index_dir / "models").symlink_to(settings.model_cache.resolve())
        log(f"  wrote {paragraphs:,} WordNet paragraphs ({text_mb:.1f} MB) in {written:.1f} s;"
            " building in a fresh process")
        env = {**os.environ, "BOT_SEEDS_DIR": str(seeds), "BOT_INDEX_DIR": str(index_dir)}
        done = subprocess.run([sys.executable, "-c", _BUILD_CHILD], capture_output=True,
                              text=True, check=True, env=env, timeout=3600)
        build = json.loads(done.stdout.strip().splitlines()[-1])
        disk_mb = sum(p.stat().st_size for p in index_dir.rglob("*")
                      if p.is_file() and "models" not in p.parts) / 1e6
        log(f"  built {build['passages']:,} passages in {build['seconds']:.0f} s, "
            f"peak {build['peak_mb']:.0f} MB (model loaded: {build['loaded_mb']:.0f} MB)")
        big = replace(answerer, retriever=Retriever(load_index(index_dir),
                                                    answerer.retriever.embedder))
        comparison = compare(answerer, big, questions)
        report = quality(evaluate(questions, answerer_system(big)))
    return {
        "documents": build["documents"], "passages": build["passages"],
        "sentences": build["sentences"], "text_mb": text_mb, "index_mb": disk_mb,
        "build_s": build["seconds"],
        "passages_per_s": build["passages"] / build["seconds"],
        "text_mb_per_s": text_mb / build["seconds"],
        "peak_mb": build["peak_mb"], "model_loaded_mb": build["loaded_mb"],
        "quality": report, **comparison,
    }


def compare(alone: Answerer, among: Answerer,
            questions: Sequence[EvalQuestion]) -> dict[str, Any]:
    """Questions whose quoted excerpts changed when the article is among other documents;
    for unanswerable ones, what was quoted instead of abstaining, to be judged."""
    changed: list[dict[str, Any]] = []
    answered_elsewhere: list[dict[str, Any]] = []
    tentative_elsewhere: list[dict[str, Any]] = []
    for q in questions:
        a, b = alone.ask(q.q), among.ask(q.q)
        if _quoted(a) != _quoted(b) or a.status != b.status:
            changed.append({"q": q.q, "alone": _quoted(a), "among": _quoted(b),
                            "status_alone": a.status.value, "status_among": b.status.value})
        if not q.answerable and b.excerpts:
            quoted = {"q": q.q, "excerpts": [
                {"doc": e.doc, "title": e.title, "text": e.text} for e in b.excerpts]}
            (answered_elsewhere if b.answered else tentative_elsewhere).append(quoted)
    return {"same_excerpts": len(questions) - len(changed), "questions": len(questions),
            "changed": changed, "unanswerable_answered": answered_elsewhere,
            "unanswerable_tentative": tentative_elsewhere}


def _quoted(answer: Answer) -> list[str]:
    return [f"{e.doc}@{e.start}-{e.end}" for e in answer.excerpts]
