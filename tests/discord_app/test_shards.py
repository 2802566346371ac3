"""Shards: a slice of them (DISCORD_SHARD_IDS), started as fast as Discord's max_concurrency
allows, taking turns with other processes through the shared database, never given up on
while they start normally however long that takes, and not started when Discord's daily
session starts would run out."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.answer import Answerer
from bot.config import Settings
from bot.discord_app.run import serve
from bot.discord_app.shards import IDENTIFY_SPACING, IdentifyPacer
from bot.errors import BotError
from bot.service import QAService
from bot.store import Store
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SQLiteStore
from tests.discord_app.harness import Harness, text_of
from tests.pgserver import PgServer
from tests.standin import DiscordStandIn
from tests.standin.gateway import IDENTIFY_WINDOW

GAP = IDENTIFY_SPACING  # 5 s, and a margin


async def test_a_shard_slice_identifies_only_its_shards(standin: DiscordStandIn,
                                                       settings: Settings,
                                                       answerer: Answerer) -> None:
    """DISCORD_SHARD_COUNT=4 DISCORD_SHARD_IDS=1,3: two gateway sessions, shards 1 and 3,
    identified together (max_concurrency 4: keys 1 and 3), and /about says so."""
    standin.max_concurrency = 4
    sliced = settings.model_copy(update={"discord_shard_count": 4, "discord_shard_ids": "1,3"})
    h = Harness(standin, sliced, answerer)
    await h.start()
    try:
        assert sorted(h.bot.shards) == [1, 3]
        assert standin.gateway.live_shards() == [(1, 4), (3, 4)]
        assert h.bot.pacer.max_concurrency == 4  # read from GET /gateway/bot
        about = await h.reply(await standin.slash("about"))
        # The stand-in's guild id maps to shard 3 of 4 ((id >> 22) % 4).
        assert "This process runs shards 1, 3 of 4. This server is on shard 3." in text_of(
            about)
    finally:
        await h.stop()


class Clock:
    """A clock that sleeping moves forward."""

    def __init__(self) -> None:
        self.now = 100.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_shards_wait_only_for_their_own_rate_limit_key() -> None:
    """events/gateway.mdx, Max Concurrency: one IDENTIFY per key (shard_id %
    max_concurrency) per 5 seconds."""
    clock = Clock()
    one = IdentifyPacer(1, clock=clock.time, sleep=clock.sleep)
    assert [await one.wait(shard) for shard in (0, 1, 2)] == [0, GAP, GAP]  # as discord.py
    four = IdentifyPacer(4, clock=clock.time, sleep=clock.sleep)
    assert [await four.wait(shard) for shard in (0, 1, 2, 3)] == [0, 0, 0, 0]
    assert await four.wait(4) == GAP  # key 0 again: the next bucket
    assert await four.wait(1) == 0  # key 1's last IDENTIFY is 5 s old by now


async def test_shards_reconnecting_together_are_spaced() -> None:
    """Shards asking at the same moment each reserve the next free slot of their key."""
    async def no_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    pacer = IdentifyPacer(2, clock=lambda: 100.0, sleep=no_sleep)  # time stands still
    waited = await asyncio.gather(pacer.wait(0), pacer.wait(2), pacer.wait(4), pacer.wait(1))
    assert waited == [0, GAP, 2 * GAP, 0]


async def test_too_few_session_starts_left_is_one_clear_error(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
) -> None:
    """Past Discord's daily session starts the token is reset; a slice of 2 shards with 1
    start left does not start at all."""
    standin.session_start_total = 1
    sliced = settings.model_copy(update={"discord_shard_count": 4, "discord_shard_ids": "0-1"})
    store = Store.open(settings.data_dir)
    try:
        with pytest.raises(BotError, match=r"1 more session starts .* needs 2"):
            await serve(QAService(settings, answerer, store), sliced, standin.token)
    finally:
        store.close()
    assert standin.gateway.identifies == 0


@pytest.fixture(params=["sqlite", "postgres"])
def open_shared(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Opens a store on one database, as each process of a deployment does."""
    if request.param == "sqlite":
        return lambda: Store.open(tmp_path)
    server: PgServer = request.getfixturevalue("postgres")
    url = server.database()
    return lambda: PostgresStore(url, b"k")


async def not_sleeping(seconds: float) -> None:
    await asyncio.sleep(0)


async def test_two_processes_pacers_take_turns_through_the_database(
    open_shared: Callable[[], Store],
) -> None:
    """Two processes' pacers, each with its own store on one database, max_concurrency 2:
    the first one's shard 0 goes at once; the second one's shard 2 (the same key) waits
    its turn, its shard 1 (the other key) does not; and shards asking together, in one
    process or two, each get a turn of their own."""
    stores = [open_shared(), open_shared()]
    try:
        first = IdentifyPacer(2, stores[0], sleep=not_sleeping)
        second = IdentifyPacer(2, stores[1], sleep=not_sleeping)
        assert await first.wait(0) == 0
        assert GAP - 1 < await second.wait(2) <= GAP
        assert await second.wait(1) == 0
        together = await asyncio.gather(first.wait(4), first.wait(6), second.wait(3))
    finally:
        for store in stores:
            store.close()
    # (asked within a second or two of each other: a turn is its rank times GAP, less that)
    assert sorted(round(w / GAP) for w in together[:2]) == [2, 3]  # key 0: after 0 and 2
    assert round(together[2] / GAP) == 1  # key 1: after 1


async def test_a_database_that_cannot_be_reached_leaves_pacing_to_the_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """Another process holds the database's write lock past the busy timeout: the pacer
    says so in one line and paces this process's shards by itself."""
    store = SQLiteStore(tmp_path / "bot.sqlite3", b"k", busy_timeout=0.1)
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    clock = Clock()
    pacer = IdentifyPacer(1, store, clock=clock.time, sleep=clock.sleep)
    try:
        with caplog.at_level(logging.WARNING):
            assert [await pacer.wait(0), await pacer.wait(1)] == [0, GAP]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.close()
    assert "pacing this process's shards alone" in caplog.text


async def test_a_slice_slower_to_start_than_the_connect_timeout_still_starts(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
) -> None:
    """DISCORD_CONNECT_TIMEOUT counts from the last progress, not from the start: two
    shards of one rate limit key identify 5 s apart, five times the 1 s allowed, and the
    bot starts, stays up and answers."""
    sliced = settings.model_copy(update={"discord_shard_count": 2,
                                         "discord_connect_timeout": 1.0})
    store = Store.open(settings.data_dir)
    task = asyncio.create_task(serve(QAService(sliced, answerer, store), sliced,
                                     standin.token))
    try:
        await standin.wait_for(lambda: task.done() or len(standin.gateway.live_shards()) == 2,
                               timeout=30)
        await asyncio.sleep(1.5)  # longer than the timeout again, once connected
        assert not task.done(), task.exception()
        first, second = standin.gateway.identified
        assert second.at - first.at >= IDENTIFY_WINDOW  # started normally, 5 s apart
        interaction = await standin.slash("ask", {"question": "What is Lasso?"})
        await standin.wait_for(lambda: standin.settled(interaction))
        assert "Lasso" in text_of(standin.shown(interaction)[0])
    finally:
        if not task.done():  # (a signal with no handler installed would end pytest)
            os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 15)
        store.close()
