"""`python -m bot discord`: start the bot, retry while Discord cannot be reached at start,
stop it cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import aiohttp
import discord

from bot.config import PROJECT_ROOT, Settings
from bot.discord_app.client import AnyBot, QACog, make_bot
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
    """Run until closed or signalled. Until the first connection succeeds, an unreachable
    Discord is retried with backoff for ``discord_connect_timeout`` seconds (one warning
    line, then a BotError); once connected, discord.py reconnects and resumes by itself. A
    rejected token is one clear BotError. The token never appears in what is logged."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.discord_connect_timeout
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

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, shutdown, sig)
    delay, failures = FIRST_RETRY, 0
    try:
        while not stopping.is_set():
            bot = make_bot(service, settings)
            running[:] = [bot]
            try:
                await _run(bot, token, deadline)
                return
            except Unreachable as err:
                reason = str(err).replace(token, "…")
            failures += 1
            left = deadline - loop.time()
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


async def _run(bot: AnyBot, token: str, deadline: float) -> None:
    """Run ``bot`` until it closes. Raises Unreachable when it could not connect before
    ``deadline`` (loop time), BotError for a rejected token or intent."""
    loop = asyncio.get_running_loop()
    connected = False
    try:
        async with bot:
            started = asyncio.create_task(bot.start(token))
            ready = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait({started, ready},
                                         timeout=max(0.0, deadline - loop.time()),
                                         return_when=asyncio.FIRST_COMPLETED)
            connected = ready in done
            if not connected:
                ready.cancel()
                if started not in done:  # still trying when the time was up
                    started.cancel()
                    with contextlib.suppress(asyncio.CancelledError, *UNREACHABLE):
                        await started
                    raise Unreachable("no connection in time")
            await started  # runs until closed; raises what made it stop
    except discord.LoginFailure:
        raise BotError("Discord rejected the token (401): check DISCORD_TOKEN in .env, or "
                       "reset the token in the Developer Portal") from None
    except discord.PrivilegedIntentsRequired:
        raise BotError("DISCORD_MESSAGE_CONTENT=true needs the Message Content intent turned "
                       "on for the bot in the Developer Portal") from None
    except UNREACHABLE as err:
        if connected:
            raise
        raise Unreachable(_one_line(err)) from None


def _one_line(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}"[:200] if text else type(err).__name__
