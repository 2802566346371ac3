"""Shards in one process: a slice of them (DISCORD_SHARD_IDS), started as fast as Discord's
max_concurrency allows, and not started when Discord's daily session starts would run out."""

from __future__ import annotations

import asyncio

import pytest

from bot.answer import Answerer
from bot.config import Settings
from bot.discord_app.run import serve
from bot.discord_app.shards import IdentifyPacer
from bot.errors import BotError
from bot.service import QAService
from bot.store import Store
from tests.discord_app.harness import Harness, text_of
from tests.standin import DiscordStandIn


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
    assert [await one.wait(shard) for shard in (0, 1, 2)] == [0, 5, 5]  # as discord.py did
    four = IdentifyPacer(4, clock=clock.time, sleep=clock.sleep)
    assert [await four.wait(shard) for shard in (0, 1, 2, 3)] == [0, 0, 0, 0]
    assert await four.wait(4) == 5  # key 0 again: the next bucket
    assert await four.wait(1) == 0  # key 1's last IDENTIFY is 5 s old by now


async def test_shards_reconnecting_together_are_spaced() -> None:
    """Shards asking at the same moment each reserve the next free slot of their key."""
    async def no_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    pacer = IdentifyPacer(2, clock=lambda: 100.0, sleep=no_sleep)  # time stands still
    waited = await asyncio.gather(pacer.wait(0), pacer.wait(2), pacer.wait(4), pacer.wait(1))
    assert waited == [0, 5, 10, 0]


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
