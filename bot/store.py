"""What the bot remembers, in one SQLite file: the answers it gave (so buttons keep working
after a restart), votes on them, and conversations (threads) with their questions.

No raw user id is stored: voters are a keyed hash (HMAC-SHA256 with a secret that lives
outside the database), enough to let a person change their vote and no more."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import BotError

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    conversation TEXT,
    answered INTEGER NOT NULL,
    passage_ids TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_conversation ON answers (conversation, created_at);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL REFERENCES answers (id),
    voter TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    question TEXT NOT NULL,
    passage_ids TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, voter)
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    answer_id TEXT NOT NULL REFERENCES answers (id),
    created_at TEXT NOT NULL
);
"""


class StoreError(BotError):
    """The database could not be written (locked too long, disk full, read-only)."""


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


class Store:
    def __init__(self, path: Path, secret: bytes, busy_timeout: float = 5.0) -> None:
        self.path = path
        self._secret = secret
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @classmethod
    def open(cls, data_dir: Path, secret: str = "") -> Store:
        return cls(data_dir / "bot.sqlite3", secret.encode() if secret else _key_file(data_dir))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def voter(self, user_id: int | str) -> str:
        return hmac.new(self._secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]

    def record_answer(
        self, question: str, answered: bool, passage_ids: Sequence[str],
        conversation: str | None = None,
    ) -> str:
        answer_id = uuid.uuid4().hex[:16]
        with self._write() as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?)",
                (answer_id, question, conversation, int(answered), json.dumps(list(passage_ids)),
                 _now()),
            )
        return answer_id

    def answer(self, answer_id: str) -> StoredAnswer | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, question, conversation, answered, passage_ids FROM answers "
                "WHERE id = ?", (answer_id,)).fetchone()
        if row is None:
            return None
        return StoredAnswer(row[0], row[1], row[2], bool(row[3]), tuple(json.loads(row[4])))

    def record_vote(self, answer_id: str, user_id: int | str, vote: int) -> Vote:
        """One vote per person per answer; voting again replaces it."""
        stored = self.answer(answer_id)
        if stored is None:
            raise StoreError("that answer is no longer known; ask the question again")
        row = Vote(answer_id, self.voter(user_id), 1 if vote > 0 else -1, stored.question,
                   stored.passage_ids)
        with self._write() as db:
            db.execute(
                "INSERT INTO votes VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (answer_id, voter) "
                "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
                (row.answer_id, row.voter, row.vote, row.question,
                 json.dumps(list(row.passage_ids)), _now()),
            )
        return row

    def votes(self) -> list[Vote]:
        with self._lock:
            rows = self._db.execute(
                "SELECT answer_id, voter, vote, question, passage_ids FROM votes "
                "ORDER BY created_at").fetchall()
        return [Vote(r[0], r[1], r[2], r[3], tuple(json.loads(r[4]))) for r in rows]

    def start_conversation(self, conversation: str, answer_id: str) -> None:
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO conversations VALUES (?, ?, ?)",
                       (conversation, answer_id, _now()))

    def is_conversation(self, conversation: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM conversations WHERE id = ?",
                                    (conversation,)).fetchone() is not None

    def history(self, conversation: str, before: str | None = None) -> list[str]:
        """The questions of a conversation, oldest first (insertion order: timestamps can
        tie): the one it started from, then those asked in it; with ``before`` (an answer
        id), only those asked before it."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a.question FROM conversations c JOIN answers a ON a.id = c.answer_id "
                "WHERE c.id = ? UNION ALL SELECT question FROM ("
                "SELECT question FROM answers WHERE conversation = ? AND rowid < "
                "COALESCE((SELECT rowid FROM answers WHERE id = ?), 1e18) "
                "ORDER BY rowid)",
                (conversation, conversation, before)).fetchall()
        return [r[0] for r in rows]

    def report(self, limit: int = 20) -> Report:
        with self._lock:
            unanswered = self._db.execute(
                "SELECT MIN(question), COUNT(*) AS n FROM answers WHERE answered = 0 "
                "GROUP BY lower(trim(question, ' ?!.')) ORDER BY n DESC, MIN(created_at) "
                "LIMIT ?", (limit,)).fetchall()
            downvoted = self._db.execute(
                "SELECT question, passage_ids, COUNT(*) AS n FROM votes WHERE vote = -1 "
                "GROUP BY question, passage_ids ORDER BY n DESC, MIN(created_at) LIMIT ?",
                (limit,)).fetchall()
        return Report([(q, n) for q, n in unanswered],
                      [(q, tuple(json.loads(p)), n) for q, p, n in downvoted])

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"could not save to {self.path.name}: {err}") from None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _key_file(data_dir: Path) -> bytes:
    """The hashing secret, made on first use and readable by the owner only."""
    path = data_dir / "voter.key"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    return path.read_bytes()
