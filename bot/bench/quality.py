"""Answer quality: ours and the peer's (LangChain's splitter over the raw page, the same
model, FAISS, the top chunks pasted back), on the same question set."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bot.answer import Answerer
from bot.config import PROJECT_ROOT, Settings
from bot.evaluate import EvalQuestion, Ranked, Report, evaluate
from bot.ingest import load_documents

BANK = PROJECT_ROOT / "bench" / "bank.jsonl"
HOLDOUT = PROJECT_ROOT / "bench" / "holdout.jsonl"


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


def answerability(answerer: Answerer, settings: Settings, out_dir: Path) -> dict[str, Any]:
    """The reader issue's figures, on what was never fitted on: the SQuAD validation
    articles (each indexed alone), the bank's validation part and the held-out set; per set,
    reliability (predicted confidence against how often the first passage was right) and the
    trade-off as the confident line moves. Charts: ``tradeoff.png``, ``reliability.png``."""
    from bot.answerability.refit import cached_reader, measure, tiktok_sets

    reading, cache = cached_reader(answerer, settings)
    try:
        out = measure(reading, settings, answerer.model, tiktok_sets(), log=lambda _: None)
    finally:
        cache.save()
    model = answerer.model
    out["model"] = {"read": model.read, "answered_at": model.answered_at,
                    "tentative_at": model.tentative_at, "topic_at": model.topic_at}
    _trade_off_chart(out["trade_off"], model.answered_at, out_dir / "tradeoff.png")
    _reliability_chart(out["reliability"], out_dir / "reliability.png")
    return out


def _trade_off_chart(curves: dict[str, list[dict[str, float]]], line: float,
                     path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, rows in curves.items():
        xs = [r["unanswerable_confident"] for r in rows]
        ys = [r["right_confident"] for r in rows]
        ax.plot(xs, ys, marker=".", label=name)
        at = min(rows, key=lambda r: abs(r["answered_at"] - line))
        ax.scatter([at["unanswerable_confident"]], [at["right_confident"]], s=60,
                   facecolors="none", edgecolors="black")
    ax.set_xlabel("unanswerable questions answered confidently")
    ax.set_ylabel("answerable: right passage, answered confidently")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"Moving the confident line (circled: {line:.2f}, the fitted one)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _reliability_chart(sets: dict[str, list[dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
    for name, rows in sets.items():
        if name == "articles":
            continue
        ax.plot([r["predicted"] for r in rows], [r["observed"] for r in rows], marker="o",
                label=name, linewidth=1)
    ax.set_xlabel("predicted confidence")
    ax.set_ylabel("first passage right (observed)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Reliability, per set never fitted on")
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
