"""Buttons under an answer. Their custom ids carry the answer id (and a page offset), so
they keep working after a restart: discord.py rebuilds them from the id (DynamicItem)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from bot.discord_app.client import QACog

ACTIONS = {
    "more": ("More excerpts", discord.ButtonStyle.secondary, None),
    "up": ("", discord.ButtonStyle.secondary, "👍"),
    "down": ("", discord.ButtonStyle.secondary, "👎"),
    "thread": ("Follow up in thread", discord.ButtonStyle.primary, None),
}


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ab:(?P<action>more|up|down|thread):(?P<answer>[0-9a-f]{16})(?::(?P<offset>\d+))?",
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
        cog: QACog | None = interaction.client.get_cog("QA")  # type: ignore[attr-defined]
        if cog is None:
            await interaction.response.send_message("I'm restarting; try again in a moment.",
                                                    ephemeral=True)
            return
        await cog.on_answer_button(interaction, self.action, self.answer_id, self.offset)


def answer_view(answer_id: str, next_offset: int | None, *, votes: bool,
                offer_thread: bool) -> discord.ui.View:
    """More (when there is more), 👍 👎 (under a first page that quotes something), and a
    thread button (where a thread can be opened: ``respond.can_open_thread``)."""
    view = discord.ui.View(timeout=None)
    if next_offset is not None:
        view.add_item(AnswerButton("more", answer_id, next_offset))
    if votes:
        view.add_item(AnswerButton("up", answer_id))
        view.add_item(AnswerButton("down", answer_id))
    if offer_thread:
        view.add_item(AnswerButton("thread", answer_id))
    return view
