"""The stand-in's world: one guild with a text channel, a forum with one post, the bot's
managed role, and DM channels made on demand (tests may add guilds, each with a text channel
and the bot's role); the ids, permission bits and payload builders for them (shapes from
resources/*.mdx and topics/permissions.mdx)."""

from __future__ import annotations

from typing import Any

APP_ID = "900000000000000001"
BOT_ID = APP_ID
OWNER_ID = "900000000000000002"
GUILD_ID = "900000000000000010"
BOT_ROLE_ID = "900000000000000011"
CHANNEL_ID = "900000000000000020"
FORUM_ID = "900000000000000030"
FORUM_POST_ID = "900000000000000031"
NOW = "2026-11-25T00:00:00.000000+00:00"

# Channel types (resources/channel.mdx, Channel Types).
GUILD_TEXT, DM, GUILD_ANNOUNCEMENT = 0, 1, 5
ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD, GUILD_FORUM = 10, 11, 12, 15
THREAD_TYPES = {ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD}

# Permission bits (topics/permissions.mdx, Bitwise Permission Flags).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38

# What the invite link in docs/discord.md grants the bot's role; @everyone can only see channels.
BOT_PERMISSIONS = (SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | CREATE_PUBLIC_THREADS
                   | EMBED_LINKS | READ_MESSAGE_HISTORY | ADD_REACTIONS)
EVERYONE_PERMISSIONS = VIEW_CHANNEL
# receiving-and-responding.mdx, Interaction Structure, footnote ***: in DMs app_permissions
# are ATTACH_FILES | EMBED_LINKS | MENTION_EVERYONE, plus USE_EXTERNAL_EMOJIS with the bot
DM_APP_PERMISSIONS = ATTACH_FILES | EMBED_LINKS | MENTION_EVERYONE | USE_EXTERNAL_EMOJIS

# Gateway intents (events/gateway.mdx, Gateway Intents).
GUILDS = 1 << 0
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | MESSAGE_CONTENT  # members, presences, content


def user(uid: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": uid, "username": name, "discriminator": "0", "avatar": None,
            "global_name": name, "bot": bot}


BOT_USER = user(BOT_ID, "ArticleBot", bot=True)


def member(uid: str, permissions: int = 0, roles: list[str] | None = None) -> dict[str, Any]:
    return {"user": user(uid, f"user{uid[-4:]}"), "roles": roles or [], "flags": 0,
            "joined_at": NOW, "deaf": False, "mute": False, "permissions": str(permissions)}


def bot_role_id(guild_id: str) -> str:
    """The bot's managed role in ``guild_id`` (each guild gives the bot a role of its own)."""
    return BOT_ROLE_ID if guild_id == GUILD_ID else str(int(guild_id) + 1)


def text_channel(channel_id: str = CHANNEL_ID, name: str = "general",
                 kind: int = GUILD_TEXT, guild_id: str = GUILD_ID) -> dict[str, Any]:
    return {"id": channel_id, "type": kind, "guild_id": guild_id, "name": name,
            "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None,
            "flags": 0, "last_message_id": None, "rate_limit_per_user": 0, "topic": None}


def forum_channel() -> dict[str, Any]:
    return {**text_channel(FORUM_ID, "questions", GUILD_FORUM), "available_tags": [],
            "default_reaction_emoji": None, "default_thread_rate_limit_per_user": 0}


def thread(thread_id: str, parent_id: str, name: str, owner_id: str = BOT_ID,
           archive_minutes: int = 1440, kind: int = PUBLIC_THREAD,
           guild_id: str = GUILD_ID) -> dict[str, Any]:
    """resources/channel.mdx, Example Thread Channel; the id of a thread started from a
    message is that message's id (Start Thread from Message)."""
    return {"id": thread_id, "type": kind, "guild_id": guild_id, "parent_id": parent_id,
            "name": name, "owner_id": owner_id, "message_count": 0, "member_count": 1,
            "rate_limit_per_user": 0, "flags": 0, "last_message_id": None,
            "thread_metadata": {"archived": False, "auto_archive_duration": archive_minutes,
                                "archive_timestamp": NOW, "locked": False,
                                "create_timestamp": NOW}}


def dm_channel(channel_id: str, recipient: dict[str, Any]) -> dict[str, Any]:
    return {"id": channel_id, "type": DM, "recipients": [recipient], "last_message_id": None,
            "flags": 0}


def role(role_id: str, name: str, permissions: int, *, managed: bool = False,
         bot_id: str | None = None, position: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {"id": role_id, "name": name, "permissions": str(permissions),
                            "position": position, "color": 0, "hoist": False,
                            "managed": managed, "mentionable": False, "flags": 0}
    if bot_id:  # topics/permissions.mdx, Role Tags Structure: bot_id marks a bot's own role
        data["tags"] = {"bot_id": bot_id}
    return data


def message(message_id: str, content: str, *, author: dict[str, Any], channel_id: str,
            guild_id: str | None = GUILD_ID, mentions: list[dict[str, Any]] | None = None,
            mention_roles: list[str] | None = None, embeds: Any = None,
            components: Any = None, flags: int = 0, kind: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message_id, "channel_id": channel_id, "author": author, "content": content,
        "timestamp": NOW, "edited_timestamp": None, "tts": False, "mention_everyone": False,
        "mentions": mentions or [], "mention_roles": mention_roles or [], "attachments": [],
        "embeds": embeds or [], "pinned": False, "type": kind, "flags": flags,
        "components": components or [],
    }
    if guild_id:
        data["guild_id"] = guild_id
    return data
