"""Command sync: only the scopes whose commands changed since they were last synced, always
leaving each command in one scope. Commands are registered either in the guilds of
``DISCORD_GUILD_IDS`` (instant updates, for testing) or globally; a sync pushes that scope
and empties the other — the global list, or the guilds synced before — so no command is
listed twice after switching (Discord keeps a guild command and a global one of the same
name side by side).

What was pushed where is kept per scope (``data/command-sync.json``: scope → a hash of the
commands pushed there), written after every sync, even one that did not reach every guild.
A guild Discord says the bot cannot reach (a typo in ``DISCORD_GUILD_IDS``, a server that
removed the bot) is one warning line; the other scopes are synced all the same, and the
guild is tried again at the next start. A guild synced before that is no longer wanted and
can no longer be reached is forgotten, with one line: there is nothing left to empty."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import discord

from bot.config import Settings

if TYPE_CHECKING:
    from bot.discord_app.protocols import AnyBot

logger = logging.getLogger(__name__)

STATE_FILE = "command-sync.json"  # {"scopes": {"global" or a guild id: hash of its commands}}
GLOBAL = "global"
# What Discord answers for a guild the app cannot reach (topics/opcodes-and-status-codes.mdx,
# JSON Error Codes): 50001 Missing Access when the app is not authorised there — not in the
# guild, or added without the applications.commands scope (interactions/
# application-commands.mdx, Authorizing Your Application) — and 10004 Unknown Guild.
UNREACHABLE = {50001: "the bot is not in that server, or lacks the applications.commands "
                      "scope there",
               10004: "there is no such server"}


async def sync_commands(bot: AnyBot, settings: Settings) -> list[str]:
    """Push each scope whose commands changed since its last sync; the scopes pushed."""
    path = settings.data_dir / STATE_FILE
    synced_before = _read(path)
    wanted = {GLOBAL: _digest(bot, None)}
    wanted.update({str(g): _digest(bot, g) for g in settings.guild_ids})
    stale = [scope for scope in synced_before if scope not in wanted]  # guilds to empty
    empty = _hash(bot, [])
    state = dict(synced_before)
    pushed: list[str] = []
    try:
        for scope in [*wanted, *stale]:
            digest = wanted.get(scope, empty)
            if synced_before.get(scope) == digest:
                continue
            if not await _push(bot, scope, leaving=scope in stale):
                state.pop(scope, None)  # tried again next start, or nothing left to empty
                continue
            pushed.append(scope)
            if scope in stale:
                del state[scope]
            else:
                state[scope] = digest
    finally:
        _write(path, state)
    if pushed:
        logger.info("commands synced: %s", ", ".join(pushed))
    else:
        logger.info("commands unchanged; not syncing")
    return pushed


async def _push(bot: AnyBot, scope: str, *, leaving: bool) -> bool:
    """Sync one scope; False (and one warning line) for a guild Discord says the bot cannot
    reach. Anything else Discord refuses is raised."""
    guild = None if scope == GLOBAL else discord.Object(id=int(scope))
    try:
        await bot.tree.sync(guild=guild)
    except (discord.Forbidden, discord.NotFound) as err:
        if guild is None or err.code not in UNREACHABLE:
            raise
        reason = f"{err.status} {err.text or 'error'}, code {err.code}: {UNREACHABLE[err.code]}"
        if leaving:
            logger.warning("guild %s (synced before, no longer in DISCORD_GUILD_IDS) cannot "
                           "be reached to empty its commands (%s); forgetting it", scope, reason)
        else:
            logger.warning("commands not synced to guild %s (%s): fix DISCORD_GUILD_IDS, or "
                           "invite the bot there; the other guilds are synced, and this one is "
                           "tried again at the next start", scope, reason)
        return False
    return True


def _digest(bot: AnyBot, guild_id: int | None) -> str:
    guild = discord.Object(id=guild_id) if guild_id else None
    return _hash(bot, [c.to_dict(bot.tree) for c in bot.tree.get_commands(guild=guild)])


def _hash(bot: AnyBot, commands: list[dict[str, object]]) -> str:
    payload = json.dumps({"app": bot.application_id, "commands": commands},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _read(path: Path) -> dict[str, str]:
    """Scope → hash. A file from before per-scope state ({"digest", "guilds"}) names the
    guilds synced then, with no hash: each is synced (or emptied) again."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    scopes = data.get("scopes")
    if isinstance(scopes, dict):
        return {str(k): str(v) for k, v in scopes.items()}
    return {str(g): "" for g in data.get("guilds") or [] if str(g).isdigit()}


def _write(path: Path, state: dict[str, str]) -> None:
    """Atomically: a temporary file, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"scopes": state}, sort_keys=True) + "\n")
    os.replace(temporary, path)
