"""The embedded engine: one SQLite file in WAL mode, nothing to run.

One connection per process, used under a lock; writers in other processes wait up to the
busy timeout for the file's write lock (``BEGIN IMMEDIATE``), then the write is reported
as ``StoreError``, never dropped. A committed write survives the process being killed."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.store.base import Store
from bot.store.migrations import Session, migrate
from bot.store.records import PoolUsage, StoreError

T = TypeVar("T")


class _Session:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        # The shared SQL uses %s placeholders (psycopg's); it holds no literal "%".
        return self._db.execute(sql.replace("%s", "?"), params).fetchall()


class SQLiteStore(Store):
    # julianday('now'): the host's clock, to the millisecond; a write holds the whole file.
    _CLOCK_SQL = "(julianday('now') - 2440587.5) * 86400.0"
    _LOCK_ROW_SQL = ""

    def __init__(self, path: Path, secret: bytes, busy_timeout: float = 5.0) -> None:
        super().__init__(secret)
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False,
                                       isolation_level=None)
            _use_wal(self._db, busy_timeout)
            self._db.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"could not open {path}: {err}") from None
        self._run(lambda db: migrate(db, "sqlite"), write=True)

    @property
    def where(self) -> str:
        return str(self.path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def connections(self) -> PoolUsage:
        """One connection, in use while a transaction holds its lock; callers waiting on
        the lock are not counted (Python's lock does not say)."""
        return PoolUsage(max_size=1, size=1, in_use=int(self._lock.locked()))

    def _run(self, work: Callable[[Session], T], *, write: bool) -> T:
        with self._lock:
            try:
                # IMMEDIATE takes the write lock up front (waiting up to the busy timeout),
                # so a write never fails half-way on a lock another process holds.
                self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                result = work(_Session(self._db))
                self._db.execute("COMMIT")
                return result
            except sqlite3.Error as err:
                self._rollback()
                verb = "save to" if write else "read"
                raise StoreError(f"could not {verb} {self.path.name}: {err}") from None
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")


def _use_wal(db: sqlite3.Connection, busy_timeout: float) -> None:
    """Put the file in WAL mode (a no-op once it is), waiting out other writers.

    Switching a rollback-journal file (one made by an older bot or the sqlite3 shell)
    needs its write lock, and SQLite answers "database is locked" at once, without its
    busy handler, when another connection holds that lock: waiting inside the handler
    could deadlock. So the wait is here, for as long as the busy timeout allows."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if err.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)
