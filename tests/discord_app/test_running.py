"""Running the bot: start (and an unreachable Discord, defect 10), a rejected token, shards,
a dropped gateway, refused follow-ups, SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import discord
import discord.http
import pytest
from click.testing import CliRunner

from bot.answer import Answerer
from bot.cli import main
from bot.config import Settings
from bot.discord_app.run import serve, warn_if_env_readable
from bot.errors import BotError
from bot.service import QAService
from bot.store import Store
from tests.discord_app.harness import Harness, is_private, text_of
from tests.standin import APP_ID, DiscordStandIn

SECRET = "not-the-token-Secr3t"


def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_rejected_token_is_one_clear_error(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store.open(settings.data_dir)
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(BotError, match="rejected the token"):
            await serve(QAService(settings, answerer, store), settings, SECRET)
    finally:
        store.close()
    assert SECRET not in caplog.text


async def test_unreachable_discord_is_retried_then_one_clear_error(
    settings: Settings, answerer: Answerer, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Defect 10: no traceback; one warning line, retries with backoff for the configured
    time, then a BotError (exit code 2 from the command line); the token never shown."""
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{closed_port()}/api/v10")
    store = Store.open(settings.data_dir)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(BotError, match="could not reach"):
            await serve(QAService(settings, answerer, store),
                        settings.model_copy(update={"discord_connect_timeout": 1.5}), SECRET)
    finally:
        store.close()
    took = time.monotonic() - started
    assert 1.0 < took < 10.0  # retried for the time allowed, not forever
    ours = [r for r in caplog.records if r.name.startswith("bot.")]
    warnings = [r for r in ours if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cannot reach Discord" in warnings[0].getMessage()
    assert any("still cannot reach" in r.getMessage() for r in ours)  # it did retry
    assert not any(r.exc_info for r in caplog.records)
    assert SECRET not in caplog.text


async def test_discord_answering_5xx_at_start_is_retried_until_it_recovers(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
) -> None:
    """Defect 10: Discord down for a moment at start (503 for login) is waited out."""
    standin.fail("GET", "/users/@me", 503)
    store = Store.open(settings.data_dir)
    task = asyncio.create_task(serve(QAService(settings, answerer, store), settings,
                                     standin.token))
    try:
        await standin.wait_for(lambda: standin.gateway.identifies == 1, timeout=15)
        assert len(standin.find("GET", "/users/@me")) == 2  # refused, then in
        interaction = await standin.slash("ask", {"question": "What is Lasso?"})
        await standin.wait_for(lambda: standin.settled(interaction))
        assert "Lasso" in text_of(standin.shown(interaction)[0])
    finally:
        if not task.done():  # (a signal with no handler installed would end pytest)
            os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 15)
        store.close()


