"""Commands: registered deliberately (where each may be used), synced only when changed,
each in one scope; /about, /help and /reindex."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.answer import Answerer
from bot.config import Settings
from tests.discord_app.harness import Harness, harness_over, is_private, text_of
from tests.standin import APP_ID, GUILD_ID, MANAGE_GUILD, CommandUnavailable, DiscordStandIn

NAMES = {"ask", "about", "help", "reindex", "teach", "Ask the article"}
SERVERS_ONLY = {"reindex", "teach"}


async def test_commands_sync_only_when_changed(harness: Harness) -> None:
    synced = harness.standin.find("PUT", f"/applications/{APP_ID}/commands")
    assert len(synced) == 1
    assert {c["name"] for c in synced[0].body} == NAMES
    await harness.restart()
    assert len(harness.standin.find("PUT", f"/applications/{APP_ID}/commands")) == 1


async def test_where_each_command_can_be_used_is_set_deliberately(harness: Harness) -> None:
    """Defect 8: contexts and integration types are chosen, not left to Discord's defaults
    (which would list /reindex in DMs)."""
    commands = {c["name"]: c for c in harness.standin.commands[None]}
    for name in SERVERS_ONLY:
        assert commands[name]["contexts"] == [0]  # servers only
    for name in NAMES - SERVERS_ONLY:
        assert sorted(commands[name]["contexts"]) == [0, 1]  # servers and DMs with the bot
    assert all(c["integration_types"] == [0] for c in commands.values())  # server install
    with pytest.raises(CommandUnavailable):
        await harness.standin.slash("reindex", dm=True)
    help_ = await harness.reply(await harness.standin.slash("help", dm=True))
    assert "/ask" in text_of(help_)


async def test_switching_between_guild_and_global_sync_lists_each_command_once(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
) -> None:
    """Defect 8: a guild command and a global one of the same name are both listed; the
    scope not used is emptied."""
    def listed() -> list[str]:
        return [c["name"] for c in standin.visible_commands()]

    for guilds in ("", GUILD_ID, ""):
        h = Harness(standin, settings.model_copy(update={"discord_guild_ids": guilds}),
                    answerer)
        await h.start()
        try:
            assert sorted(listed()) == sorted(NAMES)  # each once
            assert bool(standin.commands.get(GUILD_ID)) == bool(guilds)
            assert bool(standin.commands.get(None)) != bool(guilds)
            _, answer = await h.ask("What is Lasso?")
            assert "Lasso" in text_of(answer)
        finally:
            await h.stop()


async def test_about_and_help(harness: Harness) -> None:
    about = await harness.reply(await harness.standin.slash("about"))
    text = text_of(about)
    assert is_private(about)
    assert "TikTok’s revenue is apparently over $7 billion" in text
    assert "10 passages" in text and "all-MiniLM-L6-v2" in text
    help_ = await harness.reply(await harness.standin.slash("help"))
    assert "/ask" in text_of(help_) and "Who built TikTok?" in text_of(help_)


async def test_reindex_is_refused_without_manage_server(harness: Harness) -> None:
    # A server can let anyone see /reindex (default permissions only hide it): the bot
    # checks for itself.
    refused = await harness.reply(await harness.standin.slash("reindex"))
    assert is_private(refused) and "Manage Server" in refused["content"]
    allowed = await harness.reply(await harness.standin.slash("reindex",
                                                              permissions=int(MANAGE_GUILD)))
    assert is_private(allowed) and "Rebuilt: 10 passages" in allowed["content"]
    # questions go on being answered from the new index
    _, answer = await harness.ask("What is Lasso?")
    assert "Lasso" in text_of(answer)


async def test_about_lists_thirty_documents_within_discords_limits(
    standin: DiscordStandIn, tmp_path: Path, embedder: Any,
) -> None:
    """Defect 7 (round three): a field per document passed Discord's 25 fields (400) from
    23 documents on. The documents are listed in the description, as many as fit, and the
    rest counted."""
    seeds = tmp_path / "towns"
    seeds.mkdir()
    for i in range(30):
        (seeds / f"town-{i:02d}.txt").write_text(
            f"Town {i}\n\nTown {i} has a harbour where the boats land fish.\n", encoding="utf-8")
        (seeds / f"town-{i:02d}.meta.json").write_text(json.dumps({
            "title": f"The harbour town number {i}",
            "url": f"https://example.org/towns/{i}/the-harbour-and-its-boats"}))
    async with harness_over(standin, seeds, tmp_path, embedder) as h:
        about = await h.reply(await standin.slash("about"))
    embed = about["embeds"][0]
    assert [f["name"] for f in embed["fields"]] == ["Index", "Taught"]
    text = text_of(about)
    assert "30 documents" in embed["fields"][0]["value"]
    listed = [i for i in range(30) if f"number {i}**" in text]
    assert listed == list(range(len(listed))) and 10 < len(listed) < 30
    assert f"…and {30 - len(listed)} more documents" in text
    assert "[source](<https://example.org/towns/0/the-harbour-and-its-boats>)" in text
