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
    answered: bool
    passage_ids: tuple[str, ...]


@dataclass(frozen=True)
class Vote:
    answer_id: str
    voter: str
    vote: int
    question: str
    passage_ids: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    unanswered: list[tuple[str, int]]  # question, times asked
    downvoted: list[tuple[str, tuple[str, ...], int]]  # question, passages shown, votes
