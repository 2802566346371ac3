"""The bot as operators run it: `python -m bot discord` (and `python -m bot report`) in OS
processes of their own, configured by environment variables only, pointed at the stand-in
by ``standin_site/sitecustomize.py``. What a test reads: each process's exit code and log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import PROJECT_ROOT
from tests.standin import DiscordStandIn

SITE = Path(__file__).parent / "standin_site"


def environment(standin: DiscordStandIn | None, **settings: str) -> dict[str, str]:
    """The environment of a bot process: this one's (PATH, HOME…) without any bot setting,
    plus ``settings`` (BOT_DATABASE_URL="…", …) and, with ``standin``, the way to it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BOT_", "DISCORD_", "STANDIN_"))}
    # This checkout's ``bot`` first: sitecustomize imports it before ``-m`` puts the working
    # directory on sys.path, and an editable install may point at another checkout.
    env.update(PYTHONPATH=os.pathsep.join([str(SITE), str(PROJECT_ROOT)]),
               PYTHONIOENCODING="utf-8", **settings)
    if standin is not None:
        env.update(STANDIN_API=standin.api_base, STANDIN_GATEWAY=standin.gateway_url,
                   DISCORD_TOKEN=standin.token)
    return env


class BotProcess:
    """`python -m bot discord` with ``env``, its output in ``log``."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.env = env
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> BotProcess:
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen([sys.executable, "-m", "bot", "discord"],
                                          cwd=PROJECT_ROOT, env=self.env, stdout=out,
                                          stderr=subprocess.STDOUT)
        return self

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def terminate(self) -> None:
        """SIGTERM, as systemd stops it."""
        if self._proc is not None and self.running:
            self._proc.send_signal(signal.SIGTERM)

    async def exit_code(self, timeout: float = 60) -> int:
        assert self._proc is not None
        return await asyncio.to_thread(self._proc.wait, timeout)

    def kill(self) -> None:
        if self._proc is not None and self.running:
            self._proc.kill()
            self._proc.wait()

    def output(self, tail: int = 4000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ---\n{text[-tail:]}"


async def wait_until(predicate: Callable[[], object], processes: Sequence[BotProcess],
                     timeout: float = 180) -> None:
    """Until ``predicate()`` holds; fails at once (with the logs) if a process exits."""
    deadline = time.monotonic() + timeout
    while not predicate():
        gone = [p for p in processes if not p.running]
        if gone or time.monotonic() > deadline:
            why = f"{gone[0].name} exited" if gone else f"not ready after {timeout:g} s"
            raise AssertionError(why + "\n" + "\n".join(p.output() for p in processes))
        await asyncio.sleep(0.05)


def report(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m bot report`, as an operator runs it."""
    return subprocess.run([sys.executable, "-m", "bot", "report"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
