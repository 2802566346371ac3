"""Questions in messages: a mention of the bot (or of its own managed role, which Discord's
mention picker often inserts), a reply to one of its regular messages, any message in a DM
with it, and, with the Message Content intent, any message in a follow-up thread.

Without the privileged intent Discord delivers a message's text only when the message
mentions the bot, is a DM, or replies with ping on to a *regular* bot message; a reply to a
slash-command answer arrives empty (gateway/you-might-not-need-a-privileged-intent.mdx).
Such a message gets a line saying what works instead."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import discord

from bot.discord_app.format import NO_MENTIONS
from bot.discord_app.protocols import QA
from bot.discord_app.respond import answer_page, can_open_thread
from bot.errors import BotError

logger = logging.getLogger(__name__)

UNKNOWN_MESSAGE = 10008
INVALID_FORM_BODY = 50035


async def on_message(cog: QA, message: discord.Message) -> None:
    me = cog.bot.user
    if me is None or message.author.bot:
        return
    dm = message.guild is None
    role = message.guild.self_role if message.guild else None
    mentioned = me in message.mentions or (role is not None and role in message.role_mentions)
    resolved = message.reference.resolved if message.reference else None
    ref = resolved if isinstance(resolved, discord.Message) else None
    replied = ref is not None and ref.author.id == me.id
    conversation = await cog.conversation(message.channel)
    in_thread = conversation is not None and cog.settings.discord_message_content
    if not (dm or mentioned or replied or in_thread):
        return
    if cog.draining:
        await _reply(message, content="I'm restarting: please ask again in a moment.")
        return
    question = strip_mentions(message.content, me.id, role.id if role else None)
    if not question:
        await _reply(message, content=nudge(cog, ref if replied else None, mentioned))
        return
    if cog.retry_after(message.author.id):
        with contextlib.suppress(discord.HTTPException):
            await message.add_reaction("⏳")
        return
    try:
        async with cog.tracked():
            reply = await cog.service.ask_async(question, conversation)
    except BotError as err:
        await _reply(message, content=f"⚠️ {err}")
        return
    permissions = _permissions(message)
    page = answer_page(reply.answer, reply.answer_id, cog.service.examples,
                       offer_thread=conversation is None
                       and can_open_thread(message.channel, permissions),
                       offer_teach=not dm, embeds=permissions.embed_links)
    await _reply(message, content=page.content, embed=page.embed, view=page.view)


def strip_mentions(text: str, bot_id: int, role_id: int | None) -> str:
    """The question without the mentions of the bot (<@id>, <@!id>, <@&role>)."""
    text = re.sub(rf"<@!?{bot_id}>", " ", text)
    if role_id is not None:
        text = re.sub(rf"<@&{role_id}>", " ", text)
    return text.strip()


def nudge(cog: QA, replied_to: discord.Message | None, mentioned: bool) -> str:
    """What to do instead, when a message for the bot arrived without its text."""
    intent = cog.settings.discord_message_content
    example = (cog.service.examples or ["What is it about?"])[0]
    if replied_to is not None and not intent and replied_to.interaction_metadata is not None:
        return ("I can't read replies to my /ask answers: without the Message Content "
                "intent Discord only shows me messages that mention me, replies to my "
                "regular messages, and DMs. Mention me with your question, or use /ask.")
    if replied_to is not None and not mentioned and not intent:
        return ("I can't read replies that don't ping me: turn on @ mention when "
                "replying, or mention me with your question.")
    return f"Ask me a question about the article, e.g. “{example}”"


def _permissions(message: discord.Message) -> discord.Permissions:
    """The bot's permissions where ``message`` was sent (in a DM: all it can have there)."""
    if message.guild is None or message.guild.me is None:
        return discord.Permissions(embed_links=True)
    return message.channel.permissions_for(message.guild.me)  # type: ignore[union-attr]


async def _reply(message: discord.Message, *, content: str | None = None,
                 embed: discord.Embed | None = None,
                 view: discord.ui.View | None = None) -> None:
    """Reply to ``message``. If it was deleted meanwhile, Discord refuses the reply (its
    fail_if_not_exists defaults to true): the answer is dropped, and logged. An answer
    standing alone, to a question its asker withdrew, would only puzzle the channel."""
    kwargs: dict[str, Any] = {"mention_author": False, "allowed_mentions": NO_MENTIONS}
    if embed is not None:
        kwargs["embed"] = embed
    if view is not None:
        kwargs["view"] = view
    try:
        await message.reply(content, **kwargs)
    except discord.HTTPException as err:
        if not _reference_gone(err):
            raise
        logger.info("message %s was deleted before it was answered; the answer was dropped",
                    message.id)


def _reference_gone(err: discord.HTTPException) -> bool:
    return err.code == UNKNOWN_MESSAGE or (
        err.code == INVALID_FORM_BODY and "message_reference" in err.text)
