"""Wires settings → model → index → retriever → answerer; every front end starts here."""

from __future__ import annotations

from bot.answer import Answerer
from bot.config import Settings
from bot.embeddings import Embedder
from bot.index import LoadReport, Progress, build_index, ensure_index
from bot.ingest import load_documents
from bot.retriever import Retriever


def open_answerer(
    settings: Settings, progress: Progress | None = None, rebuild: bool = False
) -> tuple[Answerer, LoadReport]:
    """An answerer over a fresh index: loaded if current, (re)built otherwise."""
    embedder = Embedder(settings.model, settings.backend)
    if rebuild:
        documents, problems = load_documents(settings.seeds_dir)
        index = build_index(documents, settings.index_dir, embedder, progress=progress)
        report = LoadReport("built", "asked to rebuild", tuple(problems))
    else:
        index, report = ensure_index(settings.seeds_dir, settings.index_dir, embedder,
                                     progress=progress)
    answerer = Answerer(
        Retriever(index, embedder),
        top_k=settings.top_k,
        min_evidence=settings.min_evidence,
        max_question_chars=settings.max_question_chars,
    )
    return answerer, report
