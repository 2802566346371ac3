"""The bot: slash commands, the message context menu, mentions, buttons and threads, all
over ``QAService``. Thin: it checks what can be checked without the database or the index,
acknowledges (Discord allows 3 s, whatever the database is doing), hands the question to the
core in a worker thread, and renders the ``Answer``. Problems reach the user as one short
private line (``respond.tell``); traces go to the log. Autocomplete cannot be acknowledged
first: its lookups are cut short instead (``teaching.LOOKUP_SECONDS``).

Where commands can be used (Discord's ``contexts``): /ask, /about, /help and the message menu
in servers and in DMs with the bot; /reindex and /teach in servers only. The bot is installed to
servers only (``integration_types``): it answers mentions and keeps threads, which a
user-installed app cannot."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer import clean_question
from bot.config import Settings
from bot.discord_app import buttons, messages, teaching
from bot.discord_app.format import (
    CHOICE_MAX,
    NO_MENTIONS,
    about_embed,
    help_embed,
    shard_summary,
    suggestions,
)
from bot.discord_app.metrics import BotMetrics
from bot.discord_app.protocols import AnyBot as AnyBot  # re-exported: run.py uses it
from bot.discord_app.respond import (
    RESTARTED,
    answer_page,
    can_open_thread,
    defer,
    may_be_thread,
    tell,
)
from bot.discord_app.shards import PacedShardedBot
from bot.discord_app.sync import sync_commands
from bot.discord_app.views import AnswerButton, TeachSelect
from bot.errors import BotError
from bot.service import QAService, Reply

logger = logging.getLogger(__name__)

MAX_QUESTION = 500  # Discord-side limit on the option; the core enforces its own setting too
SORRY = "Something went wrong on my side; it has been logged. Please try again."
RESTARTING = "I'm restarting: please ask again in a moment."
ABANDON_SECONDS = 5.0  # at most, for telling everyone whose answer a stop abandons

SERVERS_AND_DMS = app_commands.AppCommandContext(guild=True, dm_channel=True,
                                                 private_channel=False)
SERVER_INSTALL = app_commands.AppInstallationType(guild=True, user=False)


class NoTextCommands:
    async def on_message(self, message: discord.Message, /) -> None:
        """Questions in messages are handled by the QA cog; there are no text commands."""


class ArticleBot(NoTextCommands, commands.Bot):
    pass


class ShardedArticleBot(NoTextCommands, PacedShardedBot):
    pass


def make_bot(service: QAService, settings: Settings,
             metrics: BotMetrics | None = None) -> AnyBot:
    """The bot over ``service``, counting into ``metrics`` (a registry of its own when none
    is given: the metrics are there, unserved)."""
    metrics = metrics or BotMetrics(service)
    intents = discord.Intents.default()
    intents.message_content = settings.discord_message_content
    options: dict[str, Any] = {
        "command_prefix": commands.when_mentioned, "intents": intents, "help_command": None,
        "allowed_mentions": NO_MENTIONS, "http_trace": metrics.http_trace(),
    }
    shards = settings.shard_count
    bot: AnyBot
    if shards is None:
        bot = ArticleBot(**options)
    else:  # all shards, or this process's slice of them (docs/discord.md, "Deployment")
        if settings.shard_ids:
            options["shard_ids"] = list(settings.shard_ids)
        # shards of every process take turns to identify through the shared database
        bot = ShardedArticleBot(shard_count=None if shards == "auto" else shards,
                                slots=service.store, **options)
    bot.tree.allowed_contexts = SERVERS_AND_DMS
    bot.tree.allowed_installs = SERVER_INSTALL
    metrics.watch(bot)
    cog = QACog(bot, service, settings, metrics)
    # Commands live in one scope: the configured guilds (instant updates while testing) or
    # global. sync_commands empties the other scope.
    guilds = [discord.Object(id=g) for g in settings.guild_ids] or discord.utils.MISSING

    async def setup_hook() -> None:
        if isinstance(bot, PacedShardedBot):
            await bot.read_session_limits()
        await bot.add_cog(cog, guilds=guilds)
        bot.tree.add_command(cog.menu, guilds=guilds)
        bot.add_dynamic_items(AnswerButton, TeachSelect)
        await sync_commands(bot, settings)

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    return bot


class Cooldowns:
    """One question per user per ``seconds``, for /ask, the menu and mentions alike."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        """0 and the time recorded when the user may ask now; else seconds left to wait."""
        now = time.monotonic()
        wait = self._last.get(user_id, -1e9) + self.seconds - now
        if wait > 0:
            return wait
        self._last[user_id] = now
        if len(self._last) > 10_000:  # forget users whose cooldown is long over
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        return 0.0


class Restarting(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__(RESTARTING)


class OnCooldown(app_commands.CheckFailure):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"You're asking quickly: try again in {max(1, round(retry_after))} s.")


class QACog(commands.Cog, name="QA"):
    def __init__(self, bot: AnyBot, service: QAService, settings: Settings,
                 metrics: BotMetrics) -> None:
        self.bot = bot
        self.service = service
        self.settings = settings
        self.metrics = metrics
        self.cooldowns = Cooldowns(settings.discord_cooldown)
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        # The answers in flight, each with what to tell its asker if a stop gives up waiting
        # (without it the loading message stays until Discord drops it, 15 min later).
        self._in_flight: dict[int, Callable[[], Awaitable[None]] | None] = {}
        self._keys = itertools.count()
        self.menu = app_commands.ContextMenu(name="Ask the article", callback=self.ask_message)
        bot.tree.error(self.on_app_command_error)

    # --- commands -------------------------------------------------------------------------

    @app_commands.command(name="ask")
    @app_commands.describe(question="Your question about the article",
                           private="Show the answer to you only (default: everyone sees it)")
    async def ask(self, interaction: discord.Interaction[Any],
                  question: app_commands.Range[str, 1, MAX_QUESTION],
                  private: bool = False) -> None:
        """Ask a question; get the passages of the article that answer it."""
        self._check_open()
        self.check_question(question)  # before deferring: a refusal stays private
        self._check_cooldown(interaction.user.id)
        await defer(interaction, private=private)
        await self._answer(interaction, question, private, "slash")

    @ask.autocomplete("question")
    async def ask_autocomplete(self, interaction: discord.Interaction[Any],
                               current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=q, value=q)
                for q in suggestions(current, self.service.examples)]

    async def ask_message(self, interaction: discord.Interaction[Any],
                          message: discord.Message) -> None:
        """Context menu: the message's text is the question."""
        if not message.content.strip():
            raise app_commands.CheckFailure("That message has no text to ask about.")
        self._check_open()
        self.check_question(message.content)
        self._check_cooldown(interaction.user.id)
        await defer(interaction, private=False)
        await self._answer(interaction, message.content, False, "menu")

    @app_commands.command(name="about")
    async def about(self, interaction: discord.Interaction[Any]) -> None:
        """The articles I answer from, the model, and when the index was built."""
        await defer(interaction, private=True)  # the count of taught answers reads the store
        taught = await asyncio.to_thread(self.service.teacher.taught)
        await interaction.edit_original_response(
            embed=about_embed(self.service.manifest, shard_summary(self.bot, interaction),
                              taught=len(taught), stale=sum(stale for _, stale in taught),
                              votes_needed=self.settings.teach_votes))

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        """How to ask, with examples."""
        await interaction.response.send_message(embed=help_embed(self.service.examples),
                                                ephemeral=True)

    @app_commands.command(name="reindex")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    async def reindex(self, interaction: discord.Interaction[Any]) -> None:
        """Rebuild the index from the articles (Manage Server or the bot's owner only)."""
        # Default permissions only hide the command; a server can change them. Check here,
        # once acknowledged: asking who owns the bot may wait on Discord. Every outcome is
        # private, a refusal too.
        await defer(interaction, private=True)
        allowed = interaction.permissions.manage_guild or await self.bot.is_owner(
            interaction.user)  # type: ignore[arg-type]
        if not allowed:
            raise app_commands.CheckFailure("/reindex needs the Manage Server permission.")
        manifest = await asyncio.to_thread(self.service.reindex)
        await interaction.edit_original_response(
            content=f"Rebuilt: {manifest.passages} passages from {len(manifest.documents)} "
                    "document(s).")

    @app_commands.command(name="teach")
    @app_commands.describe(
        question="The question to answer (suggested: questions I could not answer)",
        passage="The passage that answers it (suggested: the closest; type words to search)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    async def teach(self, interaction: discord.Interaction[Any],
                    question: app_commands.Range[str, 1, MAX_QUESTION],
                    passage: app_commands.Range[str, 1, CHOICE_MAX]) -> None:
        """Teach me the passage that answers a question (Manage Server only)."""
        await teaching.teach_command(self, interaction, question, passage)

    @teach.autocomplete("question")
    async def teach_question_autocomplete(self, interaction: discord.Interaction[Any],
                                          current: str) -> list[app_commands.Choice[str]]:
        return await teaching.question_choices(self, interaction, current)

    @teach.autocomplete("passage")
    async def teach_passage_autocomplete(self, interaction: discord.Interaction[Any],
                                         current: str) -> list[app_commands.Choice[str]]:
        return await teaching.passage_choices(self, interaction, current)

    # --- messages and buttons -----------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        try:
            await messages.on_message(self, message)
        except Exception as err:  # discord.py logs it; it is counted here
            self.metrics.error(err)
            raise

    async def on_answer_button(self, interaction: discord.Interaction[Any], action: str,
                               answer_id: str, offset: int) -> None:
        await self._component(interaction, f"button {action} on answer {answer_id}",
                              lambda: buttons.on_button(self, interaction, action, answer_id,
                                                        offset))

    async def on_teach_select(self, interaction: discord.Interaction[Any], answer_id: str,
                              values: list[str]) -> None:
        await self._component(interaction, f"teaching answer {answer_id}",
                              lambda: teaching.choose(self, interaction, answer_id, values))

    async def _component(self, interaction: discord.Interaction[Any], what: str,
                         work: Callable[[], Awaitable[None]]) -> None:
        """Every click or choice ends in a message to the user, whatever fails."""
        try:
            if self.draining:
                raise Restarting()
            async with self.tracked(lambda: tell(interaction, RESTARTED)):
                await work()
        except (BotError, app_commands.CheckFailure) as err:
            self.metrics.error(err)
            await tell(interaction, str(err))
        except Exception as err:
            self.metrics.error(err)
            logger.exception("%s failed", what)
            await tell(interaction, SORRY)

    # --- shared -----------------------------------------------------------------------------

    async def answer_question(self, question: str, conversation: str | None,
                              front_end: str) -> Reply:
        """The core's answer, counted by ``front_end`` (slash, menu, mention, reply, dm,
        thread) and outcome, with its latency."""
        started = time.perf_counter()
        try:
            reply = await self.service.ask_async(question, conversation)
        except Exception as err:
            self.metrics.failed(front_end, err)
            raise
        self.metrics.answered(front_end, reply.answer, time.perf_counter() - started)
        return reply

    async def _answer(self, interaction: discord.Interaction[Any], question: str,
                      private: bool, front_end: str) -> None:
        async with self.tracked(lambda: tell(interaction, RESTARTED)):
            conversation = await self.conversation(interaction.channel)
            reply = await self.answer_question(question, conversation, front_end)
            offer_thread = not private and can_open_thread(interaction.channel,
                                                           interaction.app_permissions)
            page = answer_page(reply.answer, reply.answer_id, self.service.examples,
                               offer_thread=offer_thread,
                               offer_teach=interaction.guild_id is not None)
            # The loading message is replaced by the answer (edit the original response;
            # a follow-up in its place is deprecated).
            await interaction.edit_original_response(embed=page.embed, view=page.view,
                                                     allowed_mentions=NO_MENTIONS)

    def check_question(self, question: str) -> None:
        """Raises InvalidQuestion (a BotError) for a question the core would refuse."""
        clean_question(question, self.settings.max_question_chars)

    async def drain(self, timeout: float) -> bool:
        """Stop taking questions and wait (at most ``timeout`` s) for those being answered;
        True if all were. New ones meanwhile are told the bot is restarting."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            logger.warning("closing with %d answers still in flight; telling their askers "
                           "to ask again", len(self._in_flight))
            told = [asyncio.ensure_future(say()) for say in list(self._in_flight.values())
                    if say is not None]
            if told:
                await asyncio.wait(told, timeout=ABANDON_SECONDS)
            return False

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @contextlib.asynccontextmanager
    async def tracked(self, abandon: Callable[[], Awaitable[None]] | None = None
                      ) -> AsyncIterator[None]:
        """Counts an answer in flight, so a stop waits for it; ``abandon`` tells its asker
        if the stop stops waiting."""
        key = next(self._keys)
        self._in_flight[key] = abandon
        self._idle.clear()
        try:
            yield
        finally:
            del self._in_flight[key]
            if not self._in_flight:
                self._idle.set()

    def _check_open(self) -> None:
        if self.draining:
            raise Restarting()

    async def conversation(self, channel: Any) -> str | None:
        """The conversation id when ``channel`` is a thread opened from an answer (only a
        thread, or a channel not in the cache, is looked up)."""
        if not may_be_thread(channel):
            return None
        key = str(channel.id)
        return key if await asyncio.to_thread(self.service.is_conversation, key) else None

    def retry_after(self, user_id: int) -> float:
        return self.cooldowns.retry_after(user_id)

    def _check_cooldown(self, user_id: int) -> None:
        wait = self.retry_after(user_id)
        if wait:
            raise OnCooldown(wait)

    async def on_app_command_error(self, interaction: discord.Interaction[Any],
                                   error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        self.metrics.error(original)
        if isinstance(original, app_commands.CheckFailure | BotError):
            text = str(original) or "You can't use this command here."
        else:
            command = interaction.command.name if interaction.command else "?"
            logger.error("/%s failed", command, exc_info=original)
            text = SORRY
        await tell(interaction, text)
