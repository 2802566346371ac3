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
from bot.evaluate import EvalQuestion, Ranked, Report, evaluate, load_questions, split
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


def answerability(answerer: Answerer, chart_path: Path) -> dict[str, Any]:
    """The answerability issue's figures on the bank's validation part and the held-out
    set (neither fitted on), with a reliability diagram: predicted confidence against how
    often the first passage was right, over both sets."""
    from bot.answerability.fit import figures, judge_all, reliability

    model = answerer.model
    out: dict[str, Any] = {}
    everything = []
    for name, questions in (("bank_val", split(load_questions(BANK), "val")),
                            ("holdout", load_questions(HOLDOUT))):
        judged = judge_all(answerer, model, questions)
        everything += judged
        out[name] = figures(judged, model.answered_at, model.tentative_at, model.topic_at)
    out["reliability"] = reliability(everything)
    out["cross_validated"] = model.notes.get("cross_validated", {})
    _reliability_chart(out["reliability"], chart_path)
    return out


def _reliability_chart(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
    ax.plot([r["predicted"] for r in rows], [r["observed"] for r in rows], marker="o",
            label="this bot")
    for r in rows:
        ax.annotate(str(r["questions"]), (r["predicted"], r["observed"]), fontsize=7,
                    textcoords="offset points", xytext=(4, -10))
    ax.set_xlabel("predicted confidence")
    ax.set_ylabel("first passage right (observed)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Reliability (bank val + held-out)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
