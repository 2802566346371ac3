"""Questions in messages: a mention of the bot (or of its own managed role, which Discord's
mention picker often inserts; that Discord then delivers the text is assumed, not
documented, and a role mention that arrives empty is told to mention the bot itself), a
reply to one of its regular messages, any message in a DM with it, and, with the Message
Content intent, any message in a follow-up thread.

Without the privileged intent Discord delivers a message's text only when the message
mentions the bot, is a DM, or replies with ping on to a *regular* bot message; a reply to a
slash-command answer arrives empty (gateway/you-might-not-need-a-privileged-intent.mdx).
Such a message gets a line saying what works instead.

Answers are replies; where the bot may not read the channel's history (which a reply
needs) they are sent on their own, mentioning the asker; where it may not send at all, the
log says so in one line (``_reply``)."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import discord

from bot.discord_app.format import CONTENT_MAX, NO_MENTIONS
from bot.discord_app.protocols import QA
from bot.discord_app.respond import RESTARTED, answer_page, can_open_thread, may_be_thread
from bot.errors import BotError

logger = logging.getLogger(__name__)

UNKNOWN_MESSAGE = 10008
INVALID_FORM_BODY = 50035
MENTION_ROOM = 25  # "<@" + a snowflake (at most 20 digits) + "> ": the asker's mention


async def on_message(cog: QA, message: discord.Message) -> None:
    me = cog.bot.user
    # System messages (a thread renamed, a pin) carry text Discord wrote, and cannot be
    # replied to (resources/message.mdx, Create Message: Limitations).
    if me is None or message.author.bot or message.is_system():
        return
    dm = message.guild is None
    role = message.guild.self_role if message.guild else None
    mentioned = me in message.mentions or (role is not None and role in message.role_mentions)
    resolved = message.reference.resolved if message.reference else None
    ref = resolved if isinstance(resolved, discord.Message) else None
    replied = ref is not None and ref.author.id == me.id
    addressed = dm or mentioned or replied
    # Every message of every channel arrives here: the database is asked only about
    # threads, and only for a message that may be for the bot.
    if not addressed and not (cog.settings.discord_message_content
                              and may_be_thread(message.channel)):
        return
    try:
        conversation = await cog.conversation(message.channel)
    except BotError as err:  # the store is down: a question to the bot is told so
        cog.metrics.error(err)
        if addressed:
            await _reply(message, content=f"⚠️ {err}")
        return
    if not (addressed or conversation is not None):
        return
    if not _may_send(message, _permissions(message)):  # no work for an answer nobody sees
        _cannot_send(message, "Send Messages")
        return
    if cog.draining:
        await _reply(message, content="I'm restarting: please ask again in a moment.")
        return
    question = strip_mentions(message.content, me.id, role.id if role else None)
    if not question:
        # Only the bot's role mentioned, and nothing arrived: Discord may not count its
        # role as the bot (undocumented), and withheld the text
        by_role_unread = me not in message.mentions and not message.content
        await _reply(message, content=nudge(cog, ref if replied else None, mentioned,
                                            by_role_unread and mentioned))
        return
    if cog.retry_after(message.author.id):
        allowed = _permissions(message)  # a reaction needs both (Create Reaction)
        if allowed.read_message_history and allowed.add_reactions:
            with contextlib.suppress(discord.HTTPException):
                await message.add_reaction("⏳")
        return
    front_end = ("thread" if conversation is not None else "dm" if dm
                 else "mention" if mentioned else "reply")
    try:
        async with cog.tracked(lambda: _reply(message, content=RESTARTED)):
            reply = await cog.answer_question(question, conversation, front_end)
    except BotError as err:
        cog.metrics.error(err)
        await _reply(message, content=f"⚠️ {err}")
        return
    permissions = _permissions(message)
    page = answer_page(reply.answer, reply.answer_id, cog.service.examples,
                       offer_thread=conversation is None
                       and can_open_thread(message.channel, permissions),
                       offer_teach=not dm, embeds=permissions.embed_links,
                       text_limit=CONTENT_MAX - MENTION_ROOM)
    await _reply(message, content=page.content, embed=page.embed, view=page.view)


def strip_mentions(text: str, bot_id: int, role_id: int | None) -> str:
    """The question without the mentions of the bot (<@id>, <@!id>, <@&role>)."""
    text = re.sub(rf"<@!?{bot_id}>", " ", text)
    if role_id is not None:
        text = re.sub(rf"<@&{role_id}>", " ", text)
    return text.strip()


def nudge(cog: QA, replied_to: discord.Message | None, mentioned: bool,
          role_unread: bool = False) -> str:
    """What to do instead, when a message for the bot arrived without its text.
    ``role_unread``: it mentioned the bot's role, not the bot, and arrived empty."""
    intent = cog.settings.discord_message_content
    example = (cog.service.examples or ["What is it about?"])[0]
    if role_unread and not intent:
        return ("I couldn't read that message: it mentions my role, not me, and without "
                "the Message Content intent Discord only shows me messages that mention "
                "me. Mention me (the entry marked APP or BOT in the list), or use /ask.")
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
        return discord.Permissions(embed_links=True, send_messages=True,
                                   read_message_history=True, add_reactions=True)
    return message.channel.permissions_for(message.guild.me)  # type: ignore[union-attr]


