"""Run by Python at start-up in the bot processes tests start with this folder on
PYTHONPATH (tests/discord_app/processes.py), so that `python -m bot discord` runs unchanged
in a process of its own: it keeps a developer's .env out, as tests/conftest.py does, and
points discord.py at the stand-in named by STANDIN_API and STANDIN_GATEWAY, as the
`standin` fixture does in the test process, and perturbs the embedder's outputs when
TEST_EMBED_NOISE is set (tests/noise.py), as tests/conftest.py does."""

import os
import sys
from pathlib import Path

# This checkout's bot package, whatever an editable install of another checkout points at
# (`python -m bot` puts the working directory first only after this file has run).
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bot.config import Settings
from tests import noise

Settings.model_config["env_file"] = None
noise.install_from_env()

if os.environ.get("STANDIN_API"):
    import discord.gateway
    import discord.http
    import yarl

    discord.http.Route.BASE = os.environ["STANDIN_API"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["STANDIN_GATEWAY"])
