"""Metrics and health, scraped over HTTP from a bot running against the stand-in: the counts
move as questions are asked and interactions happen, Discord's refusals are counted by
status and code, and /health turns not-ready, saying why, when a shard loses its gateway
connection or the database stops answering, and ready again when they come back. The
scrapes are read with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.answer import Answer, Answerer
from bot.answerability.model import Outcome
from bot.config import Settings
from bot.discord_app.health import start_ops_server
from bot.discord_app.metrics import BotMetrics, error_kind, outcome
from bot.errors import BotError, IndexUnavailable, InvalidQuestion
from bot.store import Store, StoreError
from bot.store.postgres import PostgresStore
from tests.discord_app.harness import Harness, button, text_of
from tests.pgserver import PgServer
from tests.standin import BOT_PERMISSIONS, CHANNEL_ID, DiscordStandIn
from tests.standin.objects import READ_MESSAGE_HISTORY

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

ANSWERED = "How much revenue did TikTok make?"
UNCOVERED = "Will it rain in Oslo?"
TAUGHT = "Who makes the money at TikTok?"


async def get(h: Harness, path: str) -> tuple[int, str]:
    assert h.ops is not None
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{h.ops.port}{path}") as response:
        return response.status, await response.text()


async def scrape(h: Harness) -> Samples:
    status, text = await get(h, "/metrics")
    assert status == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def health(h: Harness) -> tuple[int, dict[str, Any]]:
    status, text = await get(h, "/health")
    body: dict[str, Any] = json.loads(text)
    return status, body


async def until_health(h: Harness, ready: bool, timeout: float = 30) -> dict[str, Any]:
    """The health body, once it says ``ready``."""
    async def check() -> dict[str, Any]:
        while True:
            status, body = await health(h)
            if body["ready"] is ready:
                assert status == (200 if ready else 503)
                return body
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(check(), timeout)


@pytest.fixture()
async def served(standin: DiscordStandIn, settings: Settings,
                 answerer: Answerer) -> AsyncIterator[Harness]:
    h = Harness(standin, settings.model_copy(update={"metrics_port": 0}), answerer)
    await h.start()
    yield h
    await h.stop()


async def test_counts_move_as_questions_are_asked_and_interactions_happen(
    served: Harness,
) -> None:
    h, standin = served, served.standin
    assert h.service is not None
    before = await scrape(h)

    _, answered = await h.ask(ANSWERED)
    _, uncovered = await h.ask(UNCOVERED)
    assert "doesn't cover" in text_of(uncovered)
    us = next(p.id for p in h.service.answerer.index.passages if "$7 billion" in p.text)
    await asyncio.to_thread(h.service.teacher.teach, TAUGHT, [us])
    _, taught = await h.ask(TAUGHT)
    assert "taught answer" in text_of(taught)
    message = await standin.say("What is Lasso?", user_id="800")
    assert "Lasso" in text_of(await h.reply(await standin.context_menu(message)))
    await standin.say("What is Lasso?", mention_bot=True)
    await h.posted(CHANNEL_ID)
    voted = await h.reply(await standin.click(answered, button(answered, "up")))
    assert "Thanks" in voted["content"]
    after = await scrape(h)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    questions = "bot_questions_total"
    # counted under the outcome the store recorded (this one is quoted: sure or unsure)
    assert h.store is not None
    stored = h.store.answer(button(answered, "up").split(":")[2])
    assert stored is not None and stored.status in ("answered", "tentative")
    assert moved(questions, front_end="slash", outcome=stored.status) == 1
    assert moved(questions, front_end="slash", outcome="none") == 1
    assert moved(questions, front_end="slash", outcome="taught") == 1
    assert sum(moved(questions, front_end="menu", outcome=o)
               for o in ("answered", "tentative")) == 1
    assert sum(moved(questions, front_end="mention", outcome=o)
               for o in ("answered", "tentative")) == 1
    assert moved("bot_answer_seconds_count") == 5 and moved("bot_answer_seconds_sum") > 0
    for kind, count in (("slash", 3), ("menu", 1), ("component", 1)):
        assert moved("bot_interactions_total", kind=kind) == count, kind
        assert moved("bot_interactions_acknowledged_total", kind=kind) == count, kind
    assert moved("bot_interaction_ack_seconds_count") == 5
    assert moved("bot_interaction_ack_seconds_sum") > 0  # from each id's own time
    assert moved("bot_interaction_ack_seconds_bucket", le="3.0") == 5  # all within 3 s
    assert not any(name == "bot_errors_total" and v for (name, _), v in after.items())

    # what is read at the scrape
    index = h.service.answerer.index
    assert index.folder is not None
    assert value(after, "bot_index_info", generation=index.folder.name,
                 built_at=index.manifest.built_at, encoder=index.manifest.encoder) == 1
    assert value(after, "bot_index_documents") == len(index.manifest.documents)
    assert value(after, "bot_index_passages") == index.manifest.passages
    assert value(after, "bot_store_info", engine="sqlite") == 1
    assert value(after, "bot_store_connections_max") == 1
    assert value(after, "bot_gateway_connected", shard="0") == 1
    assert value(after, "bot_ready") == 1
    assert value(after, "process_resident_memory_bytes") > 100e6  # the model and the index

    status, body = await health(h)
    assert status == 200 and body["ready"] is True
    assert set(body["checks"]) == {"index", "store", "shards", "accepting"}
    assert "answered in" in body["checks"]["store"]["detail"]


async def test_discord_refusals_are_counted_by_status_and_code(served: Harness) -> None:
    """A 429 and a 502 that discord.py retries by itself, and a reply refused with 403
    (160002, no Read Message History) when that permission went away unannounced: each
    counted once, by status and JSON error code, and every answer still lands."""
    h, standin = served, served.standin
    before = await scrape(h)
    standin.fail("PATCH", "/messages/@original", 429, 502)
    _, answer = await h.ask(ANSWERED)
    assert answer["embeds"]
    standin.bot_permissions = BOT_PERMISSIONS & ~READ_MESSAGE_HISTORY  # unannounced
    standin.expected_codes.add(160002)
    await standin.say("What is Lasso?", mention_bot=True, user_id="704")
    assert "Lasso" in text_of((await h.posted(CHANNEL_ID))[0])
    after = await scrape(h)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("bot_discord_http_errors_total", status="429", code="0") == 1
    assert moved("bot_discord_http_errors_total", status="502", code="0") == 1
    assert moved("bot_discord_http_errors_total", status="403", code="160002") == 1
    assert moved("bot_errors_total", kind="discord_http") == 3


async def test_health_names_a_disconnected_shard_until_it_is_back(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
) -> None:
    standin.max_concurrency = 2  # both shards identify at once
    sharded = settings.model_copy(update={"discord_shard_count": 2, "metrics_port": 0})
    h = Harness(standin, sharded, answerer)
    await h.start()
    try:
        body = await until_health(h, ready=True)
        assert body["checks"]["shards"] == {"ok": True, "detail": "2 shard(s) connected"}
        standin.gateway.unreachable = True
        await standin.drop_connection(shard=1)
        body = await until_health(h, ready=False)
        assert body["checks"]["shards"] == {"ok": False, "detail": "shard 1 not connected"}
        assert all(c["ok"] for name, c in body["checks"].items() if name != "shards")
        samples = await scrape(h)
        assert value(samples, "bot_gateway_connected", shard="0") == 1
        assert value(samples, "bot_gateway_connected", shard="1") == 0
        assert value(samples, "bot_ready") == 0
        assert value(samples, "bot_ready_check", check="shards") == 0
        assert value(samples, "bot_ready_check", check="store") == 1
        standin.gateway.unreachable = False
        await until_health(h, ready=True, timeout=60)  # discord.py's backoff, then RESUME
        assert value(await scrape(h), "bot_gateway_connected", shard="1") == 1
    finally:
        standin.gateway.unreachable = False
        await h.stop()


async def test_health_says_the_database_is_not_answering_until_it_is_back(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer, postgres: PgServer,
) -> None:
    url = postgres.database()

    def open_store(data_dir: Path) -> Store:
        return PostgresStore(url, b"secret", pool_size=3, retry_seconds=1)

    h = Harness(standin, settings.model_copy(update={"metrics_port": 0}), answerer, open_store)
    await h.start()
    try:
        body = await until_health(h, ready=True)
        assert body["checks"]["store"]["detail"].startswith("postgresql://")
        samples = await scrape(h)
        assert value(samples, "bot_store_info", engine="postgresql") == 1
        assert value(samples, "bot_store_connections_max") == 3
        assert 1 <= value(samples, "bot_store_connections_open") <= 3
        assert value(samples, "bot_store_connections_in_use") == 0
        await asyncio.to_thread(postgres.stop)
        body = await until_health(h, ready=False)
        store = body["checks"]["store"]
        assert store["ok"] is False
        assert "did not answer within 2 s" in store["detail"] or "could not read" in store[
            "detail"]
        assert body["checks"]["shards"]["ok"] and body["checks"]["index"]["ok"]
        await asyncio.to_thread(postgres.start)
        await until_health(h, ready=True)
        _, answer = await h.ask(ANSWERED)  # and the bot answers from it again
        assert answer["embeds"]
    finally:
        await asyncio.to_thread(postgres.start)
        await h.stop()


async def test_a_taken_port_is_one_line_naming_the_setting(harness: Harness) -> None:
    assert harness.service is not None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BotError, match=f"cannot serve metrics on 127.0.0.1:{port} .*"
                                           "BOT_METRICS_PORT"):
            await start_ops_server(BotMetrics(harness.service), "127.0.0.1", port)
    assert await start_ops_server(BotMetrics(harness.service), "127.0.0.1", None) is None


def test_metrics_are_off_unless_a_port_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_METRICS_PORT", "BOT_METRICS_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().metrics_port is None and Settings().metrics_host == "127.0.0.1"
    monkeypatch.setenv("BOT_METRICS_PORT", " ")
    assert Settings().metrics_port is None
    monkeypatch.setenv("BOT_METRICS_PORT", "9464")
    assert Settings().metrics_port == 9464
    for bad in ("70000", "-1", "http"):
        monkeypatch.setenv("BOT_METRICS_PORT", bad)
        with pytest.raises(ValueError, match=r"metrics_port"):
            Settings()
    monkeypatch.setenv("BOT_METRICS_PORT", "9464")
    monkeypatch.setenv("BOT_METRICS_HOST", "http://0.0.0.0")
    with pytest.raises(ValueError, match="BOT_METRICS_HOST must be an address"):
        Settings()


@pytest.mark.parametrize(("error", "kind"), [
    (StoreError("could not save"), "store"),
    (IndexUnavailable("no index"), "index"),
    (InvalidQuestion("too long"), None),  # the user's, and told so
    (discord.app_commands.CheckFailure("no permission"), None),
    (RuntimeError("a bug"), "unexpected"),
])
def test_errors_are_counted_by_kind(error: BaseException, kind: str | None) -> None:
    assert error_kind(error) == kind


@pytest.mark.parametrize(("answer", "label"), [
    (Answer("q", Outcome.ANSWERED, ()), "answered"),
    (Answer("q", Outcome.TENTATIVE, ()), "tentative"),
    (Answer("q", Outcome.NONE, ()), "none"),
    (Answer("q", Outcome.ANSWERED, (), taught=True), "taught"),
])
def test_outcome_labels(answer: Answer, label: str) -> None:
    assert outcome(answer) == label
