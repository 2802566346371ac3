"""The store on both engines: SQLite (a file in tmp_path) and a real PostgreSQL server (the
`postgres` fixture). Votes, conversations, the operator's report, migrations, and what
happens when writers compete, die, or lose their database."""

from __future__ import annotations

import itertools
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from bot.config import PROJECT_ROOT
from bot.store import Store, StoreError
from bot.store.migrations import LATEST, MIGRATIONS, migrate
from bot.store.postgres import PostgresStore
from bot.store.postgres import _Session as _PostgresSession
from bot.store.sqlite import SQLiteStore
from bot.store.sqlite import _Session as _SQLiteSession
from tests.pgserver import PgServer


@dataclass
class Engine:
    """One empty database on one engine: a SQLite file, or a PostgreSQL database's URL."""

    name: str
    target: str

    def open(self, secret: bytes = b"k", busy_timeout: float = 5.0,
             retry_seconds: float = 10.0) -> Store:
        if self.name == "sqlite":
            return SQLiteStore(Path(self.target), secret, busy_timeout)
        return PostgresStore(self.target, secret, busy_timeout=busy_timeout,
                             retry_seconds=retry_seconds)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Read the database directly, as an operator would, not through the store."""
        if self.name == "sqlite":
            return sqlite3.connect(self.target).execute(sql).fetchall()
        with psycopg.connect(self.target) as conn:
            return conn.execute(sql).fetchall()

    def migrate_to(self, version: int) -> None:
        """The schema an older bot left: migrations up to ``version`` only."""
        older = tuple(m for m in MIGRATIONS if m.version <= version)
        if self.name == "sqlite":
            with sqlite3.connect(self.target) as db:
                migrate(_SQLiteSession(db), "sqlite", older)
        else:
            with psycopg.connect(self.target) as conn:
                migrate(_PostgresSession(conn), "postgres", older)

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Another connection holds the lock a vote needs, until the block ends."""
        if self.name == "sqlite":
            blocker = sqlite3.connect(self.target, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
        else:
            with psycopg.connect(self.target) as conn:
                conn.execute("LOCK TABLE votes IN EXCLUSIVE MODE")
                yield
                conn.rollback()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return Engine("sqlite", str(tmp_path / "bot.sqlite3"))
    server: PgServer = request.getfixturevalue("postgres")
    return Engine("postgres", server.database())


@pytest.fixture()
def store(engine: Engine) -> Iterator[Store]:
    opened = engine.open()
    yield opened
    opened.close()


# --- behaviour, the same on both engines ----------------------------------------------------


def test_votes_are_per_person_and_keyed(store: Store, engine: Engine) -> None:
    alice, bob = 718293004115622913, 718293004115622914  # Discord user ids
    answer = store.record_answer("Who built TikTok?", "answered", ["doc:abc"])
    store.record_vote(answer, alice, 1)
    store.record_vote(answer, alice, -1)
    store.record_vote(answer, bob, -1)
    votes = store.votes()
    assert [v.vote for v in votes] == [-1, -1] and {v.passage_ids for v in votes} == {("doc:abc",)}
    assert all(len(v.voter) == 32 for v in votes)
    assert "71829300411562291" not in str(engine.query("SELECT * FROM votes"))  # not at rest
    other_key = engine.open(b"another secret")
    assert other_key.voter(alice) != store.voter(alice)
    other_key.close()


def test_vote_on_unknown_answer(store: Store) -> None:
    with pytest.raises(StoreError, match="no longer known"):
        store.record_vote("0" * 16, 1, 1)
    assert store.votes() == []


def test_answers_outlive_the_process_that_gave_them(store: Store, engine: Engine) -> None:
    answer = store.record_answer("What is Lasso?", "answered", ["a", "b"], "thread-9")
    store.start_conversation("thread-9", answer)
    later = engine.open()  # another process, or this one after a restart
    stored = later.answer(answer)
    assert stored is not None and stored.question == "What is Lasso?"
    assert stored.passage_ids == ("a", "b") and stored.answered
    assert stored.conversation == "thread-9"
    assert later.is_conversation("thread-9") and later.answer("f" * 16) is None
    later.record_vote(answer, 5, -1)
    assert [v.vote for v in store.votes()] == [-1]
    later.close()


def test_conversation_history_in_order(store: Store) -> None:
    first = store.record_answer("How much revenue did TikTok make?", "answered", ["a"])
    store.start_conversation("thread-1", first)
    store.start_conversation("thread-1", first)  # a retried start is harmless
    store.record_answer("and how much of it came from China?", "answered", ["a"], "thread-1")
    store.record_answer("Is it profitable?", "answered", ["b"], "thread-1")
    assert store.is_conversation("thread-1") and not store.is_conversation("thread-2")
    assert store.history("thread-1") == ["How much revenue did TikTok make?",
                                         "and how much of it came from China?",
                                         "Is it profitable?"]
    assert store.history("thread-2") == []


def test_history_before_an_answer_even_when_a_question_repeats(store: Store) -> None:
    first = store.record_answer("How much revenue did TikTok make?", "answered", ["a"])
    store.start_conversation("t", first)
    store.record_answer("Is it profitable?", "answered", ["b"], "t")
    repeat = store.record_answer("Is it profitable?", "answered", ["b"], "t")
    assert store.history("t", before=repeat) == ["How much revenue did TikTok make?",
                                                 "Is it profitable?"]
    assert len(store.history("t")) == 3


def test_report_puts_the_most_frequent_first(store: Store) -> None:
    asked = ["Who is the CEO?", "What is the weather?", "who is the CEO", "Who is the CEO?"]
    for question in asked:
        store.record_answer(question, "none", [])
    answer = store.record_answer("What is Lasso?", "answered", ["x", "y"])
    store.record_vote(answer, 1, -1)
    store.record_vote(answer, 2, -1)
    store.record_vote(answer, 3, 1)
    report = store.report()
    assert report.unanswered[0][1] == 3 and report.unanswered[1] == ("What is the weather?", 1)
    assert report.downvoted == [("What is Lasso?", ("x", "y"), 2)]
    assert store.report(limit=1).unanswered == [report.unanswered[0]]


def test_locked_database_is_reported_not_lost(engine: Engine) -> None:
    store = engine.open(busy_timeout=0.2, retry_seconds=0.5)
    answer = store.record_answer("q", "answered", ["p"])
    with engine.writer_lock(), pytest.raises(StoreError, match="could not save"):
        store.record_vote(answer, 7, 1)
    store.record_vote(answer, 7, 1)  # once free, the same vote goes through
    assert [v.vote for v in store.votes()] == [1]
    store.close()


# --- migrations -----------------------------------------------------------------------------


def test_migrations_are_recorded_and_run_once(engine: Engine) -> None:
    engine.open().close()
    engine.open().close()  # a second start applies nothing again
    rows = engine.query("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [(m.version, m.name) for m in MIGRATIONS]


def test_a_database_newer_than_the_bot_is_refused(engine: Engine) -> None:
    store = engine.open()
    store.record_answer("kept", "answered", [])
    store.close()
    if engine.name == "sqlite":
        with sqlite3.connect(engine.target) as db:
            db.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', '')",
                       (LATEST + 1,))
    else:
        with psycopg.connect(engine.target) as conn:
            conn.execute("INSERT INTO schema_migrations VALUES (%s, 'from the future', '')",
                         (LATEST + 1,))
    with pytest.raises(StoreError, match=f"schema version {LATEST + 1}, newer"):
        engine.open()
    assert engine.query("SELECT question FROM answers") == [("kept",)]


OPEN = """
import sys
from pathlib import Path
from bot.store import StoreError

def open_store(engine, target, **options):
    if engine == "sqlite":
        from bot.store.sqlite import SQLiteStore
        return SQLiteStore(Path(target), b"k", **options)
    from bot.store.postgres import PostgresStore
    return PostgresStore(target, b"k", **options)
"""

START = OPEN + """
print("ready", flush=True)
sys.stdin.readline()  # all start at once
open_store(sys.argv[1], sys.argv[2]).close()
print("started", flush=True)
"""


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=PROJECT_ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("behind", [LATEST, 1], ids=["new", "upgrade"])
def test_processes_starting_together_migrate_once(engine: Engine, behind: int) -> None:
    """On an empty database, and on one an older bot left ``behind`` migrations behind."""
    if behind < LATEST:
        engine.migrate_to(LATEST - behind)
    children = [spawn(START, engine.name, engine.target) for _ in range(3)]
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
    for child in children:  # as close together as the OS schedules them
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=60) for child in children]
    assert [out for out, _ in results] == ["started\n"] * 3, [err for _, err in results]
    assert engine.query("SELECT version FROM schema_migrations ORDER BY version") == [
        (m.version,) for m in MIGRATIONS]


