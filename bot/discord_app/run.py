"""`python -m bot discord`: start the bot, retry while Discord cannot be reached at start,
stop in one line when Discord refuses it (refusals.py), stop cleanly on SIGTERM/SIGINT, and
serve metrics and health all along when ``BOT_METRICS_PORT`` is set (health.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import aiohttp
import discord
from discord.ext import commands

from bot.config import PROJECT_ROOT, Settings
from bot.discord_app.client import AnyBot, QACog, make_bot
from bot.discord_app.health import start_ops_server
from bot.discord_app.metrics import BotMetrics
from bot.discord_app.refusals import explain
from bot.discord_app.shards import PacedShardedBot
from bot.errors import BotError
from bot.service import QAService, open_answerer
from bot.store import open_store

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0  # how long a stop waits for answers in flight
FIRST_RETRY, LONGEST_RETRY = 1.0, 30.0  # seconds between attempts to reach Discord
# What "Discord cannot be reached" looks like: no network, a DNS failure, a refused or
# timed-out connection (OSError, aiohttp errors), Discord down (5xx, no gateway).
UNREACHABLE = (OSError, aiohttp.ClientError, TimeoutError, discord.DiscordServerError,
               discord.GatewayNotFound)


class Unreachable(Exception):
    """Discord could not be reached this time; the message says why, in one line."""


class Deadline:
    """When to stop trying to connect: ``seconds`` after the start or the last progress,
    whichever is later. Progress is a shard's turn to IDENTIFY, reserved ``wait`` seconds
    ahead (the deadline then counts from that turn), or a shard's session being READY; so
    a slice that identifies 5 s apart per bucket never runs out of time while it is
    starting normally, however many shards it has."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._clock = asyncio.get_running_loop().time
        self.at = self._clock() + seconds

    def progress(self, wait: float = 0.0) -> None:
        self.at = max(self.at, self._clock() + wait + self.seconds)

    def left(self) -> float:
        return self.at - self._clock()


def warn_if_env_readable(path: Path) -> bool:
    """Warn (once, one line) when the file holding the token is readable by other users."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if mode & 0o077:
        logger.warning("%s is readable by other users (mode %o): run chmod 600 %s",
                       path.name, mode & 0o777, path)
        return True
    return False


def run_discord(settings: Settings) -> None:
    warn_if_env_readable(PROJECT_ROOT / ".env")
    token = settings.discord_token.get_secret_value().strip()
    if not token:
        raise BotError("DISCORD_TOKEN is not set: copy .env.example to .env and paste the "
                       "bot token from the Discord Developer Portal (docs/discord.md)")
    store = open_store(settings)  # before the model loads: a database problem shows at once
    try:
        answerer, _ = open_answerer(settings)
        asyncio.run(serve(QAService(settings, answerer, store), settings, token))
    finally:
        store.close()


async def serve(service: QAService, settings: Settings, token: str) -> None:
    """Run until closed or signalled. Until every shard is connected, an unreachable
    Discord is retried with backoff for ``discord_connect_timeout`` seconds from the last
    progress (one warning line, then a BotError); once connected, discord.py reconnects and
    resumes by itself. A refusal (a rejected token, a close code that says not to
    reconnect) is one clear BotError. The token never appears in what is logged."""
    loop = asyncio.get_running_loop()
    deadline = Deadline(settings.discord_connect_timeout)
    stopping = asyncio.Event()
    running: list[AnyBot] = []
    closing: list[asyncio.Task[None]] = []

    async def close(bot: AnyBot) -> None:
        cog = bot.get_cog("QA")
        if isinstance(cog, QACog):  # answer what is in flight before going
            await cog.drain(DRAIN_SECONDS)
        await bot.close()

    def shutdown(sig: signal.Signals) -> None:
        logger.warning("received %s; finishing answers in flight, then closing", sig.name)
        stopping.set()
        if running and not closing:
            closing.append(asyncio.create_task(close(running[0])))

    # Served from before the first connection to after the last: while Discord cannot be
    # reached, /health says so.
    metrics = BotMetrics(service)
    ops = await start_ops_server(metrics, settings.metrics_host, settings.metrics_port)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, shutdown, sig)
    delay, failures = FIRST_RETRY, 0
    try:
        while not stopping.is_set():
            bot = make_bot(service, settings, metrics)
            running[:] = [bot]
            try:
                await _run(bot, token, deadline, settings)
                return
            except Unreachable as err:
                reason = str(err).replace(token, "…")
            failures += 1
            left = deadline.left()
            if left <= 0:
                raise BotError(f"could not reach Discord within "
                               f"{settings.discord_connect_timeout:g} s ({reason}); check the "
                               "network and https://discordstatus.com, then start again")
            wait = min(delay, left)
            if failures == 1:
                logger.warning("cannot reach Discord (%s); retrying for up to %g s",
                               reason, settings.discord_connect_timeout)
            else:
                logger.info("still cannot reach Discord (%s); next try in %.1f s", reason, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), wait)
            delay = min(delay * 2, LONGEST_RETRY)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if ops is not None:
            await ops.stop()


async def _run(bot: AnyBot, token: str, deadline: Deadline, settings: Settings) -> None:
    """Run ``bot`` until it closes. Raises Unreachable when it could not connect every
    shard before ``deadline``, BotError when Discord refuses it."""
    connected = asyncio.Event()
    sessions: set[int] = set()

    async def on_connect() -> None:  # a session is READY (any shard)
        deadline.progress()
        if not isinstance(bot, commands.AutoShardedBot):
            connected.set()

    async def on_shard_connect(shard_id: int) -> None:  # (sharded bots only)
        sessions.add(shard_id)
        if isinstance(bot, commands.AutoShardedBot) and sessions >= set(
                bot.shard_ids or range(bot.shard_count or 1)):
            connected.set()

    bot.add_listener(on_connect, "on_connect")
    bot.add_listener(on_shard_connect, "on_shard_connect")
    if isinstance(bot, PacedShardedBot):
        bot.pacer.on_turn = lambda shard_id, wait: deadline.progress(wait)
    try:
        async with bot:
            started = asyncio.create_task(bot.start(token))
            up = asyncio.create_task(connected.wait())
            while True:
                done, _ = await asyncio.wait({started, up}, timeout=max(0.0, deadline.left()),
                                             return_when=asyncio.FIRST_COMPLETED)
                if done or deadline.left() <= 0:  # (progress may have moved the deadline)
                    break
            if up not in done:
                up.cancel()
                if started not in done:  # still trying when the time was up
                    started.cancel()
                    with contextlib.suppress(asyncio.CancelledError, *UNREACHABLE):
                        await started
                    raise Unreachable("no connection in time")
            await started  # runs until closed; raises what made it stop
    except (discord.LoginFailure, discord.PrivilegedIntentsRequired,
            discord.ConnectionClosed) as err:
        raise explain(err, settings) from None
    except UNREACHABLE as err:
        if connected.is_set():
            raise
        raise Unreachable(_one_line(err)) from None


def _one_line(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}"[:200] if text else type(err).__name__
