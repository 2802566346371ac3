"""End to end: the real discord.py client, running the real bot, against the loopback
stand-in (tests/discord_standin.py) with the real model, index and SQLite store."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import discord.gateway
import discord.http
import pytest
import yarl
from click.testing import CliRunner

from bot.answer import Answerer
from bot.cli import main
from bot.config import Settings
from bot.discord_app.client import make_bot
from bot.discord_app.format import EMBEDS_TOTAL_MAX, FIELD_VALUE_MAX
from bot.discord_app.run import serve
from bot.errors import BotError
from bot.service import QAService, open_answerer
from bot.store import Store
from tests.discord_standin import APP_ID, BOT_ID, MANAGE_GUILD, DiscordStandIn

pytestmark = pytest.mark.timeout(120)

EPHEMERAL = 64


class Harness:
    def __init__(self, standin: DiscordStandIn, settings: Settings, answerer: Answerer) -> None:
        self.standin = standin
        self.settings = settings
        self.answerer = answerer
        self.bot: Any = None
        self.store: Store | None = None
        self.service: QAService | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.store = Store.open(self.settings.data_dir)
        self.service = QAService(self.settings, self.answerer, self.store)
        self.bot = make_bot(self.service, self.settings)
        self.bot._connection.guild_ready_timeout = 0.05
        self._task = asyncio.create_task(self.bot.start(self.standin.token))
        await asyncio.wait_for(self.bot.wait_until_ready(), 20)

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)
        if self.store is not None:
            self.store.close()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def ask(self, question: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sends /ask; returns the interaction and the bot's final message body."""
        private = kwargs.pop("private", None)
        options: dict[str, Any] = {"question": question}
        if private is not None:
            options["private"] = private
        interaction = await self.standin.slash("ask", options, **kwargs)
        return interaction, await self.followup(interaction)

    async def followup(self, interaction: dict[str, Any]) -> dict[str, Any]:
        token = interaction["token"]
        calls = await self.standin.wait_for(
            lambda: self.standin.find("POST", f"/webhooks/{APP_ID}/{token}"))
        body: dict[str, Any] = calls[-1].body
        return body

    async def callback(self, interaction: dict[str, Any]) -> dict[str, Any]:
        token = interaction["token"]
        calls = await self.standin.wait_for(
            lambda: self.standin.find("POST", f"/{token}/callback"))
        body: dict[str, Any] = calls[0].body
        return body

    def as_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """The bot's follow-up as the message Discord would show (to click its buttons)."""
        return next(m for m in reversed(self.standin.messages.values())
                    if m["author"]["id"] == BOT_ID and m["embeds"] == body.get("embeds"))


def custom_ids(body: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in body.get("components", []) for c in row["components"]]


def fields_text(body: dict[str, Any]) -> str:
    embed = body["embeds"][0]
    return "\n".join([embed.get("title", ""), embed.get("description", "")]
                     + [f["name"] + "\n" + f["value"] for f in embed.get("fields", [])])


@pytest.fixture()
async def standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    server = DiscordStandIn()
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        yarl.URL(server.gateway_url))
    yield server
    await server.stop()


