"""`python -m bot discord`: start the bot, stop it cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import discord

from bot.config import PROJECT_ROOT, Settings
from bot.discord_app.client import QACog, make_bot
from bot.errors import BotError
from bot.service import QAService, open_answerer
from bot.store import open_store

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0  # how long a stop waits for answers in flight


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
                       "bot token from the Discord Developer Portal (README, 'Discord')")
    store = open_store(settings)  # before the model loads: a database problem shows at once
    try:
        answerer, _ = open_answerer(settings)
        asyncio.run(serve(QAService(settings, answerer, store), settings, token))
    finally:
        store.close()


async def serve(service: QAService, settings: Settings, token: str) -> None:
    """Run until closed or signalled. A rejected token becomes one clear BotError."""
    bot = make_bot(service, settings)
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Task[None]] = []

    async def close() -> None:
        cog = bot.get_cog("QA")
        if isinstance(cog, QACog):  # answer what is in flight before going
            await cog.drain(DRAIN_SECONDS)
        await bot.close()

    def shutdown(sig: signal.Signals) -> None:
        logger.warning("received %s; finishing answers in flight, then closing", sig.name)
        if not closing:
            closing.append(asyncio.create_task(close()))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, shutdown, sig)
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        raise BotError("Discord rejected the token (401): check DISCORD_TOKEN in .env, or "
                       "reset the token in the Developer Portal") from None
    except discord.PrivilegedIntentsRequired:
        raise BotError("DISCORD_MESSAGE_CONTENT=true needs the Message Content intent turned "
                       "on for the bot in the Developer Portal") from None
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

