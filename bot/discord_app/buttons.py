"""What the buttons under an answer do: more excerpts, votes, a follow-up thread, "Teach
this" (``teaching.offer``). What can be checked without the database is checked before
acknowledging, so such a refusal is a private line at once; everything that reads the
database or the index comes after the acknowledgement (Discord allows 3 s; a slow database
must not cost the click). The caller (``QACog.on_answer_button``) turns any error into a
private line."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from bot.discord_app import teaching
from bot.discord_app.format import NO_MENTIONS, truncate
from bot.discord_app.protocols import QA
from bot.discord_app.respond import THREADABLE, answer_page, defer
from bot.errors import BotError
from bot.teaching.teacher import Learned

logger = logging.getLogger(__name__)

UNKNOWN_ANSWER = "that answer is no longer known; ask the question again"
THREAD_EXISTS = 160004  # JSON error code: a message can only have one thread
# 160006 / 160007: the server's active (announcement) threads are at Discord's limit
# (resources/channel.mdx, Threads; topics/opcodes-and-status-codes.mdx).
THREAD_LIMITS = (160006, 160007)


async def on_button(cog: QA, interaction: discord.Interaction[Any], action: str,
                    answer_id: str, offset: int) -> None:
    if action in ("up", "down"):
        await vote(cog, interaction, answer_id, 1 if action == "up" else -1)
    elif action == "more":
        await more(cog, interaction, answer_id, offset)
    elif action == "thread":
        await open_thread(cog, interaction, answer_id)
    elif action == "teach":
        await teaching.offer(cog, interaction, answer_id)


async def vote(cog: QA, interaction: discord.Interaction[Any], answer_id: str,
               value: int) -> None:
    """One vote per person per answer; an operator's (Manage Server) 👎 keeps votes from
    teaching the answer, and unteaches it when it was taught (``Teacher.learn``)."""
    operator = teaching.is_operator(interaction)
    await defer(interaction, private=True)
    _, learned = await asyncio.to_thread(cog.service.vote, answer_id, interaction.user.id,
                                         value, operator)
    await interaction.edit_original_response(content=thanks(value, operator, learned))


def thanks(value: int, operator: bool, learned: Learned) -> str:
    if learned.change == "taught":
        return ("Thanks, noted 👍. Enough people agreed: this answer is now taught, so the "
                "question, and questions asking the same in other words, get it next time.")
    if learned.change == "untaught":
        return ("Noted 👎. This was a taught answer: it is untaught, and the question gets "
                "the article's closest passages again.")
    if value > 0:
        return "Thanks, noted 👍"
    if operator:
        return "Noted 👎: as an operator's vote, it keeps votes from teaching this answer."
    return "Thanks, noted 👎: the operator will look at it."


async def more(cog: QA, interaction: discord.Interaction[Any], answer_id: str,
               offset: int) -> None:
    """The next page, shown to whoever saw the answer (privately under a private one). An
    answer the store no longer knows is found out after the public loading message: ``tell``
    deletes it and says so privately."""
    private = bool(interaction.message and interaction.message.flags.ephemeral)
    await defer(interaction, private=private)
    answer = await asyncio.to_thread(cog.service.more, answer_id, offset)  # BotError if gone
    if not answer.excerpts:
        raise BotError("there are no more excerpts for this question")
    page = answer_page(answer, answer_id, [], offset=offset)
    await interaction.edit_original_response(embed=page.embed, view=page.view,
                                             allowed_mentions=NO_MENTIONS)


async def open_thread(cog: QA, interaction: discord.Interaction[Any],
                      answer_id: str) -> None:
    """A thread on the answer, where follow-up questions are read with it. Discord allows
    one thread per message, in text and announcement channels only, with Create Public
    Threads; an existing thread is pointed to instead."""
    message, channel = interaction.message, interaction.channel
    if message is None or channel is None:
        raise BotError(UNKNOWN_ANSWER)
    if getattr(channel, "type", None) not in THREADABLE:
        where = ("a DM" if isinstance(channel, discord.DMChannel | discord.GroupChannel)
                 else "a thread")
        raise BotError(f"threads can't be opened in {where}: ask your follow-up here "
                       "with /ask")
    thread_id = str(message.id)  # a thread started from a message has the message's id
    already = f"This answer already has a thread: <#{thread_id}>"
    await defer(interaction, private=True)  # every outcome from here is private
    if await asyncio.to_thread(cog.service.is_conversation, thread_id):
        await interaction.edit_original_response(content=already)
        return
    stored = await asyncio.to_thread(cog.service.store.answer, answer_id)
    if stored is None:
        raise BotError(UNKNOWN_ANSWER)
    if message.flags.has_thread:  # opened by hand: its questions are read with this answer
        await asyncio.to_thread(cog.service.start_conversation, thread_id, answer_id)
        await interaction.edit_original_response(content=already)
        return
    if not interaction.app_permissions.create_public_threads:
        raise BotError(NO_THREAD_PERMISSION)
    try:
        thread = await message.create_thread(name=truncate(stored.question, 100),
                                             auto_archive_duration=1440)
    except discord.Forbidden:
        raise BotError(NO_THREAD_PERMISSION) from None
    except discord.HTTPException as err:
        if err.code in THREAD_LIMITS:
            raise BotError(THREAD_LIMIT_REACHED) from None
        if err.code != THREAD_EXISTS:
            raise
        # someone opened one on the answer meanwhile
        await asyncio.to_thread(cog.service.start_conversation, thread_id, answer_id)
        await interaction.edit_original_response(content=already)
        return
    await asyncio.to_thread(cog.service.start_conversation, str(thread.id), answer_id)
    me = cog.bot.user
    how = ("ask here" if cog.settings.discord_message_content
           else f"mention {me.mention if me else 'me'} or use /ask here")
    try:
        await thread.send(f"Follow-up questions: {how}. I read them with the earlier ones.",
                          allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:  # e.g. no Send Messages in Threads: the thread still works
        logger.warning("could not post the introduction in thread %s", thread.id, exc_info=True)
    await interaction.edit_original_response(content=f"Thread opened: {thread.mention}")


THREAD_LIMIT_REACHED = ("This server has as many active threads as Discord allows: follow "
                        "up with /ask, or mention me, until some are archived")
NO_THREAD_PERMISSION = ("I can't open threads in this channel (I need the Create Public "
                        "Threads permission): mention me or use /ask to follow up")
