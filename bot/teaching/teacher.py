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

from bot.answer import Answerer, Excerpt
from bot.errors import BotError, InvalidQuestion
from bot.passages import Passage
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
from bot.text import fold, normalize, undecodable

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0  # how often a process checks whether another one taught something


@dataclass(frozen=True)
class Learned:
    """What a vote changed: "taught", "untaught" or "" (nothing)."""

    change: str = ""


@dataclass(frozen=True)
class Imported:
    """What an import stored, and the questions it left as they were."""

    stored: int
    kept: tuple[str, ...] = ()


@dataclass(frozen=True)
class PassageChoice:
    """A passage an operator can pick to teach. ``ref`` is short (12 characters) for
    interfaces that limit a value's length (Discord: 100), which a passage id, holding its
    document's id, may exceed; ``Teacher.resolve_passage`` turns it back into the id."""

    ref: str
    passage_id: str
    paragraph: int
    title: str
    sentence: str  # what to show first: the model's marked sentence, or one with the words
    text: str

    @property
    def citation(self) -> str:
        return f"¶{self.paragraph} · {self.title}"


@dataclass(frozen=True)
class Suggestion:
    """A question worth teaching: one the bot did not answer, or answered tentatively."""

    question: str
    status: str  # "none" or "tentative"
    times: int