VOTER = OPEN + """
store = open_store(sys.argv[1], sys.argv[2])
answer, first, last, vote = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
print("ready", flush=True)
sys.stdin.readline()
for user in list(range(first, last)) + list(range(1000, 1050)):  # 1000-1049: both vote
    store.record_vote(answer, user, vote)
    print(user, flush=True)  # acknowledged: the vote is committed
"""


def test_concurrent_writers_in_two_processes_lose_no_vote(engine: Engine) -> None:
    store = engine.open()
    answer = store.record_answer("q", "answered", ["p"])
    children = [spawn(VOTER, engine.name, engine.target, answer, "0", "150", "1"),
                spawn(VOTER, engine.name, engine.target, answer, "150", "300", "-1")]
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=120) for child in children]
    assert all(child.returncode == 0 for child in children), [err for _, err in results]
    acknowledged = {int(line) for out, _ in results for line in out.split()}
    assert acknowledged == set(range(300)) | set(range(1000, 1050))
    votes = {v.voter: v.vote for v in store.votes()}
    assert set(votes) == {store.voter(u) for u in acknowledged}
    assert {votes[store.voter(u)] for u in range(150)} == {1}
    assert {votes[store.voter(u)] for u in range(150, 300)} == {-1}
    store.close()


WRITER = OPEN + """
store = open_store(sys.argv[1], sys.argv[2])
answer = store.record_answer("q", "answered", ["p"])
print(answer, flush=True)
for user in range(10**6):
    store.record_vote(answer, user, 1)
    print(user, flush=True)  # acknowledged: the vote is committed
"""


