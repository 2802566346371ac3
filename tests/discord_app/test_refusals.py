"""Discord refusing the bot at start: each gateway close code after which Discord says not
to reconnect (topics/opcodes-and-status-codes.mdx, Gateway Close Event Codes) ends the bot
with one line saying what to change, a non-zero exit, no traceback and never the token,
with one connection and with shards; and `python -m bot discord` itself, for 4011."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.answer import Answerer
from bot.config import Settings
from bot.discord_app.run import serve
from bot.errors import BotError
from bot.service import QAService
from bot.store import Store
from tests.discord_app.processes import BotProcess, environment
from tests.standin import DiscordStandIn


def _reject_token(standin: DiscordStandIn) -> None:
    standin.gateway.close_code = 4004  # (a token reset after login; the bot cannot send one)


def _invalid_shard(standin: DiscordStandIn) -> None:
    standin.gateway.close_code = 4010  # (the bot's settings let no shard id past the count)


def _too_many_guilds(standin: DiscordStandIn) -> None:
    standin.max_guilds_per_session = 0  # a session with any guild holds too many


def _retired_version(standin: DiscordStandIn) -> None:
    standin.gateway_versions = (11,)  # as if Discord had retired the v10 discord.py speaks


def _unknown_intents(standin: DiscordStandIn) -> None:
    standin.gateway.known_intents = 0  # as if Discord knew none of the intents asked for


def _intent_not_enabled(standin: DiscordStandIn) -> None:
    standin.message_content_enabled = False  # and the bot asks for it (below)


# code: how the stand-in is made to close with it, and what the line must tell to change
CASES: dict[int, tuple[Callable[[DiscordStandIn], None], str]] = {
    4004: (_reject_token, "DISCORD_TOKEN"),
    4010: (_invalid_shard, "DISCORD_SHARD_COUNT"),
    4011: (_too_many_guilds, "DISCORD_SHARD"),
    4012: (_retired_version, "upgrade discord.py"),
    4013: (_unknown_intents, "upgrade discord.py"),
    4014: (_intent_not_enabled, "DISCORD_MESSAGE_CONTENT"),
}


@pytest.mark.parametrize("sharded", [False, True], ids=["one connection", "shards"])
@pytest.mark.parametrize("code", sorted(CASES))
async def test_a_close_code_that_says_stop_ends_the_bot_in_one_line(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
    caplog: pytest.LogCaptureFixture, code: int, sharded: bool,
) -> None:
    flip, what_to_change = CASES[code]
    flip(standin)
    standin.max_concurrency = 2  # both shards may identify at once
    update: dict[str, object] = {"discord_message_content": code == 4014}
    if sharded:
        update["discord_shard_count"] = 2
    configured = settings.model_copy(update=update)
    store = Store.open(settings.data_dir)
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(BotError) as refused:
            # discord.py alone would retry a sharded 4012 forever: the bot must stop
            await asyncio.wait_for(serve(QAService(configured, answerer, store), configured,
                                         standin.token), 20)
    finally:
        store.close()
    line = str(refused.value)
    assert f"close code {code}" in line and what_to_change in line, line
    if code == 4011:  # what to set depends on whether the bot is sharded already
        assert ("DISCORD_SHARD_COUNT" if sharded else "DISCORD_SHARDS=auto") in line
    assert "\n" not in line and standin.token not in line + caplog.text
    assert not any(r.exc_info for r in caplog.records)  # no traceback, in the log either
    closed = standin.gateway.closed_with
    assert closed and set(closed) == {code}
    assert len(closed) <= (2 if sharded else 1)  # each shard refused once: never retried


async def test_the_command_line_exits_with_one_line(
    standin: DiscordStandIn, settings: Settings, tmp_path: Path,
) -> None:
    """`python -m bot discord` as an operator runs it, for the refusal a growing bot meets
    (4011: past 2,500 servers on one connection): exit code 2, one line, no traceback."""
    _too_many_guilds(standin)
    env = environment(standin, BOT_SEEDS_DIR=str(settings.seeds_dir),
                      BOT_INDEX_DIR=str(settings.index_dir),
                      BOT_DATA_DIR=str(tmp_path / "data"), BOT_LOG_LEVEL="INFO")
    bot = BotProcess("bot", env, tmp_path / "bot.log").start()
    try:
        code = await bot.exit_code(120)
    finally:
        bot.kill()
    output = bot.log.read_text()
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert "close code 4011" in errors[0] and "DISCORD_SHARDS=auto" in errors[0]
    assert "Traceback" not in output and standin.token not in output