def passage_ref(passage_id: str) -> str:
    """The digest part of a passage id (``doc:digest``): unique in an index, since the
    digest covers the document's id too."""
    return passage_id.rsplit(":", 1)[-1]


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
        if undecodable(question):
            raise BotError("the question to teach is not valid UTF-8 text")
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
        if undecodable(question):
            return False  # nothing can have been taught under it
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
            taught = self.taught_for(stored.question) if stored.taught else None
            if taught is not None and self.forget(taught.question):
                logger.info("untaught %r: an operator voted down its answer to %r",
                            taught.question, stored.question)
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

    def taught_for(self, question: str) -> Taught | None:
        """The taught answer ``question`` is answered from: taught as it is, or the taught
        question it matches (a paraphrase)."""
        key = question_key(question)
        exact = next((t for t in self.store.taught() if t.key == key), None)
        current = self.answerer.taught.current
        if exact is not None or current is None:
            return exact
        searched = normalize(question)
        match = current.match(searched, self.answerer.retriever.encode([searched])[0])
        return match.taught if match is not None else None

    # --- what operators pick from -----------------------------------------------------------

    def suggestions(self, typed: str = "", limit: int = 25) -> list[Suggestion]:
        """Questions the bot did not answer or answered tentatively, most often asked first,
        holding every word of ``typed`` (or all of them), not yet taught."""
        report = self.store.report(max(limit, 100))
        taught = {t.key for t in self.store.taught()}
        found = [Suggestion(q, "none", n) for q, n in report.unanswered] + [
            Suggestion(q, "tentative", n) for q, _, n in report.tentative]
        found.sort(key=lambda s: -s.times)
        words = fold(typed).split()
        return [s for s in found if question_key(s.question) not in taught
                and all(w in fold(s.question) for w in words)][:limit]

    def closest_passages(self, question: str, count: int = 5) -> list[PassageChoice]:
        """The passages the model ranks first for ``question``, whatever it answered."""
        return [self._choice(e) for e in self.answerer.closest(question, count)]

    def passages_containing(self, typed: str, limit: int = 25) -> list[PassageChoice]:
        """Passages holding every word of ``typed`` (the start of a word counts, as people
        type), in the article's order; the first ones when nothing is typed."""
        words = fold(typed).split()
        found = []
        for passage in self.answerer.index.passages:
            if all(w in fold(passage.text) for w in words):
                found.append(self._passage_choice(passage, words))
                if len(found) >= limit:
                    break
        return found

    def passage_choices(self, question: str, typed: str, limit: int = 25
                        ) -> list[PassageChoice]:
        """What to offer for a question's passage: the closest to ``question`` (those
        holding the words of ``typed``, when something is typed), else the passages holding
        them."""
        try:
            closest = self.closest_passages(question, limit) if question.strip() else []
        except InvalidQuestion:
            closest = []
        words = fold(typed).split()
        matching = [c for c in closest if all(w in fold(c.text) for w in words)]
        return matching or self.passages_containing(typed, limit)

    def resolve_passage(self, given: str) -> PassageChoice:
        """The passage an operator means by ``given``: a ``PassageChoice.ref``, a passage
        id, or words that only one passage holds. A BotError says what to do otherwise."""
        given = given.strip()
        index = self.answerer.index
        row = index.passage_row(given)
        if row is None:
            row = next((i for i, p in enumerate(index.passages)
                        if passage_ref(p.id) == given), None)
        if row is not None:
            return self._passage_choice(index.passages[row], [])
        holding = self.passages_containing(given, 2) if fold(given).split() else []
        if len(holding) == 1:
            return holding[0]
        if not holding:
            raise BotError(f"no passage of the article matches “{given[:60]}” (it may have "
                           "changed since): pick one of the suggested passages")
        raise BotError(f"more than one passage holds “{given[:60]}”: pick one of the "
                       "suggested passages")

    def _passage_choice(self, passage: Passage, words: Sequence[str]) -> PassageChoice:
        """``passage`` to pick, showing first its sentence with the most of ``words``."""
        sentences = [passage.text[s - passage.start : e - passage.start]
                     for s, e in passage.sentences] or [passage.text]
        sentence = max(sentences, key=lambda x: sum(w in fold(x) for w in words))
        return PassageChoice(passage_ref(passage.id), passage.id, passage.paragraph,
                             self.answerer.index.document(passage.doc_id).title, sentence,
                             passage.text)

    def _choice(self, excerpt: Excerpt) -> PassageChoice:
        return PassageChoice(passage_ref(excerpt.passage_id), excerpt.passage_id,
                             excerpt.paragraph, excerpt.title, excerpt.parts()[1],
                             excerpt.text)

    # --- keeping the answerer's taught set current -------------------------------------------

    def claim(self) -> bool:
        """Whether the caller should ``reload`` now: true at most once every
        REFRESH_SECONDS, for the one caller that asks first, so a burst of questions does
        not queue a database check each (the others go on with the taught set loaded)."""
        now = time.monotonic()
        if now - self._checked < REFRESH_SECONDS:
            return False
        self._checked = now
        return True

    def refresh(self, force: bool = False) -> None:
        """Reload the taught answers when the database's differ from those loaded (checked
        at most every REFRESH_SECONDS unless ``force``)."""
        if force or self.claim():
            self.reload(force)

    def reload(self, force: bool = False) -> None:
        """Load the taught answers if the database's revision moved (or ``force``)."""
        with self._lock:
            self._checked = time.monotonic()
            revision = self.store.taught_revision()
            if revision == self._revision and not force:
                return
            self._revision = revision
            answerer = self._answerer()
            answerer.taught.replace(taught_set(answerer, self.store.taught()))

    # --- backup ----------------------------------------------------------------------------

    def import_lines(self, lines: Iterable[str]) -> Imported:
        """Taught answers from JSON lines (as ``export`` writes them). Every line is checked
        before anything is stored: a bad line is a BotError naming it, and nothing changes.

        An imported answer replaces the one taught for the same question, except where the
        one here still answers from the current index and the imported copy's passages are
        not in it (an export from another version of the articles): a restore never swaps
        a working answer for a stale one. Those are kept, and named."""
        parsed = [_taught_line(number, line) for number, line in enumerate(lines, start=1)
                  if line.strip()]
        index = self._answerer().index
        here = {t.key: t for t in self.store.taught()}
        kept = [t for t in parsed
                if t.key in here and not here[t.key].stale(index) and t.stale(index)]
        stored = [t for t in parsed if t not in kept]
        for taught in stored:
            self.store.teach(taught)
        self.refresh(force=True)
        return Imported(len(stored), tuple(t.question for t in kept))


def _taught_line(number: int, line: str) -> Taught:
    """One line of an export, or a BotError naming the line."""
    def bad(why: str) -> BotError:
        return BotError(f"line {number} is not a taught answer ({why}): a JSON object with "
                        '"question" and "passages": [{"id", "sha256"}]')

    try:
        row = json.loads(line)
    except ValueError:
        raise bad("not JSON") from None
    if not isinstance(row, dict):
        raise bad("not an object")
    question, passages = row.get("question"), row.get("passages")
    if not isinstance(question, str) or not normalize(question):
        raise bad('no "question" text')
    if (not isinstance(passages, list) or not passages
            or not all(isinstance(p, dict) and isinstance(p.get("id"), str) and p["id"]
                       and isinstance(p.get("sha256"), str) for p in passages)):
        raise bad('"passages" must list at least one {"id", "sha256"} of strings')
    source, created_at = row.get("source", OPERATOR), row.get("created_at", "")
    if source not in (OPERATOR, VOTES) or not isinstance(created_at, str):
        raise bad(f'"source" must be "{OPERATOR}" or "{VOTES}", "created_at" a string')
    return Taught(question, tuple(TaughtPassage(p["id"], p["sha256"]) for p in passages),
                  source, created_at)


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
