"""Starting a process's shards as fast as Discord allows, and no faster.

Discord lets an app IDENTIFY ``max_concurrency`` sessions per 5 seconds, one per *rate
limit key* (``shard_id % max_concurrency``), and answers more with an Invalid Session
(Discord's API docs, events/gateway.mdx, "Max Concurrency" and "Identifying"). discord.py
waits 5 s before every IDENTIFY but a process's first, whatever ``max_concurrency`` is, so
a process with 4 shards takes 15 s to come up. ``IdentifyPacer`` waits only when a shard
with the same key identified less than 5 s before: with ``max_concurrency`` 1 (most bots)
shards still start 5 s apart, with 16 sixteen start at once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from discord.ext import commands

from bot.errors import BotError

logger = logging.getLogger(__name__)

IDENTIFY_WINDOW = 5.0  # seconds one rate limit key must wait between two IDENTIFYs


class IdentifyPacer:
    """When each shard may IDENTIFY. ``wait`` reserves its slot before sleeping, so shards
    reconnecting at the same moment are spaced too."""

    def __init__(self, max_concurrency: int = 1,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self._clock = clock
        self._sleep = sleep
        self._next: dict[int, float] = {}  # rate limit key: earliest next IDENTIFY

    async def wait(self, shard_id: int) -> float:
        """Wait until ``shard_id`` may IDENTIFY; returns the seconds waited."""
        key = shard_id % self.max_concurrency
        now = self._clock()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + IDENTIFY_WINDOW
        if slot > now:
            await self._sleep(slot - now)
        return slot - now


class PacedShardedBot(commands.AutoShardedBot):
    """discord.py's AutoShardedBot, identifying its shards as ``IdentifyPacer`` allows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = IdentifyPacer()

    async def read_session_limits(self) -> None:
        """Ask Discord for ``max_concurrency`` and the session starts left today (GET
        /gateway/bot) before connecting. Too few left is a BotError: past Discord's daily
        limit "all active sessions for the app will be terminated, the bot token will be
        reset" (events/gateway.mdx, Identifying)."""
        limits = await self.fetch_session_start_limits()
        self.pacer.max_concurrency = max(1, limits.max_concurrency)
        needed = len(self.shard_ids) if self.shard_ids is not None else (self.shard_count or 1)
        if limits.remaining < needed:
            raise BotError(
                f"Discord allows {limits.remaining} more session starts in the next "
                f"{limits.reset_after / 60_000:.0f} min and this process needs {needed}: "
                "starting anyway would get the token reset. Start it after that; a restart "
                "loop spends session starts (docs/discord.md, 'Deployment')")
        logger.info("shards identify %d at a time (max_concurrency); %d session starts left",
                    self.pacer.max_concurrency, limits.remaining)

    async def before_identify_hook(self, shard_id: int | None, *,
                                   initial: bool = False) -> None:
        await self.pacer.wait(shard_id or 0)
