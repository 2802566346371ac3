"""The real bot (the real discord.py client, model, index and SQLite) run against the strict
stand-in, and what a test reads: the messages a user was shown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.answer import Answerer
from bot.config import Settings
from bot.discord_app.client import make_bot
from bot.discord_app.health import OpsServer, start_ops_server
from bot.discord_app.metrics import BotMetrics
from bot.encoding import Embedder
from bot.service import QAService, open_answerer
from bot.store import Store
from bot.teaching import TaughtHolder
from tests.standin import DiscordStandIn
from tests.standin.gateway import IDENTIFY_WINDOW

EPHEMERAL = 64


class Harness:
    def __init__(self, standin: DiscordStandIn, settings: Settings, answerer: Answerer,
                 open_store: Callable[[Path], Store] = Store.open) -> None:
        """``open_store``: the store of each start, from the data folder (the real SQLite
        store by default)."""
        self.standin = standin
        self.settings = settings
        self.answerer = answerer
        self.open_store = open_store
        self.bot: Any = None
        self.store: Store | None = None
        self.service: QAService | None = None
        self.metrics: BotMetrics | None = None
        self.ops: OpsServer | None = None  # with settings.metrics_port set, as serve() runs it
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """A new process, as far as the bot can tell: its own database connection, and
        taught answers only from the database (the session's answerer is shared between
        tests; its taught set is not)."""
        if self.standin.gateway.sessions:
            # Another bot process ran before this one. A real start takes longer than the
            # 5 s Discord wants between two IDENTIFYs of one shard (loading the model alone
            # does): the stand-in's clock skips them.
            self.standin.advance(IDENTIFY_WINDOW)
        self.store = self.open_store(self.settings.data_dir)
        answerer = replace(self.answerer, taught=TaughtHolder())
        self.service = QAService(self.settings, answerer, self.store)
        self.metrics = BotMetrics(self.service)
        self.ops = await start_ops_server(self.metrics, self.settings.metrics_host,
                                          self.settings.metrics_port)
        self.bot = make_bot(self.service, self.settings, self.metrics)
        self.bot._connection.guild_ready_timeout = 0.05
        self._task = asyncio.create_task(self.bot.start(self.standin.token))
        await asyncio.wait_for(self.bot.wait_until_ready(), 20)

    async def stop(self) -> None:
        await self.standin.settle()  # let the bot finish what it is answering
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)
        if self.ops is not None:
            await self.ops.stop()
        if self.store is not None:
            self.store.close()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def ask(self, question: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sends /ask; returns the interaction and the message the user ends up seeing."""
        private = kwargs.pop("private", None)
        options: dict[str, Any] = {"question": question}
        if private is not None:
            options["private"] = private
        interaction = await self.standin.slash("ask", options, **kwargs)
        return interaction, await self.reply(interaction)

    async def reply(self, interaction: dict[str, Any], timeout: float = 20) -> dict[str, Any]:
        """The newest message the interaction left, once the bot has finished with it."""
        shown: list[dict[str, Any]] = await self.standin.wait_for(
            lambda: self.standin.settled(interaction) and self.standin.shown(interaction),
            timeout)
        return shown[-1]

    async def callback(self, interaction: dict[str, Any]) -> dict[str, Any]:
        """The body of the bot's first response (the interaction callback)."""
        token = interaction["token"]
        calls = await self.standin.wait_for(
            lambda: self.standin.find("POST", f"/{token}/callback"))
        body: dict[str, Any] = calls[0].body
        return body

    async def posted(self, channel_id: str, count: int = 1) -> list[dict[str, Any]]:
        """The bot's own (non-interaction) messages in a channel, once there are ``count``."""
        messages: list[dict[str, Any]] = await self.standin.wait_for(
            lambda: len(self.standin.bot_messages(channel_id)) >= count
            and self.standin.bot_messages(channel_id))
        return messages


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


def button(message: dict[str, Any], action: str) -> str:
    """The custom id of an answer's button (``more``, ``up``, ``down``, ``thread``,
    ``teach``)."""
    return next(i for i in custom_ids(message) if i.startswith(f"ab:{action}:"))


def text_of(message: dict[str, Any]) -> str:
    """Everything a user reads in a message: its content and its embeds."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f["name"] + "\n" + f["value"] for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(p for p in parts if p)


def is_private(message: dict[str, Any]) -> bool:
    return bool(message["flags"] & EPHEMERAL)


@asynccontextmanager
async def harness_over(standin: DiscordStandIn, seeds: Path, tmp_path: Path,
                       embedder: Embedder, **settings: Any) -> AsyncIterator[Harness]:
    """A started bot answering from its own index of ``seeds``, built beside the session's
    model folder (the export, WordNet's table) as a real index folder has it."""
    index_dir = tmp_path / "idx"
    index_dir.mkdir()
    (index_dir / "models").symlink_to(embedder.cache_dir, target_is_directory=True)
    configured = Settings(seeds_dir=seeds, index_dir=index_dir, data_dir=tmp_path / "d",
                          discord_cooldown=0, **settings)
    answerer, _ = open_answerer(configured, embedder=embedder)
    h = Harness(standin, configured, answerer)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()
