"""Fixtures: the strict stand-in on 127.0.0.1 (checked at teardown: no interaction left
unanswered or loading, no request Discord would refuse unless the test expected it), settings
over a copy of the session's index, and the running bot."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import discord.gateway
import discord.http
import pytest
import yarl

from bot.answer import Answerer
from bot.config import Settings
from tests.discord_app.harness import Harness
from tests.standin import DiscordStandIn


@pytest.fixture()
async def standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    server = DiscordStandIn()
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        yarl.URL(server.gateway_url))
    yield server
    await server.settle()
    problems = server.problems()
    await server.stop()
    assert not problems, "what real Discord users would have hit:\n" + "\n".join(problems)


@pytest.fixture()
def settings(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> Settings:
    # The test's own index generations; the model's export (``models``, a link to the
    # session's) stays a link: copying its 90 MB was most of each test's setup.
    index_copy = tmp_path / "index"
    shutil.copytree(index_dir, index_copy, symlinks=True, ignore=shutil.ignore_patterns("models"))
    (index_copy / "models").symlink_to((index_dir / "models").resolve(), target_is_directory=True)
    return Settings(seeds_dir=seeds_dir, index_dir=index_copy, data_dir=tmp_path / "data",
                    discord_cooldown=0, discord_connect_timeout=5)


@pytest.fixture()
async def harness(standin: DiscordStandIn, settings: Settings,
                  answerer: Answerer) -> AsyncIterator[Harness]:
    h = Harness(standin, settings, answerer)
    await h.start()
    yield h
    await h.stop()
