"""Discord's refusals that end the bot, each as one line saying what to change.

Discord closes the gateway with a code that says not to reconnect (Discord's API docs,
topics/opcodes-and-status-codes.mdx, Gateway Close Event Codes: "Reconnect" false) when
reconnecting would only be refused again: 4004, 4010-4014. discord.py 2.7 raises
``ConnectionClosed`` with that code (``PrivilegedIntentsRequired`` for 4014) out of
``Client.start``; a rejected token at login (HTTP 401) is ``LoginFailure``. None of these
messages holds the token."""

from __future__ import annotations

import discord

from bot.config import Settings
from bot.errors import BotError

AUTHENTICATION_FAILED = 4004
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
INVALID_API_VERSION = 4012
INVALID_INTENTS = 4013
DISALLOWED_INTENTS = 4014
FINAL_CLOSE_CODES = frozenset({AUTHENTICATION_FAILED, INVALID_SHARD, SHARDING_REQUIRED,
                               INVALID_API_VERSION, INVALID_INTENTS, DISALLOWED_INTENTS})
RESET_TOKEN = ("check DISCORD_TOKEN in .env, or reset the token in the Developer Portal "
               "(Bot, Reset Token)")


def is_final(error: BaseException | None) -> bool:
    """Whether ``error`` is a close after which Discord says not to reconnect."""
    return isinstance(error, discord.PrivilegedIntentsRequired) or (
        isinstance(error, discord.ConnectionClosed) and error.code in FINAL_CLOSE_CODES)


def explain(error: discord.ClientException, settings: Settings) -> BotError:
    """The one line for a refusal that ends the start (``LoginFailure``,
    ``PrivilegedIntentsRequired`` or ``ConnectionClosed``)."""
    if isinstance(error, discord.LoginFailure):
        return BotError(f"Discord rejected the token (401): {RESET_TOKEN}")
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return BotError(_closed(DISALLOWED_INTENTS, settings))
    code = error.code if isinstance(error, discord.ConnectionClosed) else None
    shard = error.shard_id if isinstance(error, discord.ConnectionClosed) else None
    return BotError(_closed(code, settings, shard))


def _closed(code: int | None, settings: Settings, shard: int | None = None) -> str:
    sharded = settings.shard_count is not None
    count = settings.shard_count
    if code == AUTHENTICATION_FAILED:
        return f"Discord's gateway rejected the token (close code 4004): {RESET_TOKEN}"
    if code == INVALID_SHARD:
        which = f"shard {shard} of {count}" if shard is not None else "a shard"
        return (f"Discord refused {which} (close code 4010, invalid shard): set "
                "DISCORD_SHARD_COUNT to the number of shards across all processes and "
                "DISCORD_SHARD_IDS to ids below it; with max_concurrency above 1 the count "
                "must be a multiple of it (docs/discord.md, 'Deployment')")
    if code == SHARDING_REQUIRED and not sharded:
        return ("Discord requires sharding (close code 4011): the bot is in more servers "
                "than one connection may hold (2,500); set DISCORD_SHARDS=auto, or "
                "DISCORD_SHARD_COUNT (and DISCORD_SHARD_IDS) to run shards in several "
                "processes (docs/discord.md, 'Deployment')")
    if code == SHARDING_REQUIRED:
        return (f"Discord requires more shards (close code 4011): with {count} a shard "
                "would hold more than 2,500 servers; raise DISCORD_SHARD_COUNT to at least "
                "the count GET /gateway/bot recommends, in every process (docs/discord.md, "
                "'Choosing the counts')")
    if code == INVALID_API_VERSION:
        return (f"Discord refused the gateway API version (close code 4012): discord.py "
                f"{discord.__version__} speaks one Discord no longer accepts; upgrade "
                "discord.py (its pin in pyproject.toml, then make install)")
    if code == INVALID_INTENTS:
        return ("Discord refused the gateway intents (close code 4013, invalid intents): "
                f"discord.py {discord.__version__} asked for one Discord does not know; "
                "upgrade discord.py (its pin in pyproject.toml, then make install)")
    if code == DISALLOWED_INTENTS:
        return ("Discord refused the Message Content intent (close code 4014): turn it on "
                "for the bot in the Developer Portal (Bot, Message Content Intent), or set "
                "DISCORD_MESSAGE_CONTENT=false")
    return (f"Discord closed the gateway connection (close code {code}) and discord.py does "
            "not reconnect after it; start again, and see "
            "https://discord.com/developers/docs/topics/opcodes-and-status-codes if it "
            "repeats")
