"""Commands: registered deliberately (where each may be used), synced only when changed,
each in one scope; /about, /help and /reindex."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.answer import Answerer
from bot.config import Settings
from tests.discord_app.harness import Harness, harness_over, is_private, text_of
from tests.standin import APP_ID, GUILD_ID, MANAGE_GUILD, CommandUnavailable, DiscordStandIn
from tests.standin.errors import MISSING_ACCESS, UNKNOWN_GUILD

NAMES = {"ask", "about", "help", "reindex", "teach", "Ask the article"}
SERVERS_ONLY = {"reindex", "teach"}
TYPO = "123456789012345678"  # a guild id the bot is not in


def bot_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("bot.")]


async def start_and_stop(standin: DiscordStandIn, settings: Settings,
                         answerer: Answerer) -> None:
    """One run of the bot: it syncs at start; it must answer."""
    h = Harness(standin, settings, answerer)
    await h.start()
    try:
        _, answer = await h.ask("What is Lasso?")
        assert "Lasso" in text_of(answer)
    finally:
        await h.stop()


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


@pytest.mark.parametrize("code", [MISSING_ACCESS, UNKNOWN_GUILD])
async def test_a_guild_the_bot_cannot_reach_is_one_line_and_the_rest_is_synced(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
    caplog: pytest.LogCaptureFixture, code: int,
) -> None:
    """A typo in DISCORD_GUILD_IDS: Discord refuses that guild's commands (403 Missing
    Access, as the stand-in answers; or 404 Unknown Guild). One line names the guild and
    why, the bot starts with the other guild's commands, and what was synced is remembered:
    the next start pushes only the guild that failed (it may have invited the bot since)."""
    standin.expected_codes.add(code)
    if code == UNKNOWN_GUILD:
        standin.fail("PUT", f"/guilds/{TYPO}/commands", 404, 404, code=UNKNOWN_GUILD)
    configured = settings.model_copy(update={"discord_guild_ids": f"{GUILD_ID},{TYPO}"})
    with caplog.at_level(logging.INFO):
        await start_and_stop(standin, configured, answerer)
        await start_and_stop(standin, configured, answerer)
    assert sorted(c["name"] for c in standin.commands[GUILD_ID]) == sorted(NAMES)
    assert len(standin.find("PUT", f"/applications/{APP_ID}/commands")) == 1  # global, emptied
    assert len(standin.find("PUT", f"/guilds/{GUILD_ID}/commands")) == 1  # remembered
    assert len(standin.find("PUT", f"/guilds/{TYPO}/commands")) == 2  # tried at each start
    warnings = bot_warnings(caplog)
    assert len(warnings) == 2, warnings  # one line a start
    reason = "403 Missing Access" if code == MISSING_ACCESS else "404 Unknown Guild"
    assert all(TYPO in w and reason in w and "DISCORD_GUILD_IDS" in w for w in warnings)
    assert not any(r.exc_info for r in caplog.records)


async def test_a_guild_that_removed_the_bot_is_forgotten_in_one_line(
    standin: DiscordStandIn, settings: Settings, answerer: Answerer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Commands were synced to two guilds; one of them removes the bot; the bot moves to
    global commands. The guild it can still reach is emptied; the other cannot be (403):
    one line, and it is forgotten, not tried again at every start."""
    other, _ = await standin.add_guild(0, 1)
    await start_and_stop(standin, settings.model_copy(
        update={"discord_guild_ids": f"{GUILD_ID},{other}"}), answerer)
    assert standin.commands[other] and standin.commands[GUILD_ID]
    await standin.remove_bot_from(other)
    standin.expected_codes.add(MISSING_ACCESS)
    with caplog.at_level(logging.INFO):
        await start_and_stop(standin, settings, answerer)  # global now
        await start_and_stop(standin, settings, answerer)
    assert sorted(c["name"] for c in standin.commands[None]) == sorted(NAMES)
    assert standin.commands[GUILD_ID] == []  # emptied
    assert len(standin.find("PUT", f"/guilds/{GUILD_ID}/commands")) == 2  # synced, emptied
    assert len(standin.find("PUT", f"/guilds/{other}/commands")) == 2  # synced, refused once
    assert len(standin.find("PUT", f"/applications/{APP_ID}/commands")) == 2  # [], then all
    warnings = bot_warnings(caplog)
    assert len(warnings) == 1 and other in warnings[0] and "forgetting it" in warnings[0]
    assert not any(r.exc_info for r in caplog.records)
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
