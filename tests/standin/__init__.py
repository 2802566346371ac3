"""A stand-in for Discord on 127.0.0.1, as strict as Discord: the real discord.py client logs
in, syncs commands, receives interactions and messages over a real websocket, and answers
over real HTTP; every payload is checked against the rules Discord documents (rules.py, each
citing its page), refusals carry Discord's status codes and JSON error bodies (errors.py),
and what the bot did is recorded for the tests to read (server.py)."""

from tests.standin.objects import (
    APP_ID,
    BOT_ID,
    BOT_PERMISSIONS,
    BOT_ROLE_ID,
    CHANNEL_ID,
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    FORUM_POST_ID,
    GUILD_ID,
    MANAGE_GUILD,
)
from tests.standin.server import CommandUnavailable, DiscordStandIn, InteractionState

__all__ = [
    "APP_ID", "BOT_ID", "BOT_PERMISSIONS", "BOT_ROLE_ID", "CHANNEL_ID", "CREATE_PUBLIC_THREADS",
    "EMBED_LINKS", "FORUM_POST_ID", "GUILD_ID", "MANAGE_GUILD", "CommandUnavailable",
    "DiscordStandIn", "InteractionState",
]