def test_command_line_when_discord_cannot_be_reached(
    settings: Settings, answerer: Answerer, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Defect 10, from the command line: one line, a non-zero exit, no traceback, no token."""
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{closed_port()}/api/v10")
    monkeypatch.setattr("bot.discord_app.run.open_answerer", lambda s: (answerer, None))
    monkeypatch.setattr("bot.discord_app.run.PROJECT_ROOT", tmp_path)
    env = {"DISCORD_TOKEN": SECRET, "DISCORD_CONNECT_TIMEOUT": "1", "BOT_LOG_LEVEL": "WARNING",
           "BOT_DATA_DIR": str(settings.data_dir), "BOT_INDEX_DIR": str(settings.index_dir),
           "BOT_SEEDS_DIR": str(settings.seeds_dir)}
    result = CliRunner().invoke(main, ["discord"], env=env)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and SECRET not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "could not reach Discord within 1 s" in errors[0]


async def test_shard_setting_runs_the_auto_sharded_bot(standin: DiscordStandIn,
                                                        settings: Settings,
                                                        answerer: Answerer) -> None:
    h = Harness(standin, settings.model_copy(update={"discord_shards": "auto"}), answerer)
    await h.start()
    try:
        assert isinstance(h.bot, discord.AutoShardedClient)
        assert standin.find("GET", "/gateway/bot")  # asked Discord how many shards to run
        _, message = await h.ask("What is Lasso?")
        assert "Lasso" in text_of(message)
    finally:
        await h.stop()


async def test_dropped_gateway_resumes_and_still_answers(harness: Harness) -> None:
    await harness.standin.drop_connection(4000)
    await harness.standin.wait_for(lambda: harness.standin.gateway.resumes >= 1)
    _, message = await harness.ask("What is Lasso?")
    assert "Lasso" in text_of(message)
    assert harness.standin.gateway.identifies == 1  # resumed, not re-identified


async def test_rate_limits_and_server_errors_on_the_answer_still_answer_once(
    harness: Harness,
) -> None:
    harness.standin.fail("PATCH", "/messages/@original", 429, 502)
    interaction, message = await harness.ask("What is Lasso?")
    assert "Lasso" in text_of(message)
    path = f"/webhooks/{APP_ID}/{interaction['token']}/messages/@original"
    await harness.standin.wait_for(lambda: len(harness.standin.find("PATCH", path)) >= 3)
    await asyncio.sleep(0.5)  # time for a wrong extra attempt to show up
    assert len(harness.standin.find("PATCH", path)) == 3  # two refused, then the one that landed
    assert harness.standin.shown(interaction) == [message]



async def test_an_acknowledgement_applied_but_answered_with_a_5xx_still_answers(
    harness: Harness,
) -> None:
    """Discord applies the deferral, the reply to it is lost (502), discord.py sends it
    again and Discord refuses that with 40060: the answer must still replace the loading
    message, not a second response be tried."""
    harness.standin.fail("POST", "/callback", 502, applied=True)
    harness.standin.expected_codes.add(40060)
    interaction, message = await harness.ask("What is Lasso?")
    assert "Lasso" in text_of(message)
    assert harness.standin.shown(interaction) == [message]
    callbacks = harness.standin.find("POST", f"/{interaction['token']}/callback")
    assert [c.status for c in callbacks] == [502, 400]  # applied, then the refused retry

def test_env_file_readable_by_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    env = tmp_path / ".env"
    env.write_text("DISCORD_TOKEN=x\n")
    env.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert warn_if_env_readable(env)
    assert "chmod 600" in caplog.text and "DISCORD_TOKEN=x" not in caplog.text
    env.chmod(0o600)
    assert not warn_if_env_readable(env)


async def test_sigterm_closes_the_bot_cleanly(standin: DiscordStandIn, settings: Settings,
                                              answerer: Answerer) -> None:
    store = Store.open(settings.data_dir)
    task = asyncio.create_task(serve(QAService(settings, answerer, store), settings,
                                     standin.token))
    try:
        await standin.wait_for(lambda: standin.gateway.identifies == 1 and standin.find(
            "PUT", "/commands"))
        assert not task.done()
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 10)  # returns: no exception, no hang
    finally:
        store.close()
    assert task.done() and task.exception() is None


@pytest.mark.any_outcome("answers in flight are finished, whatever they are")
async def test_sigterm_finishes_answers_in_flight_and_turns_new_ones_away(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
) -> None:
    store = Store.open(settings.data_dir)
    service = QAService(settings, answerer, store)
    answer = service.ask_async

    async def slow(*args: Any) -> Any:  # so the questions are surely in flight
        await asyncio.sleep(0.5)
        return await answer(*args)

    service.ask_async = slow  # type: ignore[method-assign]
    task = asyncio.create_task(serve(service, settings, standin.token))
    try:
        await standin.wait_for(lambda: standin.gateway.identifies == 1 and standin.find(
            "PUT", "/commands"))
        in_flight = [await standin.slash("ask", {"question": q}, user_id=str(5000 + i))
                     for i, q in enumerate(["What is Lasso?", "Who built TikTok?",
                                            "Who leaked the recordings?"])]
        await standin.wait_for(lambda: all(standin.find("POST", f"/{p['token']}/callback")
                                           for p in in_flight))
        assert not task.done()
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        late = await standin.slash("ask", {"question": "What is Lasso?"}, user_id="6000")
        await asyncio.wait_for(task, 20)
    finally:
        store.close()
    for payload in in_flight:
        shown = standin.shown(payload)
        assert len(shown) == 1 and shown[0]["embeds"]  # answered, once
    refusal = standin.shown(late)
    assert len(refusal) == 1 and "restarting" in refusal[0]["content"]
    assert is_private(refusal[0])


async def test_a_stop_that_cannot_wait_tells_the_askers_it_abandons(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Answers still being worked on when the stop's wait runs out: the loading message of
    a slash command, and a mention, each get a line saying to ask again, instead of
    "thinking…" until Discord drops it 15 minutes later."""
    monkeypatch.setattr("bot.discord_app.run.DRAIN_SECONDS", 0.5)
    store = Store.open(settings.data_dir)
    service = QAService(settings, answerer, store)

    async def stuck(*args: Any) -> Any:
        await asyncio.sleep(60)

    service.ask_async = stuck  # type: ignore[method-assign]
    task = asyncio.create_task(serve(service, settings, standin.token))
    try:
        await standin.wait_for(lambda: standin.gateway.identifies == 1 and standin.find(
            "PUT", "/commands"))
        slash = await standin.slash("ask", {"question": "What is Lasso?"}, user_id="5100")
        mention = await standin.say("Who built TikTok?", mention_bot=True, user_id="5101")
        await standin.wait_for(lambda: standin.find("POST", f"/{slash['token']}/callback"))
        await asyncio.sleep(0.3)  # the mention reaches the answerer too
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 20)
    finally:
        store.close()
    [told] = standin.shown(slash)
    assert "restart" in told["content"] and "ask again" in told["content"]
    [replied] = [m for m in standin.bot_messages(mention["channel_id"])
                 if (m.get("message_reference") or {}).get("message_id") == mention["id"]]
    assert "ask again" in replied["content"]