def test_killed_writer_loses_no_acknowledged_vote(engine: Engine) -> None:
    child = spawn(WRITER, engine.name, engine.target)
    assert child.stdout is not None
    child.stdout.readline()  # the answer id
    acknowledged = [int(child.stdout.readline()) for _ in range(300)]
    child.send_signal(signal.SIGKILL)  # mid-write, most likely
    child.communicate()
    if engine.name == "sqlite":
        assert engine.query("PRAGMA integrity_check") == [("ok",)]
    store = engine.open()
    stored = {v.voter for v in store.votes()}
    assert {store.voter(u) for u in acknowledged} <= stored
    store.close()


def test_identify_turns_are_shared_by_every_store_on_the_database(engine: Engine) -> None:
    """Two stores (two processes) on one database: one rate limit bucket's IDENTIFYs are
    reserved ``spacing`` apart whichever store asks, by the database's clock; another
    bucket is not held up."""
    first, second = engine.open(), engine.open()
    try:
        waits = [first.reserve_identify(0, 5.0), second.reserve_identify(0, 5.0),
                 first.reserve_identify(0, 5.0), second.reserve_identify(1, 5.0)]
    finally:
        first.close()
        second.close()
    assert waits[0] == 0 and waits[3] == 0  # the first of each bucket: now
    assert 4.0 < waits[1] <= 5.0 and 9.0 < waits[2] <= 10.0  # (less the time asking took)


def test_identify_turns_asked_for_at_once_are_each_spaced(engine: Engine) -> None:
    """Eight reservations of one bucket at the same moment from four stores (connections)
    get eight distinct turns, 5 s apart: the row is locked while each is reserved."""
    stores = [engine.open() for _ in range(4)]
    try:
        with ThreadPoolExecutor(8) as pool:
            waits = list(pool.map(lambda i: stores[i % 4].reserve_identify(7, 5.0), range(8)))
    finally:
        for store in stores:
            store.close()
    # All were asked within a second or two, so each turn is its rank times 5 s, less that.
    assert [round(w / 5.0) for w in sorted(waits)] == list(range(8)), waits