@pytest.fixture()
def settings(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> Settings:
    index_copy = tmp_path / "index"
    shutil.copytree(index_dir, index_copy)
    return Settings(seeds_dir=seeds_dir, index_dir=index_copy, data_dir=tmp_path / "data",
                    discord_cooldown=0)


@pytest.fixture()
async def harness(standin: DiscordStandIn, settings: Settings,
                  answerer: Answerer) -> AsyncIterator[Harness]:
    h = Harness(standin, settings, answerer)
    await h.start()
    yield h
    await h.stop()


async def test_ask_is_acknowledged_then_answered_with_a_cited_embed(harness: Harness) -> None:
    sent = time.monotonic()
    interaction, body = await harness.ask("How much revenue did TikTok make?")
    callback = await harness.callback(interaction)
    acked = harness.standin.find("POST", f"/{interaction['token']}/callback")[0].at
    assert callback["type"] == 5 and acked - sent < 3.0  # deferred within Discord's window
    embed = body["embeds"][0]
    assert embed["title"] == "How much revenue did TikTok make?"
    first = embed["fields"][0]
    assert first["name"].startswith("1. ¶5 · TikTok’s revenue")
    assert "$7 billion" in first["value"] and "**" in first["value"]
    assert embed["footer"]["text"] == "From “TikTok’s revenue is apparently over $7 billion”"
    assert body["allowed_mentions"] == {"parse": []}
    ids = custom_ids(body)
    assert any(i.startswith("ab:up:") for i in ids) and any(i.startswith("ab:down:") for i in ids)
    assert any(i.startswith("ab:thread:") for i in ids)


async def test_private_answers_are_private_from_the_start(harness: Harness) -> None:
    interaction, body = await harness.ask("What is Lasso?", private=True)
    callback = await harness.callback(interaction)
    assert callback["data"]["flags"] & EPHEMERAL and body["flags"] & EPHEMERAL
    assert not any(i.startswith("ab:thread:") for i in custom_ids(body))


async def test_abstention_says_so_and_offers_examples(harness: Harness) -> None:
    _, body = await harness.ask("What is the weather in Paris?")
    text = fields_text(body)
    assert "doesn't cover that" in text
    assert "How much revenue did TikTok make in the first half of the year?" in text
    assert not body["embeds"][0].get("fields")
    assert not any(i.startswith(("ab:up", "ab:down")) for i in custom_ids(body))


async def test_more_excerpts_continue_the_numbering(harness: Harness) -> None:
    _, body = await harness.ask("How is TikTok doing?")
    more = next(i for i in custom_ids(body) if i.startswith("ab:more:"))
    click = await harness.standin.click(harness.as_message(body), more)
    page = await harness.followup(click)
    assert page["embeds"][0]["fields"][0]["name"].startswith("4. ¶")
    first_page = {f["value"] for f in body["embeds"][0]["fields"]}
    assert not first_page & {f["value"] for f in page["embeds"][0]["fields"]}


async def test_votes_are_hashed_replaced_and_survive_a_restart(harness: Harness) -> None:
    _, body = await harness.ask("Who leaked the Facebook Q&A recordings?")
    message = harness.as_message(body)
    up = next(i for i in custom_ids(body) if i.startswith("ab:up:"))
    down = up.replace("ab:up:", "ab:down:")
    alice, bob, carol = "731918273645546470", "731918273645546471", "731918273645546472"
    for custom_id, user_id in ((up, alice), (down, alice), (up, bob)):
        reply = await harness.followup(await harness.standin.click(message, custom_id,
                                                                   user_id=user_id))
        assert reply["flags"] & EPHEMERAL and "Thanks" in reply["content"]
    await harness.restart()  # persistent buttons: a new process still understands them
    reply = await harness.followup(await harness.standin.click(message, down, user_id=carol))
    assert "Thanks" in reply["content"]
    assert harness.store is not None
    votes = harness.store.votes()
    assert sorted(v.vote for v in votes) == [-1, -1, 1]  # alice changed her mind
    assert all(v.question == "Who leaked the Facebook Q&A recordings?" for v in votes)
    assert all(v.passage_ids for v in votes)
    stored = b"".join(p.read_bytes() for p in harness.settings.data_dir.glob("bot.sqlite3*"))
    assert not any(uid.encode() in stored for uid in (alice, bob, carol))  # keyed hashes only
    result = CliRunner().invoke(main, ["report"], env={
        "BOT_DATA_DIR": str(harness.settings.data_dir)})
    assert result.exit_code == 0 and "Who leaked the Facebook Q&A recordings?" in result.stdout


async def test_autocomplete_suggests_quickly(harness: Harness) -> None:
    sent = time.monotonic()
    interaction = await harness.standin.autocomplete("revenue tik")
    callback = await harness.callback(interaction)
    at = harness.standin.find("POST", f"/{interaction['token']}/callback")[0].at
    choices = callback["data"]["choices"]
    assert callback["type"] == 8 and at - sent < 1.0 and 1 <= len(choices) <= 25
    assert choices[0]["value"] == "revenue tik"
    assert any("revenue" in c["name"] for c in choices[1:])


async def test_context_menu_asks_the_message_text(harness: Harness) -> None:
    message = harness.standin.message("What is Facebook's version of TikTok called?",
                                      author={"id": "800", "username": "someone",
                                              "discriminator": "0", "avatar": None})
    body = await harness.followup(await harness.standin.context_menu(message))
    assert "Lasso" in fields_text(body)


async def test_mentions_and_replies_are_answered_in_the_channel(harness: Harness) -> None:
    await harness.standin.say("Who published the leaked audio?", mention_bot=True)
    posted = await harness.standin.wait_for(
        lambda: harness.standin.find("POST", "/channels/") and
        [c for c in harness.standin.find("POST", "/messages") if c.body.get("embeds")])
    reply = posted[0].body
    assert "Verge" in fields_text(reply) and reply["allowed_mentions"]["parse"] == []
    assert reply["message_reference"]
    answer = next(m for m in harness.standin.messages.values() if m["embeds"] == reply["embeds"])
    await harness.standin.say("What is Lasso?", reply_to=answer)
    await harness.standin.wait_for(
        lambda: len([c for c in harness.standin.find("POST", "/messages")
                     if c.body.get("embeds")]) == 2)


async def test_follow_up_in_a_thread_uses_the_earlier_question(harness: Harness) -> None:
    _, body = await harness.ask("How much revenue did TikTok make?")
    thread_button = next(i for i in custom_ids(body) if i.startswith("ab:thread:"))
    message = harness.as_message(body)
    opened = await harness.followup(await harness.standin.click(message, thread_button))
    assert "Thread opened" in opened["content"]
    created = harness.standin.find("POST", f"/messages/{message['id']}/threads")
    assert len(created) == 1
    thread_id = message["id"]
    await harness.standin.wait_for(lambda: harness.standin.find("POST",
                                                                f"/channels/{thread_id}/messages"))
    await harness.standin.say("and how much of it came from China?", mention_bot=True,
                              channel_id=thread_id)
    answers = await harness.standin.wait_for(lambda: [
        c for c in harness.standin.find("POST", f"/channels/{thread_id}/messages")
        if c.body.get("embeds")])
    assert "most of it came from China" in fields_text(answers[0].body)


async def test_about_and_help(harness: Harness) -> None:
    about = await harness.callback(await harness.standin.slash("about"))
    text = fields_text(about["data"])
    assert about["data"]["flags"] & EPHEMERAL
    assert "TikTok’s revenue is apparently over $7 billion" in text
    assert "10 passages" in text and "all-MiniLM-L6-v2" in text
    help_ = await harness.callback(await harness.standin.slash("help"))
    assert "/ask" in fields_text(help_["data"]) and "Who built TikTok?" in fields_text(
        help_["data"])


async def test_reindex_is_refused_without_manage_server(harness: Harness) -> None:
    refused = await harness.callback(await harness.standin.slash("reindex"))
    assert refused["type"] == 4 and refused["data"]["flags"] & EPHEMERAL
    assert "Manage Server" in refused["data"]["content"]
    allowed = await harness.followup(await harness.standin.slash("reindex",
                                                                 permissions=MANAGE_GUILD))
    assert "Rebuilt: 10 passages" in allowed["content"]
    # questions go on being answered from the new index
    _, body = await harness.ask("What is Lasso?")
    assert "Lasso" in fields_text(body)


async def test_cooldown_tells_when_to_retry(standin: DiscordStandIn, settings: Settings,
                                            answerer: Answerer) -> None:
    h = Harness(standin, settings.model_copy(update={"discord_cooldown": 30.0}), answerer)
    await h.start()
    try:
        await h.ask("What is Lasso?", user_id="900")
        second = await h.callback(await standin.slash("ask", {"question": "Who built TikTok?"},
                                                      user_id="900"))
        assert second["data"]["flags"] & EPHEMERAL
        assert "try again in 30 s" in second["data"]["content"]
        _, other = await h.ask("Who built TikTok?", user_id="901")  # others are not affected
        assert other["embeds"]
    finally:
        await h.stop()


async def test_markdown_and_mentions_are_inert(harness: Harness) -> None:
    question = "@everyone <@&123> **what** is `Lasso`?"
    _, body = await harness.ask(question)
    title = body["embeds"][0]["title"]
    assert "@everyone" not in title and "@\u200beveryone" in title
    assert "\\*\\*what\\*\\*" in title and "\\`Lasso\\`" in title
    assert body["allowed_mentions"] == {"parse": []}


async def test_huge_excerpt_stays_within_embed_limits(standin: DiscordStandIn, tmp_path: Path,
                                                      embedder: Any) -> None:
    seeds = tmp_path / "big-seeds"
    seeds.mkdir()
    clause = "the harbour of Lisbon handled grain, timber, cork and wine for the whole region"
    giant = ", and ".join([clause] * 60) + "."
    (seeds / "harbour.txt").write_text(f"Harbour\n\n{giant}\n\n{giant}\n", encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "idx", data_dir=tmp_path / "d",
                        discord_cooldown=0)
    answerer, _ = open_answerer(settings, embedder=embedder)
    h = Harness(standin, settings, answerer)
    await h.start()
    try:
        _, body = await h.ask("What did the harbour of Lisbon handle?")
        embed = discord.Embed.from_dict(body["embeds"][0])
        assert embed.fields and len(embed) <= EMBEDS_TOTAL_MAX
        assert all(len(f.value or "") <= FIELD_VALUE_MAX for f in embed.fields)
        assert all((f.value or "").rstrip("*").endswith("…") for f in embed.fields)
    finally:
        await h.stop()


async def test_fifty_interactions_at_once_are_each_answered_once(harness: Harness) -> None:
    questions = ["What is Lasso?", "Who built TikTok?", "What is the weather in Paris?",
                 "Who leaked the recordings?", "Where is TikTok growing?"]
    sent = await asyncio.gather(*[
        harness.standin.slash("ask", {"question": questions[i % 5]}, user_id=str(1000 + i))
        for i in range(50)])
    tokens = [s["token"] for s in sent]
    await harness.standin.wait_for(lambda: all(
        harness.standin.find("POST", f"/webhooks/{APP_ID}/{t}") for t in tokens), timeout=60)
    await asyncio.sleep(0.2)
    for token in tokens:
        assert len(harness.standin.find("POST", f"/{token}/callback")) == 1
        assert len(harness.standin.find("POST", f"/webhooks/{APP_ID}/{token}")) == 1


async def test_dropped_gateway_resumes_and_still_answers(harness: Harness) -> None:
    await harness.standin.drop_connection(4000)
    await harness.standin.wait_for(lambda: harness.standin.resumes >= 1)
    _, body = await harness.ask("What is Lasso?")
    assert "Lasso" in fields_text(body)
    assert harness.standin.identifies == 1  # resumed, not re-identified


async def test_unexpected_error_is_short_for_the_user_and_full_in_the_log(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("index exploded")

    assert harness.service is not None
    monkeypatch.setattr(harness.service, "ask_async", broken)
    with caplog.at_level(logging.ERROR):
        _, body = await harness.ask("What is Lasso?")
    assert body["content"].startswith("⚠️ Something went wrong") and body["flags"] & EPHEMERAL
    assert "index exploded" not in body["content"]
    assert any(r.exc_info and "index exploded" in str(r.exc_info[1]) for r in caplog.records)


async def test_commands_sync_only_when_changed(harness: Harness) -> None:
    synced = harness.standin.find("PUT", f"/applications/{APP_ID}/commands")
    assert len(synced) == 1
    names = {c["name"] for c in synced[0].body}
    assert names == {"ask", "about", "help", "reindex", "Ask the article"}
    await harness.restart()
    assert len(harness.standin.find("PUT", f"/applications/{APP_ID}/commands")) == 1


async def test_rejected_token_is_one_clear_error(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store.open(settings.data_dir)
    bad = "not-the-token-Secr3t"
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(BotError, match="rejected the token"):
            await serve(QAService(settings, answerer, store), settings, bad)
    finally:
        store.close()
    assert bad not in caplog.text


async def test_shard_setting_runs_the_auto_sharded_bot(standin: DiscordStandIn,
                                                        settings: Settings,
                                                        answerer: Answerer) -> None:
    h = Harness(standin, settings.model_copy(update={"discord_shards": "auto"}), answerer)
    await h.start()
    try:
        assert isinstance(h.bot, discord.AutoShardedClient)
        assert standin.find("GET", "/gateway/bot")  # asked Discord how many shards to run
        _, body = await h.ask("What is Lasso?")
        assert "Lasso" in fields_text(body)
    finally:
        await h.stop()


async def test_a_shard_slice_identifies_only_its_shards(standin: DiscordStandIn,
                                                       settings: Settings,
                                                       answerer: Answerer) -> None:
    """DISCORD_SHARD_COUNT=4 DISCORD_SHARD_IDS=1,3: two gateway sessions, shards 1 and 3."""
    sliced = settings.model_copy(update={"discord_shard_count": 4, "discord_shard_ids": "1,3"})
    h = Harness(standin, sliced, answerer)
    await h.start()
    try:
        assert sorted(h.bot.shards) == [1, 3]
        # The stand-in answers each IDENTIFY with a READY echoing the shard it asked for.
        identified = [e["d"]["shard"] for e in standin._events if e.get("t") == "READY"]
        assert sorted(identified) == [[1, 4], [3, 4]]
        assert not standin.find("GET", "/gateway/bot")  # the count is fixed: nothing to ask
        about = fields_text((await h.callback(await standin.slash("about")))["data"])
        # The stand-in's guild id maps to shard 3 of 4 ((id >> 22) % 4).
        assert "This process runs shards 1, 3 of 4. This server is on shard 3." in about
    finally:
        await h.stop()


async def test_sigterm_closes_the_bot_cleanly(standin: DiscordStandIn, settings: Settings,
                                              answerer: Answerer) -> None:
    import os
    import signal

    store = Store.open(settings.data_dir)
    task = asyncio.create_task(serve(QAService(settings, answerer, store), settings,
                                     standin.token))
    try:
        await standin.wait_for(lambda: standin.identifies == 1 and standin.find(
            "PUT", "/commands"))
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 10)  # returns: no exception, no hang
    finally:
        store.close()
    assert task.done() and task.exception() is None


async def test_rate_limits_and_server_errors_on_follow_ups_still_answer_once(
    harness: Harness,
) -> None:
    harness.standin.faults.followups = [429, 502]
    interaction, body = await harness.ask("What is Lasso?")
    assert "Lasso" in fields_text(body)
    path = f"/webhooks/{APP_ID}/{interaction['token']}"
    await harness.standin.wait_for(lambda: len(harness.standin.find("POST", path)) >= 3)
    await asyncio.sleep(0.5)  # time for a wrong extra attempt to show up
    assert len(harness.standin.find("POST", path)) == 3  # two refused, then the one that landed
    shown = [m for m in harness.standin.messages.values()
             if m["author"]["id"] == BOT_ID and m["embeds"] == body["embeds"]]
    assert len(shown) == 1


def test_env_file_readable_by_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.discord_app.run import warn_if_env_readable

    env = tmp_path / ".env"
    env.write_text("DISCORD_TOKEN=x\n")
    env.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert warn_if_env_readable(env)
    assert "chmod 600" in caplog.text and "DISCORD_TOKEN=x" not in caplog.text
    env.chmod(0o600)
    assert not warn_if_env_readable(env)


async def test_sigterm_finishes_answers_in_flight_and_turns_new_ones_away(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
) -> None:
    import os
    import signal

    store = Store.open(settings.data_dir)
    service = QAService(settings, answerer, store)
    answer = service.ask_async

    async def slow(*args: Any) -> Any:  # so the questions are surely in flight
        await asyncio.sleep(0.5)
        return await answer(*args)

    service.ask_async = slow  # type: ignore[method-assign]
    task = asyncio.create_task(serve(service, settings, standin.token))
    try:
        await standin.wait_for(lambda: standin.identifies == 1 and standin.find(
            "PUT", "/commands"))
        in_flight = [await standin.slash("ask", {"question": q}, user_id=str(5000 + i))
                     for i, q in enumerate(["What is Lasso?", "Who built TikTok?",
                                            "Who leaked the recordings?"])]
        await standin.wait_for(lambda: all(standin.find("POST", f"/{p['token']}/callback")
                                           for p in in_flight))
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        late = await standin.slash("ask", {"question": "What is Lasso?"}, user_id="6000")
        await asyncio.wait_for(task, 20)
    finally:
        store.close()
    for payload in in_flight:
        replies = standin.find("POST", f"/webhooks/{APP_ID}/{payload['token']}")
        assert len(replies) == 1 and replies[0].body.get("embeds")  # answered, once
    refusal = standin.find("POST", f"/{late['token']}/callback")
    assert len(refusal) == 1 and "restarting" in refusal[0].body["data"]["content"]
    assert refusal[0].body["data"]["flags"] & EPHEMERAL
