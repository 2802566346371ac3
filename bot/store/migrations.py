"""The schema, as numbered migrations that both engines apply in order.

Each engine runs ``migrate`` on start inside one transaction that holds its engine's lock
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: ``pg_advisory_xact_lock``), so processes that
start together apply each migration exactly once and none sees a half-made schema.
``schema_migrations`` records what was applied.

Adding a table: append a ``Migration`` with the next number (``portable(...)`` when the
SQL is the same on both engines, which plain ``CREATE TABLE``/``CREATE INDEX`` is), then
add the methods that use it to ``Store``. Never edit a migration that has shipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from bot.store.records import StoreError

Dialect = Literal["sqlite", "postgres"]


class Session(Protocol):
    """One transaction's worth of database access; SQL uses ``%s`` placeholders."""

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; the rows it returns (none for writes)."""
        ...


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgres


def portable(version: int, name: str, *statements: str) -> Migration:
    return Migration(version, name, statements, statements)


MIGRATIONS: tuple[Migration, ...] = (
    # The schema the bot had before migrations, with IF NOT EXISTS so that a SQLite file
    # made by an earlier version is adopted as it is. Times are ISO-8601 UTC text and lists
    # JSON text on both engines, so the schema and its orderings are the same everywhere.
    portable(
        1, "answers, votes, conversations",
        """CREATE TABLE IF NOT EXISTS answers (
            id TEXT PRIMARY KEY,
            question TEXT NOT NULL,
            conversation TEXT,
            answered INTEGER NOT NULL,
            passage_ids TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS answers_conversation ON answers (conversation, created_at)",
        """CREATE TABLE IF NOT EXISTS votes (
            answer_id TEXT NOT NULL REFERENCES answers (id),
            voter TEXT NOT NULL,
            vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            question TEXT NOT NULL,
            passage_ids TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (answer_id, voter)
        )""",
        """CREATE TABLE IF NOT EXISTS conversations (
            id TEXT PRIMARY KEY,
            answer_id TEXT NOT NULL REFERENCES answers (id),
            created_at TEXT NOT NULL
        )""",
    ),
    # Conversation history is read in insertion order (timestamps can tie). SQLite used to
    # rely on its implicit rowid, which PostgreSQL has not: both now keep an explicit
    # ``seq``, filled by the database (an identity column; a trigger copying the rowid).
    Migration(
        2, "answers.seq: insertion order",
        sqlite=(
            "ALTER TABLE answers ADD COLUMN seq INTEGER",
            "UPDATE answers SET seq = rowid",
            """CREATE TRIGGER answers_seq AFTER INSERT ON answers
               FOR EACH ROW WHEN NEW.seq IS NULL
               BEGIN UPDATE answers SET seq = NEW.rowid WHERE rowid = NEW.rowid; END""",
            "DROP INDEX answers_conversation",
            "CREATE INDEX answers_thread ON answers (conversation, seq)",
        ),
        postgres=(
            "ALTER TABLE answers ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY",
            "DROP INDEX answers_conversation",
            "CREATE INDEX answers_thread ON answers (conversation, seq)",
        ),
    ),
    # Three outcomes (answered / tentative / none) instead of answered or not; answers given
    # from a taught answer; votes by operators (Manage Server), whose 👎 unteaches; and the
    # taught answers themselves, a question's key → the passages (with their text's hash).
    portable(
        3, "outcomes, taught answers, operators' votes",
        "ALTER TABLE answers ADD COLUMN status TEXT",
        "UPDATE answers SET status = CASE WHEN answered = 1 THEN 'answered' ELSE 'none' END",
        "ALTER TABLE answers ADD COLUMN taught INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE votes ADD COLUMN operator INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE taught (
            key TEXT PRIMARY KEY,
            question TEXT NOT NULL,
            passages TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    ),
    # Gateway IDENTIFYs paced across every process that shares the database: for each rate
    # limit bucket (shard_id % max_concurrency), the earliest time its next IDENTIFY may be
    # sent, in seconds since the epoch by the database's clock (Store.reserve_identify).
    portable(
        4, "identify pacing",
        """CREATE TABLE identify_buckets (
            bucket INTEGER PRIMARY KEY,
            next_at DOUBLE PRECISION NOT NULL
        )""",
    ),
)

LATEST = MIGRATIONS[-1].version

_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


def migrate(session: Session, dialect: Dialect,
            migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the migrations not yet recorded, in order; the versions applied. The caller
    holds its engine's migration lock and commits (or rolls back) the whole run."""
    session.execute(_LEDGER)
    applied = {int(row[0]) for row in session.execute(
        "SELECT version FROM schema_migrations")}
    known = {m.version for m in migrations}
    if applied - known:
        raise StoreError(
            f"the database has schema version {max(applied)}, newer than this bot knows "
            f"({max(known)}): upgrade the bot, or point BOT_DATABASE_URL at another database")
    done = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version in applied:
            continue
        for statement in migration.statements(dialect):
            session.execute(statement)
        session.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
            (migration.version, migration.name, now()))
        done.append(migration.version)
    return done


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
