"""The process's own small HTTP server, on ``BOT_METRICS_HOST:BOT_METRICS_PORT`` and the bot's
event loop: ``/metrics`` (Prometheus's text format, or OpenMetrics when the scraper asks for
it) and ``/health``, a JSON body saying whether the process is ready, with HTTP 200, or which
check fails, with 503.

Ready means every check passes:

- ``index``: an index is loaded (it always is once the process serves; a rebuild swaps it
  whole);
- ``store``: the database answered ``SELECT 1`` within ``STORE_TIMEOUT`` seconds (one query
  at a time: while one hangs, later checks wait for it rather than pile up threads);
- ``shards``: every shard of the process's slice has its gateway connection open, and the
  bot has been READY;
- ``accepting``: the process is not stopping (draining its answers in flight).

``/metrics`` runs the same checks first, so ``bot_ready`` and ``bot_ready_check`` are as fresh
as the scrape."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from bot.discord_app.metrics import BotMetrics, shard_states
from bot.errors import BotError

logger = logging.getLogger(__name__)

STORE_TIMEOUT = 2.0  # seconds the health check waits for the database


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


class Health:
    def __init__(self, metrics: BotMetrics, store_timeout: float = STORE_TIMEOUT) -> None:
        self.metrics = metrics
        self.store_timeout = store_timeout
        self._ping: asyncio.Future[None] | None = None

    async def check(self) -> dict[str, Check]:
        checks = {"index": self._index(), "store": await self._store(),
                  "shards": self._shards(), "accepting": self._accepting()}
        self.metrics.ready = {name: c.ok for name, c in checks.items()}
        return checks

    def _index(self) -> Check:
        index = self.metrics.service.answerer.index
        manifest = index.manifest
        where = index.folder.name if index.folder else "built in memory"
        detail = f"{where}: {len(manifest.documents)} document(s), {manifest.passages} passages"
        return Check(manifest.passages > 0, detail)

    async def _store(self) -> Check:
        store = self.metrics.service.store
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(asyncio.to_thread(store.ping))
        started = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.shield(self._ping), self.store_timeout)
        except TimeoutError:
            return Check(False, f"{store.where} did not answer within "
                                f"{self.store_timeout:g} s")
        except BotError as err:  # StoreError: the engine gave up
            return Check(False, str(err))
        return Check(True, f"{store.where} answered in "
                           f"{(time.perf_counter() - started) * 1000:.0f} ms")

    def _shards(self) -> Check:
        bot = self.metrics.bot
        if bot is None:
            return Check(False, "the bot has not started")
        states = shard_states(bot)
        down = [shard for shard, (up, _) in states.items() if not up]
        if not states:
            return Check(False, "no shard is known yet (waiting for Discord's shard count)")
        if down:
            names = ", ".join(map(str, down))
            return Check(False, f"shard {names} not connected" if len(down) == 1
                         else f"shards {names} not connected")
        if not bot.is_ready():
            return Check(False, "connected, waiting for READY")
        return Check(True, f"{len(states)} shard(s) connected")

    def _accepting(self) -> Check:
        bot = self.metrics.bot
        cog = bot.get_cog("QA") if bot is not None else None
        if getattr(cog, "draining", False):
            return Check(False, "stopping: finishing the answers in flight")
        return Check(True, "taking questions")


class OpsServer:
    """``/metrics`` and ``/health`` over HTTP. ``port`` 0 takes any free port; ``port``
    holds the one it got once started."""

    def __init__(self, metrics: BotMetrics, host: str, port: int) -> None:
        self.metrics = metrics
        self.health = Health(metrics)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            raise BotError(f"cannot serve metrics on {self.host}:{self.port} "
                           f"({err.strerror or err}): set BOT_METRICS_PORT to a free port, "
                           "one per process on a host, or leave it empty") from None
        self._runner = runner
        server: Any = site._server  # aiohttp's TCPSite does not say which port it got
        self.port = int(server.sockets[0].getsockname()[1])
        logger.info("metrics on http://%s:%d/metrics, health on /health", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        await self.health.check()
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = encoder(self.metrics.registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    async def _health(self, request: web.Request) -> web.Response:
        checks = await self.health.check()
        ready = all(c.ok for c in checks.values())
        body = {"ready": ready, "checks": {name: {"ok": c.ok, "detail": c.detail}
                                           for name, c in checks.items()}}
        return web.Response(text=json.dumps(body, indent=2) + "\n", status=200 if ready else 503,
                            content_type="application/json")


async def start_ops_server(metrics: BotMetrics, host: str, port: int | None
                           ) -> OpsServer | None:
    """The server, started; None when ``port`` is None (metrics off, the default)."""
    if port is None:
        return None
    server = OpsServer(metrics, host, port)
    await server.start()
    return server
