"""What crosses the store's boundary: frozen records and the one domain error."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import BotError


class StoreError(BotError):
    """The database could not be read or written (locked too long, disk full, read-only,
    server unreachable): the caller tells the user, nothing is silently dropped."""


@dataclass(frozen=True)
class StoredAnswer:
    id: str
    question: str
    conversation: str | None
    status: str  # "answered", "tentative" or "none"
    passage_ids: tuple[str, ...]
    taught: bool = False  # given from a taught answer

    @property
    def answered(self) -> bool:
        return self.status == "answered"


@dataclass(frozen=True)
class PoolUsage:
    """The store's connections now: how many it may open, has open, lends out, and how many
    callers wait for one (0 where the engine cannot tell)."""

    max_size: int
    size: int
    in_use: int
    waiting: int = 0


@dataclass(frozen=True)
class Vote:
    answer_id: str
    voter: str
    vote: int
    question: str
    passage_ids: tuple[str, ...]
    operator: bool = False  # cast by someone with Manage Server


@dataclass(frozen=True)
class Tally:
    """The votes on one answer: distinct people who voted 👍, and whether an operator
    voted 👎."""

    up: int
    operator_down: bool


@dataclass(frozen=True)
class Report:
    unanswered: list[tuple[str, int]]  # question, times asked
    tentative: list[tuple[str, tuple[str, ...], int]]  # question, passage shown, times
    downvoted: list[tuple[str, tuple[str, ...], int]]  # question, passages shown, votes
