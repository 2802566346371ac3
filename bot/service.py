"""Wires settings → model → index → retriever → answerer, and the question-answering service
that long-running front ends (Discord) share: answers remembered, votes, conversations and
rebuilding the index while questions keep being answered. Blocking; callers on an event
loop run these methods in a worker thread."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.answer import Answer, Answerer
from bot.answerability.model import AnswerModel, load_model
from bot.batching import MicroBatcher
from bot.config import Settings
from bot.encoding import Embedder
from bot.errors import BotError
from bot.index import LoadReport, Manifest, Progress, build_index, ensure_index
from bot.ingest import load_documents
from bot.reader.runtime import Reader
from bot.retriever import Retriever

if TYPE_CHECKING:  # the one-shot CLI has no database to open unless one exists
    from bot.store import Store, Vote
    from bot.teaching.teacher import Learned

logger = logging.getLogger(__name__)


def open_answerer(
    settings: Settings, progress: Progress | None = None, rebuild: bool = False,
    embedder: Embedder | None = None, model: AnswerModel | None = None,
    reader: Reader | None = None,
) -> tuple[Answerer, LoadReport]:
    """An answerer over a fresh index: loaded if current, (re)built otherwise."""
    embedder = embedder or Embedder(settings.model, settings.backend, settings.model_cache)
    if rebuild:
        documents, problems = load_documents(settings.seeds_dir)
        index = build_index(documents, settings.index_dir, embedder, progress=progress)
        report = LoadReport("built", "asked to rebuild", tuple(problems))
    else:
        index, report = ensure_index(settings.seeds_dir, settings.index_dir, embedder,
                                     progress=progress)
    # Loaded before the first question, not during it: a REPL or bot that says it is ready
    # is ready, and the graph is compiled on the main thread (see ``Embedder``).
    embedder.load()
    answerer = Answerer(
        Retriever(index, embedder),
        top_k=settings.top_k,
        max_question_chars=settings.max_question_chars,
        model=model or load_model(),
        reader=reader or Reader(cache_dir=settings.model_cache / "reader-compiled"),
    )
    return answerer, report


def with_taught(answerer: Answerer, settings: Settings) -> Answerer:
    """``answerer``, answering from the taught answers in the database, when there is one
    (a one-shot question does not create a database to find nothing in it)."""
    if settings.postgres_url is None and not settings.sqlite_path.is_file():
        return answerer
    from bot.store import open_store
    from bot.teaching.teacher import Teacher

    store = open_store(settings)
    try:
        Teacher(store, lambda: answerer).refresh(force=True)
    finally:
        store.close()
    return answerer


@dataclass(frozen=True)
class Reply:
    """An answer, and the id it is remembered under (for buttons and votes)."""

    answer: Answer
    answer_id: str


class QAService:
    def __init__(self, settings: Settings, answerer: Answerer, store: Store) -> None:
        from bot.teaching.teacher import Teacher

        self.settings = settings
        self.answerer = answerer
        self.store = store
        self.teacher = Teacher(store, lambda: self.answerer, settings.teach_votes)
        self.teacher.refresh(force=True)
        self.batcher = MicroBatcher(lambda: self.answerer)
        self._reindexing = threading.Lock()

    @property
    def manifest(self) -> Manifest:
        return self.answerer.index.manifest

    @property
    def examples(self) -> list[str]:
        return [q for d in self.manifest.documents for q in d.examples]

    def ask(self, question: str, conversation: str | None = None) -> Reply:
        """Answer, taking the conversation's earlier questions into account, and remember
        the answer (abstentions too: they are what an operator needs to see)."""
        self.teacher.refresh()
        history: Sequence[str] = self.store.history(conversation) if conversation else ()
        return self._remember(self.answerer.ask(question, history=history), conversation)

    async def ask_async(self, question: str, conversation: str | None = None) -> Reply:
        """``ask`` for an event loop: concurrent questions share one encode (micro-batching)
        and the database is used from worker threads."""
        if self.teacher.claim():  # one question in a burst looks at the database
            await asyncio.to_thread(self.teacher.reload)
        history: Sequence[str] = (
            await asyncio.to_thread(self.store.history, conversation) if conversation else ())
        answer = await self.batcher.ask(question, history)
        return await asyncio.to_thread(self._remember, answer, conversation)

    def _remember(self, answer: Answer, conversation: str | None) -> Reply:
        answer_id = self.store.record_answer(
            answer.question, answer.status.value, [e.passage_id for e in answer.excerpts],
            conversation, taught=answer.taught)
        return Reply(answer, answer_id)

    def more(self, answer_id: str, offset: int) -> Answer:
        stored = self.store.answer(answer_id)
        if stored is None:
            raise BotError("that answer is no longer known; ask the question again")
        history = (self.store.history(stored.conversation, before=answer_id)
                   if stored.conversation else [])
        return self.answerer.ask(stored.question, offset=offset, history=history)

    def vote(self, answer_id: str, user_id: int | str, vote: int,
             operator: bool = False) -> tuple[Vote, Learned]:
        """Record the vote, then learn from it (``bot.teaching.teacher``): what it changed."""
        recorded = self.store.record_vote(answer_id, user_id, vote, operator)
        return recorded, self.teacher.learn(answer_id)

    def start_conversation(self, conversation: str, answer_id: str) -> None:
        self.store.start_conversation(conversation, answer_id)

    def is_conversation(self, conversation: str) -> bool:
        return self.store.is_conversation(conversation)

    def reindex(self) -> Manifest:
        """Rebuild from seeds/ and switch to the new index; questions asked meanwhile are
        answered from the old one. One rebuild at a time."""
        if not self._reindexing.acquire(blocking=False):
            raise BotError("a rebuild is already running; try again when it has finished")
        try:
            current = self.answerer
            answerer, _ = open_answerer(
                self.settings, rebuild=True, embedder=current.retriever.embedder,
                reader=current.reader if isinstance(current.reader, Reader) else None)
            self.answerer = answerer  # one reference swap: readers see old or new, whole
            self.teacher.refresh(force=True)  # taught answers checked against the new index
            logger.info("reindexed: %d passages", answerer.index.manifest.passages)
            return answerer.index.manifest
        finally:
            self._reindexing.release()
