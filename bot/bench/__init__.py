"""`python -m bot bench`: answer quality beside a typical peer setup, and speed as ratios to
baselines measured in the same run (so a noisy, shared machine moves both sides alike).

Baselines: "bare" is sentence-transformers alone on the same model: a torch ``encode`` of
the same question for latency; ``import sentence_transformers`` in a fresh process for cold
starts, and its torch model loaded for memory; its batch encoding of the same passages
with the same export for index building. The peer is
what one builds in an afternoon: LangChain's RecursiveCharacterTextSplitter (1000/200) over
the raw page, the same model, FAISS, the top chunks pasted back."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.bench.quality import answerability, peer_report, quality
from bot.bench.realistic import realistic
from bot.bench.report import chart, machine, pct, table
from bot.bench.scale import scale
from bot.bench.speed import build, burst, latency, startup
from bot.config import Settings
from bot.encoding import model_location
from bot.evaluate import EvalQuestion, answerer_system, evaluate
from bot.service import open_answerer

__all__ = ["run", "table"]

Log = Callable[[str], None]


def run(settings: Settings, questions: Sequence[EvalQuestion], out_dir: Path,
        sizes: Sequence[int], log: Log) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    answerer, _ = open_answerer(settings)
    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(model_location(settings.model), device="cpu", backend="torch")
    texts = [q.q for q in questions]
    results: dict[str, Any] = {"machine": machine(), "backend": settings.backend,
                               "encoder": answerer.retriever.embedder.label,
                               "questions": len(questions)}

    log("quality: ours and the peer")
    ours = evaluate(questions, answerer_system(answerer))
    theirs, peer_latency = peer_report(settings, questions, bare)
    results.update(quality(ours))
    results["peer"] = quality(theirs)
    out_dir.mkdir(parents=True, exist_ok=True)
    log("answerability: the SQuAD validation articles, the bank's validation part and the "
        "held-out set")
    results["answerability"] = answerability(answerer, settings, out_dir)

    log("warm latency: ours against a bare torch encode of the same question")
    ours_ms, bare_ms = latency(answerer, bare, texts)
    results.update(latency_p50_ms=pct(ours_ms, 50), latency_p95_ms=pct(ours_ms, 95),
                   bare_encode_p50_ms=pct(bare_ms, 50), bare_encode_p95_ms=pct(bare_ms, 95))
    results["latency_ratio"] = results["latency_p50_ms"] / results["bare_encode_p50_ms"]
    results["latency_p95_ratio"] = results["latency_p95_ms"] / results["bare_encode_p95_ms"]

    log("cold starts and memory: fresh processes (ask, REPL, Discord bot, peer), against a "
        "bare import of sentence-transformers")
    results.update(startup(settings, texts))

    log("burst: 64 questions at once through the bot's path, against one by one")
    results.update(burst(settings, answerer, texts))

    log("index build: 2,000 generated passages, against bare batch encoding")
    results.update(build(settings, answerer.retriever.embedder, answerer.index))

    log(f"scale: retrieval latency at {', '.join(f'{n:,}' for n in sizes)} passages")
    results["scale"] = scale(answerer, texts, sizes, log)

    log("realistic corpus: WordNet's glosses beside the article, built in a fresh process")
    results["realistic"] = realistic(settings, answerer, questions, log)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, ours_ms, bare_ms, peer_latency, out_dir / "latest.png")
    return results
