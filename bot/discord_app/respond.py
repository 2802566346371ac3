"""Answering inside Discord's rules: an answer as a page (embed or text, with the buttons that
fit), where a thread can be opened, and telling the user about a problem privately whatever
state the interaction is in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord

from bot.answer import Answer
from bot.discord_app.format import CONTENT_MAX, answer_embed, answer_text, shown
from bot.discord_app.views import answer_view

logger = logging.getLogger(__name__)

PUBLIC_DEFER = "public_defer"  # Interaction.extras key: the loading message is public
ACKNOWLEDGED = "acknowledged"  # ... and: acknowledged, though discord.py does not know it
ALREADY_ACKNOWLEDGED = 40060
THREADABLE = (discord.ChannelType.text, discord.ChannelType.news)
# Said where a stop could not wait for an answer any longer (``QACog.drain``).
RESTARTED = "I had to restart before I could finish this: please ask again in a moment."


@dataclass(frozen=True)
class Page:
    """One message's worth of an answer: an embed, or plain text where the bot may not
    embed; the buttons under it; and the offset of the next page, if any."""

    embed: discord.Embed | None
    content: str | None
    view: discord.ui.View
    next_offset: int | None


def answer_page(answer: Answer, answer_id: str, examples: list[str], *, offset: int = 0,
                offer_thread: bool = False, offer_teach: bool = False,
                embeds: bool = True, text_limit: int = CONTENT_MAX) -> Page:
    """The page of ``answer`` that starts at excerpt ``offset``. Paging continues from the
    last excerpt actually shown: the embed (6,000 characters in all) or the text
    (``text_limit``, at most 2,000) may hold fewer than the answer has. ``offer_teach``:
    where operators may teach (a server), a tentative or unanswered first page gets "Teach
    this"."""
    first = offset == 0
    examples = examples if first else []
    embed: discord.Embed | None = None
    content: str | None = None
    if embeds:
        embed = answer_embed(answer, examples, first_number=offset + 1)
        count = shown(answer, embed)
    else:
        content, count = answer_text(answer, examples, first_number=offset + 1,
                                     limit=text_limit)
    quoted = bool(answer.excerpts)  # answered or tentative
    more = quoted and (answer.has_more or count < len(answer.excerpts))
    next_offset = offset + count if more else None
    unsure = not answer.answered and not answer.taught
    view = answer_view(answer_id, next_offset, votes=first and quoted,
                       offer_thread=first and offer_thread,
                       offer_teach=first and offer_teach and unsure)
    return Page(embed, content, view, next_offset)


def can_open_thread(channel: Any, permissions: discord.Permissions) -> bool:
    """A thread can be started on a message in a text or announcement channel, with Create
    Public Threads; not in DMs, threads or forum posts (which are threads)."""
    return getattr(channel, "type", None) in THREADABLE and permissions.create_public_threads


def may_be_thread(channel: Any) -> bool:
    """A thread, or a channel not in the cache (that may be one): the only channels a
    follow-up conversation can be in."""
    return isinstance(channel, discord.Thread | discord.PartialMessageable)


async def defer(interaction: discord.Interaction[Any], *, private: bool) -> None:
    """Acknowledge now (Discord allows 3 s) with a loading message, remembering whether
    everyone sees it.

    discord.py sends the acknowledgement again after a 5xx or a reset connection; where
    Discord had applied the first one, the second is refused with 40060 ("already
    acknowledged", topics/opcodes-and-status-codes.mdx): the loading message is there, and
    the answer goes on to replace it."""
    try:
        await interaction.response.defer(ephemeral=private, thinking=True)
    except discord.HTTPException as err:
        if err.code != ALREADY_ACKNOWLEDGED:
            raise
        logger.info("interaction %s was acknowledged by an earlier try", interaction.id)
        interaction.extras[ACKNOWLEDGED] = True
    interaction.extras[PUBLIC_DEFER] = not private


def acknowledged(interaction: discord.Interaction[Any]) -> bool:
    return interaction.response.is_done() or bool(interaction.extras.get(ACKNOWLEDGED))


async def tell(interaction: discord.Interaction[Any], text: str) -> None:
    """A short private line about a problem. Before any response it is the response; after
    a private defer it replaces the loading message; after a public one, the loading
    message is deleted and the line sent privately, because the first follow-up after a
    public defer replaces the loading message and Discord ignores its ephemeral flag. (That
    a follow-up once the original is deleted is a new, private message is assumed: the
    documentation is silent on it.)"""
    text = f"⚠️ {text}"
    try:
        if not acknowledged(interaction):
            await interaction.response.send_message(text, ephemeral=True)
        elif interaction.extras.get(PUBLIC_DEFER):
            await interaction.delete_original_response()
            interaction.extras[PUBLIC_DEFER] = False
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.edit_original_response(content=text, embed=None, view=None)
    except discord.HTTPException:
        logger.warning("could not tell the user about a problem", exc_info=True)