async def _reply(message: discord.Message, *, content: str | None = None,
                 embed: discord.Embed | None = None,
                 view: discord.ui.View | None = None) -> None:
    """Reply to ``message``; never drop the answer silently.

    - A reply needs Read Message History (resources/message.mdx, Create Message,
      Limitations): without it the answer is sent on its own, mentioning the asker, the only
      mention it lets ping.
    - Without the right to send there at all, one line in the log says where and why.
    - If the question was deleted meanwhile, Discord refuses the reply (its
      fail_if_not_exists defaults to true): the answer is dropped, and logged. An answer
      standing alone, to a question its asker withdrew, would only puzzle the channel."""
    kwargs: dict[str, Any] = {}
    if embed is not None:
        kwargs["embed"] = embed
    if view is not None:
        kwargs["view"] = view
    permissions = _permissions(message)
    if not _may_send(message, permissions):
        _cannot_send(message, "Send Messages")
        return
    if permissions.read_message_history:
        try:
            await message.reply(content, mention_author=False, allowed_mentions=NO_MENTIONS,
                                **kwargs)
            return
        except discord.Forbidden:
            pass  # taken away since the bot last heard of its permissions: send on its own
        except discord.HTTPException as err:
            if not _reference_gone(err):
                raise
            logger.info("message %s was deleted before it was answered; the answer was "
                        "dropped", message.id)
            return
    author = message.author
    text = f"{author.mention} {content}" if content else author.mention
    try:
        await message.channel.send(text, allowed_mentions=discord.AllowedMentions(
            everyone=False, roles=False, users=[author], replied_user=False), **kwargs)
    except discord.Forbidden:
        _cannot_send(message, "Send Messages (or Embed Links)")


def _may_send(message: discord.Message, permissions: discord.Permissions) -> bool:
    """topics/permissions.mdx: Send Messages, or in a thread Send Messages in Threads."""
    if isinstance(message.channel, discord.Thread):
        return permissions.send_messages_in_threads
    return permissions.send_messages


def _cannot_send(message: discord.Message, needed: str) -> None:
    channel = message.channel
    name = getattr(channel, "name", None) or "a DM"
    logger.warning("could not answer message %s in #%s (channel %s): I need the %s "
                   "permission there", message.id, name, channel.id, needed)


def _reference_gone(err: discord.HTTPException) -> bool:
    return err.code == UNKNOWN_MESSAGE or (
        err.code == INVALID_FORM_BODY and "message_reference" in err.text)
