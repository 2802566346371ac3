"""The store's interface, written once for both engines.

``Store`` holds what the bot remembers: the answers it gave (so buttons keep working after
a restart, on any process), votes on them, conversations (threads), and when each gateway
rate limit bucket may next IDENTIFY (shared by every process). Its methods are
plain SQL that SQLite and PostgreSQL both accept, with ``%s`` placeholders; an engine
supplies only ``_run`` (one transaction, its locking, its errors), its clock and row lock
(for ``reserve_identify``), migrations and ``close``.

No raw user id is stored: voters are a keyed hash (HMAC-SHA256 with a secret that lives
outside the database), enough to let a person change their vote and no more."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from bot.store.migrations import Session, now
from bot.store.records import PoolUsage, Report, StoredAnswer, StoreError, Tally, Vote
from bot.teaching import Taught, TaughtPassage, question_key

T = TypeVar("T")

NO_LIMIT = 9_223_372_036_854_775_807  # largest BIGINT: "no answer id given"
QUESTION_PUNCTUATION = " ?!."  # stripped when grouping repeated questions


class Store(ABC):
    """What the bot remembers. Blocking; callers on an event loop use a worker thread."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def open(cls, data_dir: Path, secret: str = "") -> Store:
        """The embedded default, for tools and tests: SQLite in ``data_dir/bot.sqlite3``,
        voters hashed with ``secret`` or the key kept in ``data_dir/voter.key``."""
        from bot.store.keys import voter_key
        from bot.store.sqlite import SQLiteStore

        return SQLiteStore(data_dir / "bot.sqlite3", voter_key(data_dir, secret))

    @property
    @abstractmethod
    def where(self) -> str:
        """The database, for messages and logs (never with a password)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    @abstractmethod
    def connections(self) -> PoolUsage:
        """What the store's connections are doing now (for metrics; never blocks)."""

    def ping(self) -> None:
        """The cheapest round trip to the database; StoreError when it cannot be made (the
        engine's retries included: a caller that must not wait bounds it)."""
        self._run(lambda db: db.execute("SELECT 1"), write=False)

    @abstractmethod
    def _run(self, work: Callable[[Session], T], *, write: bool) -> T:
        """Run ``work`` in one transaction and commit it. Database failures become
        ``StoreError``; an engine may run ``work`` again after a failure that left nothing
        committed, or whose outcome it cannot know, so ``work`` must be idempotent."""

    # --- answers --------------------------------------------------------------------------

    def voter(self, user_id: int | str) -> str:
        return hmac.new(self._secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]

    def record_answer(
        self, question: str, status: str, passage_ids: Sequence[str],
        conversation: str | None = None, taught: bool = False,
    ) -> str:
        """Remember an answer (``status``: "answered", "tentative" or "none")."""
        answer_id = uuid.uuid4().hex[:16]  # chosen here, so a retried insert is harmless
        row = (answer_id, question, conversation, int(status == "answered"), status,
               int(taught), json.dumps(list(passage_ids)), now())
        self._run(lambda db: db.execute(
            "INSERT INTO answers (id, question, conversation, answered, status, taught, "
            "passage_ids, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING", row), write=True)
        return answer_id

    def answer(self, answer_id: str) -> StoredAnswer | None:
        rows = self._run(lambda db: db.execute(
            "SELECT id, question, conversation, status, passage_ids, taught FROM answers "
            "WHERE id = %s", (answer_id,)), write=False)
        if not rows:
            return None
        r = rows[0]
        return StoredAnswer(r[0], r[1], r[2], str(r[3]), tuple(json.loads(r[4])), bool(r[5]))

    # --- votes ----------------------------------------------------------------------------

    def record_vote(self, answer_id: str, user_id: int | str, vote: int,
                    operator: bool = False) -> Vote:
        """One vote per person per answer; voting again replaces it. Returns once the
        vote is committed. ``operator``: the voter has Manage Server."""
        voter = self.voter(user_id)
        value = 1 if vote > 0 else -1

        def work(db: Session) -> Vote:
            found = db.execute("SELECT question, passage_ids FROM answers WHERE id = %s",
                               (answer_id,))
            if not found:
                raise StoreError("that answer is no longer known; ask the question again")
            question, passages = found[0]
            db.execute(
                "INSERT INTO votes (answer_id, voter, vote, question, passage_ids, created_at, "
                "operator) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (answer_id, voter) "
                "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at, "
                "operator = excluded.operator",
                (answer_id, voter, value, question, passages, now(), int(operator)))
            return Vote(answer_id, voter, value, question, tuple(json.loads(passages)),
                        operator)

        return self._run(work, write=True)

    def votes(self) -> list[Vote]:
        rows = self._run(lambda db: db.execute(
            "SELECT answer_id, voter, vote, question, passage_ids, operator FROM votes "
            "ORDER BY created_at, answer_id, voter"), write=False)
        return [Vote(r[0], r[1], int(r[2]), r[3], tuple(json.loads(r[4])), bool(r[5]))
                for r in rows]

    def tally(self, answer_id: str) -> Tally:
        rows = self._run(lambda db: db.execute(
            "SELECT COALESCE(SUM(CASE WHEN vote = 1 THEN 1 ELSE 0 END), 0), "
            "COALESCE(MAX(CASE WHEN vote = -1 AND operator = 1 THEN 1 ELSE 0 END), 0) "
            "FROM votes WHERE answer_id = %s", (answer_id,)), write=False)
        return Tally(int(rows[0][0]), bool(rows[0][1]))

    # --- taught answers -------------------------------------------------------------------

    def teach(self, taught: Taught) -> None:
        """Teach (or reteach) ``taught.question``: the newest teaching of a question wins."""
        passages = json.dumps([[p.passage_id, p.sha256] for p in taught.passages])
        self._run(lambda db: db.execute(
            "INSERT INTO taught (key, question, passages, source, created_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET "
            "question = excluded.question, passages = excluded.passages, "
            "source = excluded.source, created_at = excluded.created_at",
            (taught.key, taught.question, passages, taught.source,
             taught.created_at or now())), write=True)

    def forget(self, question: str) -> bool:
        """Forget a taught question; False when it was not taught."""
        def work(db: Session) -> bool:
            found = db.execute("SELECT 1 FROM taught WHERE key = %s", (question_key(question),))
            db.execute("DELETE FROM taught WHERE key = %s", (question_key(question),))
            return bool(found)

        return self._run(work, write=True)

    def taught(self) -> list[Taught]:
        rows = self._run(lambda db: db.execute(
            "SELECT question, passages, source, created_at FROM taught ORDER BY created_at, key"),
            write=False)
        return [Taught(q, tuple(TaughtPassage(i, h) for i, h in json.loads(p)), src, at)
                for q, p, src, at in rows]

    def taught_revision(self) -> str:
        """Changes whenever a question is taught or forgotten (to reload a taught set)."""
        rows = self._run(lambda db: db.execute(
            "SELECT COUNT(*), MAX(created_at) FROM taught"), write=False)
        return f"{rows[0][0]}:{rows[0][1]}"

    # --- conversations --------------------------------------------------------------------

    def start_conversation(self, conversation: str, answer_id: str) -> None:
        self._run(lambda db: db.execute(
            "INSERT INTO conversations (id, answer_id, created_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING", (conversation, answer_id, now())), write=True)

    def is_conversation(self, conversation: str) -> bool:
        return bool(self._run(lambda db: db.execute(
            "SELECT 1 FROM conversations WHERE id = %s", (conversation,)), write=False))

    def history(self, conversation: str, before: str | None = None) -> list[str]:
        """The questions of a conversation, oldest first: the one it started from, then
        those asked in it; with ``before`` (an answer id), only those asked before it."""
        rows = self._run(lambda db: db.execute(
            "SELECT question FROM ("
            " SELECT 0 AS part, 0 AS seq, a.question FROM conversations c"
            " JOIN answers a ON a.id = c.answer_id WHERE c.id = %s"
            " UNION ALL"
            " SELECT 1, seq, question FROM answers WHERE conversation = %s AND seq < "
            " COALESCE((SELECT seq FROM answers WHERE id = %s), %s)"
            ") AS asked ORDER BY part, seq",
            (conversation, conversation, before, NO_LIMIT)), write=False)
        return [r[0] for r in rows]

    # --- pacing gateway IDENTIFYs across processes -----------------------------------------

    # The engine's "now" as seconds since the epoch, and what locks a row to the transaction's
    # end ("" where the transaction holds the whole database, as SQLite's write does).
    _CLOCK_SQL: str
    _LOCK_ROW_SQL: str

    def reserve_identify(self, bucket: int, spacing: float) -> float:
        """Reserve the next IDENTIFY of rate limit ``bucket``, ``spacing`` seconds after the
        one reserved before it by any process sharing this database (or now, if that is
        later); the seconds until it, by the database's clock, so processes on hosts whose
        clocks differ still agree. Run again after a lost acknowledgement, it reserves a
        later slot: a wait too long, never too short."""
        def work(db: Session) -> float:
            db.execute("INSERT INTO identify_buckets (bucket, next_at) VALUES (%s, 0) "
                       "ON CONFLICT (bucket) DO NOTHING", (bucket,))
            next_at = float(db.execute(
                f"SELECT next_at FROM identify_buckets WHERE bucket = %s{self._LOCK_ROW_SQL}",
                (bucket,))[0][0])
            now = float(db.execute(f"SELECT {self._CLOCK_SQL}")[0][0])  # once locked
            slot = max(now, next_at)
            db.execute("UPDATE identify_buckets SET next_at = %s WHERE bucket = %s",
                       (slot + spacing, bucket))
            return slot - now

        return self._run(work, write=True)

    # --- the operator's report ------------------------------------------------------------

    def report(self, limit: int = 20) -> Report:
        def work(db: Session) -> Report:
            unanswered = db.execute(
                "SELECT MIN(question), COUNT(*) AS n FROM answers WHERE status = 'none' "
                "GROUP BY lower(trim(question, %s)) ORDER BY n DESC, MIN(created_at) "
                "LIMIT %s", (QUESTION_PUNCTUATION, limit))
            tentative = db.execute(
                "SELECT MIN(question), MIN(passage_ids), COUNT(*) AS n FROM answers "
                "WHERE status = 'tentative' GROUP BY lower(trim(question, %s)) "
                "ORDER BY n DESC, MIN(created_at) LIMIT %s", (QUESTION_PUNCTUATION, limit))
            downvoted = db.execute(
                "SELECT question, passage_ids, COUNT(*) AS n FROM votes WHERE vote = -1 "
                "GROUP BY question, passage_ids ORDER BY n DESC, MIN(created_at) LIMIT %s",
                (limit,))
            return Report([(q, int(n)) for q, n in unanswered],
                          [(q, tuple(json.loads(p)), int(n)) for q, p, n in tentative],
                          [(q, tuple(json.loads(p)), int(n)) for q, p, n in downvoted])

        return self._run(work, write=False)
