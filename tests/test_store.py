"""The SQLite store: votes, conversations, the operator's report."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.store import Store, StoreError


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path)


def test_wal_mode_and_private_key(store: Store, tmp_path: Path) -> None:
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert (tmp_path / "voter.key").stat().st_mode & 0o077 == 0


def test_votes_are_per_person_and_keyed(store: Store, tmp_path: Path) -> None:
    answer = store.record_answer("Who built TikTok?", True, ["doc:abc"])
    store.record_vote(answer, 42, 1)
    store.record_vote(answer, 42, -1)
    store.record_vote(answer, 43, -1)
    votes = store.votes()
    assert [v.vote for v in votes] == [-1, -1] and {v.passage_ids for v in votes} == {("doc:abc",)}
    assert all(v.voter != "42" and len(v.voter) == 32 for v in votes)
    other_key = Store(tmp_path / "other.sqlite3", b"another secret")
    assert other_key.voter(42) != store.voter(42)


def test_vote_on_unknown_answer(store: Store) -> None:
    with pytest.raises(StoreError, match="no longer known"):
        store.record_vote("0" * 16, 1, 1)


def test_conversation_history_in_order(store: Store) -> None:
    first = store.record_answer("How much revenue did TikTok make?", True, ["a"])
    store.start_conversation("thread-1", first)
    store.record_answer("and how much of it came from China?", True, ["a"], "thread-1")
    store.record_answer("Is it profitable?", True, ["b"], "thread-1")
    assert store.is_conversation("thread-1") and not store.is_conversation("thread-2")
    assert store.history("thread-1") == ["How much revenue did TikTok make?",
                                         "and how much of it came from China?",
                                         "Is it profitable?"]


def test_report_puts_the_most_frequent_first(store: Store) -> None:
    asked = ["Who is the CEO?", "What is the weather?", "who is the CEO", "Who is the CEO?"]
    for question in asked:
        store.record_answer(question, False, [])
    answer = store.record_answer("What is Lasso?", True, ["x", "y"])
    store.record_vote(answer, 1, -1)
    store.record_vote(answer, 2, -1)
    report = store.report()
    assert report.unanswered[0][1] == 3 and report.unanswered[1] == ("What is the weather?", 1)
    assert report.downvoted == [("What is Lasso?", ("x", "y"), 2)]


def test_locked_database_is_reported_not_lost(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", b"k", busy_timeout=0.2)
    answer = store.record_answer("q", True, ["p"])
    blocker = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    with pytest.raises(StoreError, match="could not save"):
        store.record_vote(answer, 7, 1)
    blocker.execute("ROLLBACK")
    store.record_vote(answer, 7, 1)  # once free, the same vote goes through
    assert [v.vote for v in store.votes()] == [1]


WRITER = """
import sys
from pathlib import Path
from bot.store import Store
store = Store(Path(sys.argv[1]), b"k")
answer = store.record_answer("q", True, ["p"])
print(answer, flush=True)
for user in range(10**6):
    store.record_vote(answer, user, 1)
    print(user, flush=True)  # acknowledged: the vote is committed
"""


def test_killed_writer_loses_no_acknowledged_vote(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from bot.config import PROJECT_ROOT

    path = tmp_path / "db.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=PROJECT_ROOT,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    child.stdout.readline()  # the answer id
    acknowledged = [int(child.stdout.readline()) for _ in range(300)]
    child.send_signal(signal.SIGKILL)  # mid-write, most likely
    child.wait()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = Store(path, b"k")
    stored = {v.voter for v in store.votes()}
    assert {store.voter(u) for u in acknowledged} <= stored


def test_full_disk_is_reported_and_nothing_stored_is_lost(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", b"k")
    answer = store.record_answer("q", True, ["p"])
    store.record_vote(answer, 1, 1)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
    with pytest.raises(StoreError, match="full"):
        for user in range(2, 5000):
            store.record_answer("x" * 2000, True, ["p" * 500])
            store.record_vote(answer, user, -1)
    assert store.voter(1) in {v.voter for v in store.votes()}
    assert sqlite3.connect(tmp_path / "db.sqlite3").execute(
        "PRAGMA integrity_check").fetchone()[0] == "ok"


def test_history_before_an_answer_even_when_a_question_repeats(store: Store) -> None:
    first = store.record_answer("How much revenue did TikTok make?", True, ["a"])
    store.start_conversation("t", first)
    store.record_answer("Is it profitable?", True, ["b"], "t")
    repeat = store.record_answer("Is it profitable?", True, ["b"], "t")
    assert store.history("t", before=repeat) == ["How much revenue did TikTok make?",
                                                 "Is it profitable?"]
    assert len(store.history("t")) == 3
