"""The server engine: PostgreSQL through psycopg 3 and a connection pool, shared by every
bot process on every host.

A connection lost to a server restart or failover is replaced by the pool; the transaction
that met it is run again until ``retry_seconds`` have passed, then reported as
``StoreError``. Every write is idempotent (ids are chosen before the first attempt, votes
are upserts), so running one again after a commit whose acknowledgement was lost stores it
once. Nothing is dropped silently: a write returns only once committed, or raises."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from bot.store.base import Store
from bot.store.migrations import Session, migrate
from bot.store.records import PoolUsage, StoreError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_xact_lock key for migrations: one per database, held to commit.
MIGRATION_LOCK = 0x61727469636C65  # "article"
CONNECT_TIMEOUT = 5  # seconds, unless the URL says otherwise


class _Session:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = self._conn.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []


class PostgresStore(Store):
    # The server's clock (clock_timestamp: the time now, not the transaction's start), the
    # one clock every process on every host shares; FOR UPDATE holds the row to commit.
    _CLOCK_SQL = "extract(epoch FROM clock_timestamp())::float8"
    _LOCK_ROW_SQL = " FOR UPDATE"

    def __init__(self, url: str, secret: bytes, *, pool_size: int = 5,
                 busy_timeout: float = 5.0, retry_seconds: float = 10.0) -> None:
        super().__init__(secret)
        self._where = describe_url(url)
        self.retry_seconds = retry_seconds
        options: dict[str, Any] = {"application_name": "article-bot"}
        if "connect_timeout" not in conninfo_to_dict(url):
            options["connect_timeout"] = CONNECT_TIMEOUT
        lock_ms = str(max(1, round(busy_timeout * 1000)))

        def configure(conn: psycopg.Connection[Any]) -> None:
            # A write waiting on another's row or table lock gives up like SQLite's busy
            # timeout does, and is retried or reported.
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (lock_ms,))
            conn.commit()

        self._migrate(url, options, configure)
        self._pool = ConnectionPool(
            url, kwargs=options, min_size=1, max_size=pool_size, configure=configure,
            check=ConnectionPool.check_connection, open=False, name="article-bot")
        try:
            self._pool.open(wait=True, timeout=max(retry_seconds, CONNECT_TIMEOUT))
        except psycopg.OperationalError as err:
            raise StoreError(f"could not connect to {self._where}: {_first_line(err)}") from None

    @property
    def where(self) -> str:
        return self._where

    def close(self) -> None:
        self._pool.close()

    def connections(self) -> PoolUsage:
        stats = self._pool.get_stats()  # psycopg_pool's counters: a snapshot, no I/O
        size = int(stats.get("pool_size", 0))
        return PoolUsage(max_size=self._pool.max_size, size=size,
                         in_use=max(0, size - int(stats.get("pool_available", 0))),
                         waiting=int(stats.get("requests_waiting", 0)))

    def _migrate(self, url: str, options: dict[str, Any],
                 configure: Callable[[psycopg.Connection[Any]], None]) -> None:
        """Bring the schema up to date, one process at a time, on a connection of its own."""
        try:
            with psycopg.connect(url, **options) as conn:
                configure(conn)
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                    applied = migrate(_Session(conn), "postgres")
        except psycopg.Error as err:
            raise StoreError(f"could not connect to {self._where}: {_first_line(err)}") from None
        if applied:
            logger.info("%s: applied schema migrations %s", self._where, applied)

    def _run(self, work: Callable[[Session], T], *, write: bool) -> T:
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.05
        while True:
            try:
                left = max(0.1, deadline - time.monotonic())
                with self._pool.connection(timeout=left) as conn, conn.transaction():
                    return work(_Session(conn))
            except psycopg.OperationalError as err:
                # The server went away, restarted, timed out a lock or serialisation, or
                # the pool has no connection yet: nothing was committed, or the outcome
                # is unknown and running the (idempotent) work again is safe.
                if time.monotonic() + delay >= deadline:
                    raise self._failed(err, write) from None
                logger.warning("%s: %s; retrying", self._where, _first_line(err))
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except psycopg.Error as err:
                raise self._failed(err, write) from None

    def _failed(self, err: psycopg.Error, write: bool) -> StoreError:
        """The error for the user (a Discord voter, say): what failed, not where the server
        is; the details go to the log."""
        logger.error("%s: gave up: %s", self._where, _first_line(err))
        if isinstance(err, psycopg.errors.LockNotAvailable):
            reason = "another writer held a lock too long"
        elif isinstance(err, psycopg.OperationalError):
            reason = f"the server did not answer for {self.retry_seconds:g} s"
        else:
            reason = f"the server refused it: {err.sqlstate or type(err).__name__}"
        verb = "save to" if write else "read from"
        return StoreError(f"could not {verb} the database ({reason}); try again in a moment")


def describe_url(url: str) -> str:
    """``postgresql://user@host:port/db`` without the password, for messages and logs."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "PostgreSQL (unparsable BOT_DATABASE_URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or "localhost")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
