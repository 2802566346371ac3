"""Command sync: only when the commands (or their scope) changed since the last sync, and
always leaving each command in one scope. Commands are registered either in the guilds of
``DISCORD_GUILD_IDS`` (instant updates, for testing) or globally; a sync pushes that scope
and empties the other — the global list, or the guilds synced last time — so no command is
listed twice after switching (Discord keeps a guild command and a global one of the same
name side by side)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord

from bot.config import Settings

if TYPE_CHECKING:
    from bot.discord_app.protocols import AnyBot

logger = logging.getLogger(__name__)

STATE_FILE = "command-sync.json"  # {"digest": …, "guilds": [ids synced last time]}


async def sync_commands(bot: AnyBot, settings: Settings) -> bool:
    """Sync if anything changed since the last sync; returns whether it synced."""
    guilds = settings.guild_ids
    scopes = [None, *guilds]
    payload = json.dumps({
        "app": bot.application_id,
        "guilds": guilds,
        "commands": {str(g): [c.to_dict(bot.tree) for c in bot.tree.get_commands(
            guild=discord.Object(id=g) if g else None)] for g in scopes},
    }, sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode()).hexdigest()
    path = settings.data_dir / STATE_FILE
    previous = _read(path)
    if previous.get("digest") == digest:
        logger.info("commands unchanged; not syncing")
        return False
    await bot.tree.sync()  # the global commands: none when syncing to guilds
    stale = [g for g in previous.get("guilds", []) if g not in guilds]
    for guild_id in [*guilds, *stale]:  # a stale guild has no commands left: emptied
        await bot.tree.sync(guild=discord.Object(id=guild_id))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"digest": digest, "guilds": guilds}) + "\n")
    logger.info("commands synced (%s)", guilds or "global")
    return True


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
