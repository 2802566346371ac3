"""Buttons under an answer, and the select "Teach this" shows. Their custom ids carry the
answer id (and a page offset), so they keep working after a restart: discord.py rebuilds
them from the id (DynamicItem)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app.format import CHOICE_MAX, truncate
from bot.discord_app.protocols import ComponentHandler

if TYPE_CHECKING:
    from bot.teaching.teacher import PassageChoice

ACTIONS = {
    "more": ("More excerpts", discord.ButtonStyle.secondary, None),
    "up": ("", discord.ButtonStyle.secondary, "👍"),
    "down": ("", discord.ButtonStyle.secondary, "👎"),
    "thread": ("Follow up in thread", discord.ButtonStyle.primary, None),
    "teach": ("Teach this", discord.ButtonStyle.secondary, "🎓"),
}
PICK = "Pick the passage that answers the question"


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ab:(?P<action>more|up|down|thread|teach):(?P<answer>[0-9a-f]{16})(?::(?P<offset>\d+))?",
):
    def __init__(self, action: str, answer_id: str, offset: int = 0) -> None:
        label, style, emoji = ACTIONS[action]
        suffix = f":{offset}" if action == "more" else ""
        super().__init__(discord.ui.Button(
            label=label or None, style=style, emoji=emoji,
            custom_id=f"ab:{action}:{answer_id}{suffix}"))
        self.action, self.answer_id, self.offset = action, answer_id, offset

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> AnswerButton:
        return cls(match["action"], match["answer"], int(match["offset"] or 0))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        cog = await _qa_cog(interaction)
        if cog is None:
            return
        await cog.on_answer_button(interaction, self.action, self.answer_id, self.offset)


class TeachSelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=r"tt:(?P<answer>[0-9a-f]{16})",
):
    """The passages an operator picks from to teach an answer's question. Option values are
    ``PassageChoice.ref`` (12 characters), never the passage id, which holds the document's
    id and may exceed Discord's 100 characters."""

    def __init__(self, answer_id: str,
                 options: list[discord.SelectOption] | None = None) -> None:
        super().__init__(discord.ui.Select(custom_id=f"tt:{answer_id}", placeholder=PICK,
                                           min_values=1, max_values=1, options=options or []))
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> TeachSelect:
        options = item.options if isinstance(item, discord.ui.Select) else []
        return cls(match["answer"], options)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        cog = await _qa_cog(interaction)
        if cog is None:
            return
        await cog.on_teach_select(interaction, self.answer_id, [str(v) for v in
                                                                self.item.values])


async def _qa_cog(interaction: discord.Interaction[Any]) -> ComponentHandler | None:
    """The cog that handles the components, or None once the user is told to retry: it is
    not loaded while the bot restarts, though its buttons stay on screen."""
    cog = interaction.client.get_cog("QA")  # type: ignore[attr-defined]
    if not isinstance(cog, ComponentHandler):
        await interaction.response.send_message("I'm restarting; try again in a moment.",
                                                ephemeral=True)
        return None
    return cog


def answer_view(answer_id: str, next_offset: int | None, *, votes: bool,
                offer_thread: bool, offer_teach: bool = False) -> discord.ui.View:
    """More (when there is more), 👍 👎 (under a first page that quotes something), a
    thread button (where a thread can be opened: ``respond.can_open_thread``), and "Teach
    this" (under a first page that is tentative or unanswered, in a server)."""
    view = discord.ui.View(timeout=None)
    if next_offset is not None:
        view.add_item(AnswerButton("more", answer_id, next_offset))
    if votes:
        view.add_item(AnswerButton("up", answer_id))
        view.add_item(AnswerButton("down", answer_id))
    if offer_thread:
        view.add_item(AnswerButton("thread", answer_id))
    if offer_teach:
        view.add_item(AnswerButton("teach", answer_id))
    return view


def teach_view(answer_id: str, choices: list[PassageChoice]) -> discord.ui.View:
    """One select of the passages, numbered as the message lists them; labels are their
    sentences, descriptions where they are (each within Discord's 100 characters)."""
    options = [discord.SelectOption(
        label=truncate(f"{number}. {' '.join(c.sentence.split())}", CHOICE_MAX),
        value=c.ref, description=truncate(c.citation, CHOICE_MAX))
        for number, c in enumerate(choices[:25], start=1)]
    view = discord.ui.View(timeout=None)
    view.add_item(TeachSelect(answer_id, options))
    return view
