"""The bot: slash commands, the message context menu, mentions, buttons and threads, all
over ``QAService``. Thin: it acknowledges, hands the question to the core in a worker thread,
and renders the ``Answer``. Errors reach the user as one short ephemeral line."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.discord_app.format import (
    CHOICE_MAX,
    NO_MENTIONS,
    about_embed,
    answer_embed,
    help_embed,
    shard_summary,
    suggestions,
    truncate,
)
from bot.discord_app.views import AnswerButton, answer_view
from bot.errors import BotError
from bot.service import QAService

logger = logging.getLogger(__name__)

MAX_QUESTION = 500  # Discord-side limit on the option; the core enforces its own setting too
SORRY = "Something went wrong on my side; it has been logged. Please try again."
RESTARTING = "I'm restarting: please ask again in a moment."


class NoTextCommands:
    async def on_message(self, message: discord.Message, /) -> None:
        """Questions in messages are handled by the QA cog; there are no text commands."""


class ArticleBot(NoTextCommands, commands.Bot):
    pass


class ShardedArticleBot(NoTextCommands, commands.AutoShardedBot):
    pass


AnyBot = commands.Bot | commands.AutoShardedBot


def make_bot(service: QAService, settings: Settings) -> AnyBot:
    intents = discord.Intents.default()
    intents.message_content = settings.discord_message_content
    options: dict[str, Any] = {
        "command_prefix": commands.when_mentioned, "intents": intents, "help_command": None,
        "allowed_mentions": NO_MENTIONS,
    }
    shards = settings.shard_count
    bot: AnyBot
    if shards is None:
        bot = ArticleBot(**options)
    else:  # all shards, or this process's slice of them (README, "Deployment")
        if settings.shard_ids:
            options["shard_ids"] = list(settings.shard_ids)
        bot = ShardedArticleBot(shard_count=None if shards == "auto" else shards, **options)
    cog = QACog(bot, service, settings)

    async def setup_hook() -> None:
        await bot.add_cog(cog)
        bot.add_dynamic_items(AnswerButton)
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
    def __init__(self, bot: AnyBot, service: QAService, settings: Settings) -> None:
        self.bot = bot
        self.service = service
        self.settings = settings
        self.cooldowns = Cooldowns(settings.discord_cooldown)
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.menu = app_commands.ContextMenu(name="Ask the article", callback=self.ask_message)
        bot.tree.add_command(self.menu)
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
        self._check_cooldown(interaction.user.id)
        await interaction.response.defer(ephemeral=private, thinking=True)
        await self._answer(interaction, question, private)

    @ask.autocomplete("question")
    async def ask_autocomplete(self, interaction: discord.Interaction[Any],
                               current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=truncate(q, CHOICE_MAX), value=truncate(q, CHOICE_MAX))
                for q in suggestions(current, self.service.examples)]

    async def ask_message(self, interaction: discord.Interaction[Any],
                          message: discord.Message) -> None:
        """Context menu: the message's text is the question."""
        if not message.content.strip():
            raise app_commands.CheckFailure("That message has no text to ask about.")
        self._check_open()
        self._check_cooldown(interaction.user.id)
        await interaction.response.defer(thinking=True)
        await self._answer(interaction, message.content, private=False)

    @app_commands.command(name="about")
    async def about(self, interaction: discord.Interaction[Any]) -> None:
        """The articles I answer from, the model, and when the index was built."""
        await interaction.response.send_message(
            embed=about_embed(self.service.manifest, shard_summary(self.bot, interaction)),
            ephemeral=True)

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        """How to ask, with examples."""
        await interaction.response.send_message(embed=help_embed(self.service.examples),
                                                ephemeral=True)

    @app_commands.command(name="reindex")
    @app_commands.default_permissions(manage_guild=True)
    async def reindex(self, interaction: discord.Interaction[Any]) -> None:
        """Rebuild the index from the articles (Manage Server or the bot's owner only)."""
        # Default permissions only hide the command; a server can change them. Check here.
        allowed = interaction.permissions.manage_guild or await self.bot.is_owner(
            interaction.user)  # type: ignore[arg-type]
        if not allowed:
            raise app_commands.CheckFailure("/reindex needs the Manage Server permission.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        manifest = await asyncio.to_thread(self.service.reindex)
        await interaction.followup.send(
            f"Rebuilt: {manifest.passages} passages from {len(manifest.documents)} "
            f"document(s).", ephemeral=True)

    # --- messages ---------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot:
            return
        conversation = await self._conversation(message.channel)
        mentioned = me in message.mentions
        ref = message.reference.resolved if message.reference else None
        replied = isinstance(ref, discord.Message) and ref.author.id == me.id
        in_thread = conversation is not None and self.settings.discord_message_content
        if not (mentioned or replied or in_thread):
            return
        if self.draining:
            await message.reply(RESTARTING, mention_author=False, allowed_mentions=NO_MENTIONS)
            return
        question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        if not question:
            await message.reply("Ask me a question about the article, e.g. "
                                f"“{(self.service.examples or ['What is it about?'])[0]}”",
                                mention_author=False, allowed_mentions=NO_MENTIONS)
            return
        wait = self.cooldowns.retry_after(message.author.id)
        if wait:
            await message.add_reaction("⏳")
            return
        try:
            async with self._tracked():
                reply = await self.service.ask_async(question, conversation)
        except BotError as err:
            await message.reply(f"⚠️ {err}", mention_author=False, allowed_mentions=NO_MENTIONS)
            return
        await message.reply(
            embed=answer_embed(reply.answer, self.service.examples),
            view=self._view(reply.answer_id, reply.answer, 0, conversation is not None),
            mention_author=False, allowed_mentions=NO_MENTIONS)

    # --- buttons ----------------------------------------------------------------------------

    async def on_answer_button(self, interaction: discord.Interaction[Any], action: str,
                               answer_id: str, offset: int) -> None:
        if self.draining:
            await interaction.response.send_message(RESTARTING, ephemeral=True)
            return
        async with self._tracked():
            await self._on_button(interaction, action, answer_id, offset)

    async def _on_button(self, interaction: discord.Interaction[Any], action: str,
                         answer_id: str, offset: int) -> None:
        private = bool(interaction.message and interaction.message.flags.ephemeral)
        await interaction.response.defer(ephemeral=True if action != "more" else private,
                                         thinking=True)
        if action in ("up", "down"):
            await asyncio.to_thread(self.service.vote, answer_id, interaction.user.id,
                                    1 if action == "up" else -1)
            thanks = "👍" if action == "up" else "👎: the operator will look at it."
            await interaction.followup.send(f"Thanks, noted {thanks}", ephemeral=True)
        elif action == "more":
            answer = await asyncio.to_thread(self.service.more, answer_id, offset)
            if not answer.excerpts:
                await interaction.followup.send("No more excerpts.", ephemeral=True)
                return
            view = discord.ui.View(timeout=None)
            if answer.has_more:
                view.add_item(AnswerButton("more", answer_id, offset + len(answer.excerpts)))
            await interaction.followup.send(
                embed=answer_embed(answer, [], first_number=offset + 1), view=view,
                ephemeral=private, allowed_mentions=NO_MENTIONS)
        elif action == "thread":
            await self._open_thread(interaction, answer_id)

    async def _open_thread(self, interaction: discord.Interaction[Any], answer_id: str) -> None:
        message = interaction.message
        stored = await asyncio.to_thread(self.service.store.answer, answer_id)
        if message is None or stored is None:
            raise BotError("that answer is no longer known; ask the question again")
        thread = await message.create_thread(name=truncate(stored.question, 100),
                                             auto_archive_duration=1440)
        await asyncio.to_thread(self.service.start_conversation, str(thread.id), answer_id)
        how = ("ask here" if self.settings.discord_message_content
               else f"mention {self.bot.user.mention if self.bot.user else 'me'} or use /ask here")
        await thread.send(f"Follow-up questions: {how}. I read them with the earlier ones.",
                          allowed_mentions=NO_MENTIONS)
        await interaction.followup.send(f"Thread opened: {thread.mention}", ephemeral=True)

    # --- shared -----------------------------------------------------------------------------

    async def _answer(self, interaction: discord.Interaction[Any], question: str,
                      private: bool) -> None:
        async with self._tracked():
            conversation = await self._conversation(interaction.channel)
            reply = await self.service.ask_async(question, conversation)
            view = self._view(reply.answer_id, reply.answer, 0,
                              conversation is not None or private)
            await interaction.followup.send(
                embed=answer_embed(reply.answer, self.service.examples), view=view,
                ephemeral=private, allowed_mentions=NO_MENTIONS)

    async def drain(self, timeout: float) -> bool:
        """Stop taking questions and wait (at most ``timeout`` s) for those being answered;
        True if all were. New ones meanwhile are told the bot is restarting."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            logger.warning("closing with %d answers still in flight", self._in_flight)
            return False

    @contextlib.asynccontextmanager
    async def _tracked(self) -> AsyncIterator[None]:
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    def _check_open(self) -> None:
        if self.draining:
            raise Restarting()

    def _view(self, answer_id: str, answer: Any, offset: int, in_thread: bool) -> discord.ui.View:
        next_offset = offset + len(answer.excerpts) if answer.has_more else None
        return answer_view(answer_id, bool(answer.excerpts), next_offset, in_thread)

    async def _conversation(self, channel: Any) -> str | None:
        """The conversation id when ``channel`` is a thread opened from an answer."""
        if channel is None:
            return None
        key = str(channel.id)
        return key if await asyncio.to_thread(self.service.is_conversation, key) else None

    def _check_cooldown(self, user_id: int) -> None:
        wait = self.cooldowns.retry_after(user_id)
        if wait:
            raise OnCooldown(wait)

    async def on_app_command_error(self, interaction: discord.Interaction[Any],
                                   error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, app_commands.CheckFailure):
            text = str(original) or "You can't use this command here."
        elif isinstance(original, BotError):
            text = str(original)
        else:
            command = interaction.command.name if interaction.command else "?"
            logger.error("/%s failed", command, exc_info=original)
            text = SORRY
        try:
            if interaction.response.is_done():
                await interaction.followup.send(f"⚠️ {text}", ephemeral=True)
            else:
                await interaction.response.send_message(f"⚠️ {text}", ephemeral=True)
        except discord.HTTPException:
            logger.warning("could not tell the user about an error", exc_info=True)


async def sync_commands(bot: AnyBot, settings: Settings) -> bool:
    """Sync the commands with Discord only when they (or the target guilds) changed since
    the last sync; returns whether it synced. The state lives in the data folder."""
    payload = json.dumps({
        "app": bot.application_id,
        "guilds": settings.guild_ids,
        "commands": [c.to_dict(bot.tree) for c in bot.tree.get_commands()],
    }, sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode()).hexdigest()
    state = settings.data_dir / "command-sync.sha256"
    if state.is_file() and state.read_text().strip() == digest:
        logger.info("commands unchanged; not syncing")
        return False
    if settings.guild_ids:
        for guild_id in settings.guild_ids:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            await bot.tree.sync(guild=guild)
    else:
        await bot.tree.sync()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state.write_text(digest + "\n")
    logger.info("commands synced (%s)", settings.guild_ids or "global")
    return True
