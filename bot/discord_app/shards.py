"""Starting shards as fast as Discord allows and no faster, across every process of the
deployment; and stopping at once when Discord closes a shard for good.

Discord lets an app IDENTIFY ``max_concurrency`` sessions per 5 seconds, one per *rate
limit key* (``shard_id % max_concurrency``), counted over all of the app's connections, and
answers more with an Invalid Session (Discord's API docs, events/gateway.mdx, "Max
Concurrency" and "Identifying"). discord.py waits 5 s before every IDENTIFY but a process's
first, whatever ``max_concurrency`` is, and knows nothing of other processes: two started
together collide. ``IdentifyPacer`` reserves each IDENTIFY a slot in its key's bucket, in
the database every process of a deployment shares (``Store.reserve_identify``, by the
database's clock), and waits only for that slot: with ``max_concurrency`` 1 (most bots)
shards still start 5 s apart, with 16 sixteen start at once, and a second process's shards
take the turns the first one left."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp
import discord
import yarl
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.shard import EventItem, EventType, Shard

from bot.discord_app.refusals import is_final
from bot.errors import BotError
from bot.store import StoreError

logger = logging.getLogger(__name__)

IDENTIFY_WINDOW = 5.0  # seconds one rate limit key must wait between two IDENTIFYs
# What the pacer leaves between two: a second more, for the time from a slot's reservation
# to its IDENTIFY reaching Discord, which varies between processes and hosts (0.85 s seen
# with two bots starting at once on a loaded 2-core machine; a quarter second was too little).
IDENTIFY_SPACING = IDENTIFY_WINDOW + 1.0
RETRY_SECONDS = 5.0  # between attempts to connect a shard that could not (as discord.py)
# A shard that could not connect for one of these reasons is retried with one log line.
TRANSIENT = (OSError, aiohttp.ClientError, TimeoutError, discord.ConnectionClosed,
             discord.GatewayNotFound, discord.HTTPException)


class IdentifySlots(Protocol):
    def reserve_identify(self, bucket: int, spacing: float) -> float:
        """Reserve ``bucket``'s next IDENTIFY, ``spacing`` s after the one before it (or now);
        the seconds until it."""
        ...


class LocalSlots:
    """Slots kept in this process's memory: enough for one process alone."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next: dict[int, float] = {}  # bucket: earliest next IDENTIFY

    def reserve_identify(self, bucket: int, spacing: float) -> float:
        now = self._clock()
        slot = max(now, self._next.get(bucket, now))
        self._next[bucket] = slot + spacing
        return slot - now


class IdentifyPacer:
    """When each shard may IDENTIFY. ``wait`` reserves its slot before sleeping, so shards
    reconnecting at the same moment are spaced too, in one process or several. Without a
    shared ``slots`` (or while the database cannot be reached) the process paces its own
    shards only."""

    def __init__(self, max_concurrency: int = 1, slots: IdentifySlots | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.shared = slots
        self.local = LocalSlots(clock)
        self._sleep = sleep
        # Told (shard id, seconds until its IDENTIFY) as each shard's turn is reserved: a
        # shard waiting its turn is starting normally (run.py's connect deadline).
        self.on_turn: Callable[[int, float], None] = lambda shard_id, wait: None

    async def wait(self, shard_id: int) -> float:
        """Wait until ``shard_id`` may IDENTIFY; returns the seconds waited."""
        key = shard_id % self.max_concurrency
        delay = await self._reserve(key)
        self.on_turn(shard_id, delay)
        if delay > 0:
            await self._sleep(delay)
        return delay

    async def _reserve(self, key: int) -> float:
        if self.shared is not None:
            try:
                return await asyncio.to_thread(self.shared.reserve_identify, key,
                                               IDENTIFY_SPACING)
            except StoreError as err:
                logger.warning("could not reserve an IDENTIFY slot in the database (%s); "
                               "pacing this process's shards alone", err)
        return self.local.reserve_identify(key, IDENTIFY_SPACING)


class PacedShardedBot(commands.AutoShardedBot):
    """discord.py's AutoShardedBot, identifying its shards as ``IdentifyPacer`` allows, and
    ending the start when Discord closes a shard with a code that says not to reconnect."""

    def __init__(self, *args: Any, slots: IdentifySlots | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = IdentifyPacer(slots=slots)
        self.stopped: BaseException | None = None  # why Discord closed a shard for good

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
        self._raise_if_stopped()
        await self.pacer.wait(shard_id or 0)
        self._raise_if_stopped()  # another shard was closed for good meanwhile: no more

    async def launch_shard(self, gateway: yarl.URL, shard_id: int, *,
                           initial: bool = False) -> None:
        """discord.py's (shard.py, ``AutoShardedClient.launch_shard``), but a close that
        says not to reconnect ends the start, where discord.py retries every failure every
        5 s, forever, with a traceback each time; other failures are one log line."""
        while True:
            self._raise_if_stopped()
            opened: list[DiscordWebSocket] = []
            try:
                ws = await asyncio.wait_for(
                    _remembering(opened).from_client(self, initial=initial, gateway=gateway,
                                                     shard_id=shard_id),
                    timeout=self.shard_connect_timeout)
                break
            except Exception as err:
                for socket in opened:  # given up after HELLO: stop its heartbeat thread
                    await socket.close(code=1000)
                if is_final(err):
                    raise
                self._raise_if_stopped()
                logger.warning("shard %d could not connect (%s); trying again in %g s",
                               shard_id, type(err).__name__, RETRY_SECONDS,
                               exc_info=not isinstance(err, TRANSIENT))
            await asyncio.sleep(RETRY_SECONDS)
            initial = False
        # discord.py keeps its shards and their event queue in private attributes; a shard
        # is registered there exactly as its own launch_shard does.
        state = vars(self)
        queue = state["_AutoShardedClient__queue"]
        shard = Shard(ws, self, self._watching(queue.put_nowait))
        state["_AutoShardedClient__shards"][shard_id] = shard
        shard.launch()

    def _watching(self, put: Callable[[EventItem], None]) -> Callable[[EventItem], None]:
        """``put``, noting a shard closed for good, so that no other shard identifies
        after it (discord.py reads the queue only once every shard has launched)."""
        def watched(item: EventItem) -> None:
            if item.type in (EventType.close, EventType.terminate) and is_final(item.error):
                self.stopped = self.stopped or item.error
            put(item)

        return watched

    def _raise_if_stopped(self) -> None:
        if self.stopped is not None:
            raise self.stopped


def _remembering(opened: list[DiscordWebSocket]) -> type[DiscordWebSocket]:
    """discord.py's gateway socket, added to ``opened`` when made: a connection given up
    between HELLO and IDENTIFY (a timeout, the start ending while it waited its turn) is
    closed, where discord.py leaves it, its heartbeat thread running."""
    class Remembered(DiscordWebSocket):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    return Remembered