# --- SQLite only --------------------------------------------------------------------------


def test_sqlite_wal_mode_and_private_key(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    assert isinstance(store, SQLiteStore)
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert (tmp_path / "voter.key").stat().st_mode & 0o077 == 0
    store.close()



def test_a_data_folder_that_is_a_file_or_a_key_that_is_a_folder_is_one_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "afile").write_text("kept")
    with pytest.raises(StoreError, match=r"the data folder .*afile is a file"):
        Store.open(tmp_path / "afile")
    assert (tmp_path / "afile").read_text() == "kept"
    (tmp_path / "data" / "voter.key").mkdir(parents=True)
    with pytest.raises(StoreError, match=r"cannot keep the voter key .*voter\.key: Is a dir"):
        Store.open(tmp_path / "data")

def test_sqlite_full_disk_is_reported_and_nothing_stored_is_lost(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3", b"k")
    answer = store.record_answer("q", "answered", ["p"])
    store.record_vote(answer, 1, 1)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
    with pytest.raises(StoreError, match="full"):
        for user in range(2, 5000):
            store.record_answer("x" * 2000, "answered", ["p" * 500])
            store.record_vote(answer, user, -1)
    assert store.voter(1) in {v.voter for v in store.votes()}
    assert sqlite3.connect(tmp_path / "db.sqlite3").execute(
        "PRAGMA integrity_check").fetchone()[0] == "ok"


LEGACY_SCHEMA = """
CREATE TABLE answers (id TEXT PRIMARY KEY, question TEXT NOT NULL, conversation TEXT,
    answered INTEGER NOT NULL, passage_ids TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX answers_conversation ON answers (conversation, created_at);
CREATE TABLE votes (answer_id TEXT NOT NULL REFERENCES answers (id), voter TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), question TEXT NOT NULL,
    passage_ids TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (answer_id, voter));
CREATE TABLE conversations (id TEXT PRIMARY KEY, answer_id TEXT NOT NULL REFERENCES answers (id),
    created_at TEXT NOT NULL);
INSERT INTO answers VALUES ('a1', 'What is Lasso?', NULL, 1, '["p"]', '2026-01-01T00:00Z');
INSERT INTO answers VALUES ('a2', 'Who made it?', 't', 1, '["p"]', '2026-01-01T00:00Z');
INSERT INTO answers VALUES ('a3', 'When?', 't', 0, '[]', '2026-01-01T00:00Z');
INSERT INTO conversations VALUES ('t', 'a1', '2026-01-01T00:00Z');
INSERT INTO votes VALUES ('a1', 'v', -1, 'What is Lasso?', '["p"]', '2026-01-01T00:00Z');
"""


def test_sqlite_file_from_before_migrations_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    sqlite3.connect(path).executescript(LEGACY_SCHEMA)
    store = SQLiteStore(path, b"k")
    assert store.history("t") == ["What is Lasso?", "Who made it?", "When?"]
    later = store.record_answer("Is it profitable?", "answered", [], "t")
    assert store.history("t", before=later) == ["What is Lasso?", "Who made it?", "When?"]
    assert store.history("t")[-1] == "Is it profitable?"
    assert [v.voter for v in store.votes()] == ["v"]
    store.close()



def test_sqlite_rollback_journal_file_opened_while_another_writes(tmp_path: Path) -> None:
    """A file in rollback-journal mode (the sqlite3 shell's default) being written by another
    connection: SQLite refuses the switch to WAL at once rather than wait, so the store waits
    for the writer, within its busy timeout; past it, the refusal is one StoreError."""
    path = tmp_path / "bot.sqlite3"
    sqlite3.connect(path).executescript(LEGACY_SCHEMA)
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO answers VALUES ('a4', 'Later?', NULL, 1, '[]', '2026-01-02')")
    with pytest.raises(StoreError, match=r"could not open .*locked"):
        SQLiteStore(path, b"k", busy_timeout=0.3)

    def commit_later() -> None:
        time.sleep(0.5)
        writer.execute("COMMIT")

    with ThreadPoolExecutor(1) as pool:
        commit = pool.submit(commit_later)
        store = SQLiteStore(path, b"k", busy_timeout=5.0)
        assert commit.done(), "the store opened while the other writer still held the file"
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [q for (q,) in sqlite3.connect(path).execute(
        "SELECT question FROM answers ORDER BY id")][-1] == "Later?"
    store.close()

# --- PostgreSQL only ----------------------------------------------------------------------


FOREVER = OPEN + """
import time
store = open_store(sys.argv[1], sys.argv[2], retry_seconds=30)
answer = store.record_answer("q", "answered", ["p"])
print(answer, flush=True)
for user in range(10**6):
    try:
        store.record_vote(answer, user, 1)
        print("ok", user, time.monotonic(), flush=True)
    except StoreError as err:
        print("reported", user, err, flush=True)
"""


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_mid_run_loses_no_vote(postgres: PgServer, mode: str) -> None:
    """The server is stopped (cleanly, or as in a crash) and started again while a writer
    votes as fast as it can: every vote is acknowledged after a retry, none is dropped."""
    import threading
    import time

    url = postgres.database()
    child = spawn(FOREVER, "postgres", url)
    out = child.stdout
    assert out is not None
    answer = out.readline().strip()
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(out.readline, "")), daemon=True)
    reader.start()

    def acknowledged() -> int:
        return sum(line.startswith("ok ") for line in list(lines))

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 60
        while acknowledged() < count:
            assert time.monotonic() < deadline and child.poll() is None, lines[-3:]
            time.sleep(0.01)

    try:
        wait_for(50)
        postgres.stop(mode)  # while votes are being written
        before = acknowledged()
        time.sleep(0.5)
        postgres.start()
        wait_for(before + 50)  # the writer carried on after the restart
    finally:
        postgres.start()
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join(5)
    assert [line for line in lines if line.startswith("reported")] == []
    ok = [int(line.split()[1]) for line in lines if line.startswith("ok ")]
    assert ok == list(range(len(ok)))  # no vote skipped: each was held until it landed
    times = [float(line.split()[2]) for line in lines if line.startswith("ok ")]
    # One vote waited out the outage (at least the 0.5 s the server was down), then landed.
    assert max(b - a for a, b in itertools.pairwise(times)) >= 0.5
    store = PostgresStore(url, b"k")
    stored = {v.voter for v in store.votes() if v.answer_id == answer}
    assert {store.voter(u) for u in ok} <= stored
    store.close()


