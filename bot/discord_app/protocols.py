"""What the handler modules (buttons, messages, teaching, views, sync) need of the bot and
of the cog that calls them, as small protocols. They are handed the cog (``client.QACog``
satisfies ``QA``) or find it by name at click time (``ComponentHandler``), and never import
``client``, which imports them: the package has no import circle (tests/test_imports.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import discord
from discord.ext import commands

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.discord_app.metrics import BotMetrics
    from bot.service import QAService, Reply

AnyBot = commands.Bot | commands.AutoShardedBot


class QA(Protocol):
    """The question-answering cog, as the handlers it calls see it."""

    @property
    def bot(self) -> AnyBot: ...

    @property
    def service(self) -> QAService: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def metrics(self) -> BotMetrics: ...

    @property
    def draining(self) -> bool:
        """True once the bot is stopping: new questions are told to come back."""

    def retry_after(self, user_id: int) -> float:
        """0 when the user may ask now (the ask is recorded); else seconds left to wait."""

    async def answer_question(self, question: str, conversation: str | None,
                              front_end: str) -> Reply:
        """The core's answer to ``question``, counted under ``front_end``."""

    def tracked(self, abandon: Callable[[], Awaitable[None]] | None = None
                ) -> AbstractAsyncContextManager[None]:
        """Counts an answer in flight, so a stop waits for it; ``abandon`` tells its asker
        if the stop stops waiting."""

    async def conversation(self, channel: Any) -> str | None:
        """The conversation id when ``channel`` is a thread opened from an answer."""

    def check_question(self, question: str) -> None:
        """Raises InvalidQuestion (a BotError) for a question the core would refuse."""


@runtime_checkable
class ComponentHandler(Protocol):
    """What the buttons and the select under an answer call."""

    async def on_answer_button(self, interaction: discord.Interaction[Any], action: str,
                               answer_id: str, offset: int) -> None: ...

    async def on_teach_select(self, interaction: discord.Interaction[Any], answer_id: str,
                              values: list[str]) -> None: ...
