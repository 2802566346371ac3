"""Teaching the bot, over the store: operators teach and forget answers, agreement among
users teaches, an operator's 👎 unteaches, and every process answers from what the database
holds (``bot.teaching`` has the answers and how questions match them).

Safe from a single mischievous user: votes are one per person per answer (a keyed hash of
the user), teaching by votes needs ``votes_needed`` distinct people and no operator's 👎,
and only operators (Manage Server) teach directly or unteach."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.answer import Answerer
from bot.errors import BotError
from bot.store import Store
from bot.teaching import (
    OPERATOR,
    VOTES,
    Taught,
    TaughtPassage,
    TaughtSet,
    question_key,
    taught_from,
)
from bot.text import normalize

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0  # how often a process checks whether another one taught something


@dataclass(frozen=True)
class Learned:
    """What a vote changed: "taught", "untaught" or "" (nothing)."""

    change: str = ""


class Teacher:
    def __init__(self, store: Store, answerer: Callable[[], Answerer],
                 votes_needed: int = 3) -> None:
        self.store = store
        self._answerer = answerer  # the current one (a reindex swaps it)
        self.votes_needed = votes_needed
        self._lock = threading.Lock()
        self._revision = ""
        self._checked = 0.0

    @property
    def answerer(self) -> Answerer:
        return self._answerer()

    # --- what operators do ----------------------------------------------------------------

    def teach(self, question: str, passage_ids: Sequence[str], source: str = OPERATOR
              ) -> Taught:
        """Teach ``question`` with these passages of the current index. Unknown ids are a
        BotError naming them."""
        question = normalize(question)
        if not question:
            raise BotError("give the question to teach")
        if not passage_ids:
            raise BotError("give at least one passage id (python -m bot report lists them)")
        index = self._answerer().index
        rows = [index.passage_row(pid) for pid in passage_ids]
        unknown = [pid for pid, row in zip(passage_ids, rows, strict=True) if row is None]
        if unknown:
            raise BotError(f"no passage {', '.join(unknown)} in the index (python -m bot "
                           "report lists the closest passages with their ids)")
        taught = taught_from(question, [index.passages[r] for r in rows if r is not None],
                             source)
        self.store.teach(taught)
        self.refresh(force=True)
        logger.info("taught %r → %s (%s)", question, ", ".join(passage_ids), source)
        return taught

    def forget(self, question: str) -> bool:
        forgotten = self.store.forget(question)
        if forgotten:
            self.refresh(force=True)
        return forgotten

    def taught(self) -> list[tuple[Taught, bool]]:
        """Every taught answer, and whether it is stale (its passages changed or gone)."""
        index = self._answerer().index
        return [(t, t.stale(index)) for t in self.store.taught()]

    # --- what votes do ----------------------------------------------------------------------

    def learn(self, answer_id: str) -> Learned:
        """After a vote on ``answer_id``: teach its question → passages once enough
        distinct people agreed and no operator disagreed; unteach a taught answer an
        operator voted down."""
        stored = self.store.answer(answer_id)
        if stored is None or stored.status == "none" or not stored.passage_ids:
            return Learned()
        tally = self.store.tally(answer_id)
        if tally.operator_down:
            if stored.taught and self.forget(stored.question):
                logger.info("untaught %r: an operator voted it down", stored.question)
                return Learned("untaught")
            return Learned()
        if tally.up < self.votes_needed or stored.taught:
            return Learned()
        if any(t.key == question_key(stored.question) for t in self.store.taught()):
            return Learned()  # already taught (an operator's teaching is not overwritten)
        try:
            self.teach(stored.question, stored.passage_ids, VOTES)
        except BotError:  # the passages are gone since (a reindex): nothing to teach
            return Learned()
        return Learned("taught")

    # --- keeping the answerer's taught set current -------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Reload the taught answers when the database's differ from those loaded (checked
        at most every REFRESH_SECONDS unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._checked < REFRESH_SECONDS:
            return
        with self._lock:
            self._checked = now
            revision = self.store.taught_revision()
            if revision == self._revision and not force:
                return
            self._revision = revision
            answerer = self._answerer()
            answerer.taught.replace(taught_set(answerer, self.store.taught()))

    # --- backup ----------------------------------------------------------------------------

    def import_lines(self, lines: Iterable[str]) -> int:
        """Taught answers from JSON lines (as ``export`` writes them). Every line is checked
        before anything is stored: a bad line is a BotError naming it, and nothing changes."""
        parsed = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                parsed.append(Taught(
                    str(row["question"]),
                    tuple(TaughtPassage(str(p["id"]), str(p["sha256"]))
                          for p in row["passages"]),
                    str(row.get("source", OPERATOR)), str(row.get("created_at", ""))))
            except (ValueError, KeyError, TypeError):
                raise BotError(f"line {number} is not a taught answer (a JSON object with "
                               '"question" and "passages": [{"id", "sha256"}])') from None
            if not parsed[-1].passages or not normalize(parsed[-1].question):
                raise BotError(f"line {number} has no question or no passages")
        for taught in parsed:
            self.store.teach(taught)
        self.refresh(force=True)
        return len(parsed)


def export_lines(store: Store) -> Iterator[str]:
    """Taught answers as JSON lines (what ``Teacher.import_lines`` reads)."""
    for t in store.taught():
        yield json.dumps({"question": t.question, "source": t.source,
                          "created_at": t.created_at,
                          "passages": [{"id": p.passage_id, "sha256": p.sha256}
                                       for p in t.passages]}, ensure_ascii=False)


def taught_set(answerer: Answerer, taught: Sequence[Taught]) -> TaughtSet:
    vectors = answerer.retriever.encode([normalize(t.question) for t in taught])
    return TaughtSet(taught, answerer.index, vectors, answerer.model.taught_at)