def test_postgres_down_longer_than_the_retry_window_is_reported(postgres: PgServer) -> None:
    store = PostgresStore(postgres.database(), b"k", retry_seconds=1)
    answer = store.record_answer("q", "answered", ["p"])
    postgres.stop()
    try:
        with pytest.raises(StoreError, match=r"could not save to the database \(the server "
                           r"did not answer for 1 s\); try again") as caught:
            store.record_vote(answer, 1, 1)
        assert postgres.socket_dir is None or str(postgres.socket_dir) not in str(caught.value)
    finally:
        postgres.start()
    store.retry_seconds = 30
    store.record_vote(answer, 1, 1)  # the pool reconnects once the server is back
    assert [v.vote for v in store.votes()] == [1]
    store.close()


def test_postgres_unreachable_at_start_is_one_line(tmp_path: Path) -> None:
    missing = f"postgresql://bot:secret@/bot?host={tmp_path}"  # no server on that socket
    with pytest.raises(StoreError) as caught:
        PostgresStore(missing, b"k")
    message = str(caught.value)
    assert message.startswith(f"could not connect to postgresql://bot@{tmp_path}")
    assert "\n" not in message and "secret" not in message


def test_report_command_reads_the_shared_database(postgres: PgServer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    url = postgres.database()
    store = PostgresStore(url, b"shared secret")  # another process, on another host
    store.record_answer("What is the weather?", "none", [])
    answer = store.record_answer("What is Lasso?", "answered", ["doc:lasso"])
    store.record_vote(answer, 1, -1)
    store.close()
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    monkeypatch.setenv("BOT_FEEDBACK_SECRET", "shared secret")
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 0, result.output
    assert "1  What is the weather?" in result.stdout
    assert "1  What is Lasso?  [doc:lasso]" in result.stdout
