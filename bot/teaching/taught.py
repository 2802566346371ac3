"""Taught answers: a question mapped to the passages that answer it, by an operator or by
users' agreement, and answered that way the next time it, or a paraphrase of it, is asked.

A new question matches a taught one when the two are close in meaning (MiniLM is at its
best comparing questions: it was trained on duplicate-question pairs) *and* ask for the
same thing: the same kind of answer, the same times, and no name the taught question did
not give. "How much revenue in the second half?" is 0.96 from a taught "…in the first
half?", and must not get its answer. The similarity threshold is fitted on the question
bank (``python -m bot fit``, ``taught_at`` in the model file).

Taught passages are kept with a hash of their text: when the article changes and a passage
is gone or reworded, the taught answer is stale, not used, and listed by ``bot report``."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bot.answerability.features import Question, analyse
from bot.text import fold

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from bot.index import Index
    from bot.passages import Passage

OPERATOR, VOTES = "operator", "votes"


def passage_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def question_key(question: str) -> str:
    """What makes two taught questions the same one: case, spacing and end punctuation
    aside."""
    return " ".join(fold(question).split()).strip(" ?!.")


@dataclass(frozen=True)
class TaughtPassage:
    passage_id: str
    sha256: str  # of the passage's text when it was taught


@dataclass(frozen=True)
class Taught:
    question: str
    passages: tuple[TaughtPassage, ...]
    source: str  # OPERATOR or VOTES
    created_at: str = ""

    @property
    def key(self) -> str:
        return question_key(self.question)

    def stale(self, index: Index) -> bool:
        """True when a taught passage is no longer in the index, or reads differently."""
        return any(_live(index, p) is None for p in self.passages)

    def live_passages(self, index: Index) -> list[int] | None:
        """The index rows of the taught passages, or None when any is stale."""
        rows = [_live(index, p) for p in self.passages]
        return None if any(r is None for r in rows) else [r for r in rows if r is not None]


def taught_from(question: str, passages: Sequence[Passage], source: str) -> Taught:
    return Taught(question, tuple(TaughtPassage(p.id, passage_hash(p.text)) for p in passages),
                  source)


def _live(index: Index, taught: TaughtPassage) -> int | None:
    row = index.passage_row(taught.passage_id)
    if row is None or passage_hash(index.passages[row].text) != taught.sha256:
        return None
    return row


@dataclass(frozen=True)
class Match:
    taught: Taught
    rows: tuple[int, ...]  # the taught passages' rows in the index
    similarity: float


class TaughtSet:
    """The taught answers that are live in ``index``, ready to match questions. Replaced
    whole when something is taught or forgotten (readers see the old or the new set)."""

    def __init__(self, taught: Sequence[Taught], index: Index,
                 vectors: NDArray[np.float32], threshold: float) -> None:
        self.index = index
        self.threshold = threshold
        live = [(t, t.live_passages(index), v) for t, v in zip(taught, vectors, strict=True)]
        self.entries = [(t, tuple(rows)) for t, rows, _ in live if rows]
        dimension = index.sentence_vectors.shape[1]
        self.vectors = (np.vstack([v for t, rows, v in live if rows]) if self.entries
                        else np.zeros((0, dimension), np.float32))
        self._asked = [self._analyse(t.question) for t, _ in self.entries]
        self.stale = [t for t, rows, _ in live if not rows]

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, question: str, vector: NDArray[np.float32]) -> Match | None:
        """The closest taught question that asks for the same thing, if close enough."""
        best = next(self.ranked(question, vector), None)
        return best if best is not None and best.similarity >= self.threshold else None

    def ranked(self, question: str, vector: NDArray[np.float32]) -> Iterator[Match]:
        """The taught questions that ask for the same thing, closest first."""
        if not self.entries:
            return
        similarity = self.vectors @ vector
        asked = self._analyse(question)
        for i in np.argsort(-similarity):
            if same_request(asked, self._asked[i]):
                taught, rows = self.entries[int(i)]
                yield Match(taught, rows, float(similarity[i]))

    def _analyse(self, question: str) -> Question:
        return analyse(question, self.index.vocabulary, self.index.lexicon)


def same_request(asked: Question, taught: Question) -> bool:
    """The new question asks for what the taught one did: the same kind of answer, the same
    times, and no name the taught question did not give (matched through aliases)."""
    if asked.kind is not taught.kind or asked.times != taught.times:
        return False
    known = frozenset().union(*taught.names) if taught.names else frozenset()
    return all(name & known for name in asked.names)


class TaughtHolder:
    """A swappable reference to the current ``TaughtSet`` (thread-safe replace)."""

    def __init__(self, taught: TaughtSet | None = None) -> None:
        self._lock = threading.Lock()
        self._taught = taught

    @property
    def current(self) -> TaughtSet | None:
        return self._taught

    def replace(self, taught: TaughtSet | None) -> None:
        with self._lock:
            self._taught = taught

