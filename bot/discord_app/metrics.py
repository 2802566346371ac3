"""What a running bot process tells Prometheus (docs/operations.md lists every metric and what
it means). Counters and histograms are moved where things happen: questions at the boundary
between the Discord handlers and ``QAService`` (``QACog.ask``), interactions as discord.py
receives them, acknowledgements and Discord's error responses as the bot's HTTP session sees
them (an aiohttp trace, so every request counts, the ones discord.py retries by itself too).
What is a state rather than an event (the shards' connections, the index, the store's
connections) is read when Prometheus scrapes.

Each ``BotMetrics`` has a registry of its own, not prometheus_client's global one, so several
bots in one process (the tests) never share a count."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.answer import Answer
from bot.errors import BotError, IndexUnavailable
from bot.store import StoreError

if TYPE_CHECKING:
    from bot.service import QAService

logger = logging.getLogger(__name__)

# protocols.AnyBot, spelled out: protocols imports this module (the cog's ``metrics``).
AnyBot = commands.Bot | commands.AutoShardedBot

# Seconds. An answer takes tens of milliseconds alone and seconds in a burst; Discord wants an
# acknowledgement within 3 s (receiving-and-responding.mdx, Responding to an Interaction).
ANSWER_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ACK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
CALLBACK = re.compile(r"/interactions/(\d+)/[^/]+/callback$")
REMEMBERED = 10_000  # interactions whose kind is kept until acknowledged (the oldest go)
# Label values shown at 0 from the start, so rates and alerts work before the first event.
FRONT_ENDS = ("slash", "menu", "mention", "reply", "dm", "thread")
OUTCOMES = ("answered", "tentative", "none", "taught", "error")
INTERACTION_KINDS = ("slash", "menu", "component", "autocomplete", "modal", "other")
ERROR_KINDS = ("discord_http", "discord_unreachable", "store", "index", "unexpected")


def outcome(answer: Answer) -> str:
    """The outcome label of an answer: ``taught``, else its status (``answered``,
    ``tentative``, ``none``)."""
    return "taught" if answer.taught else answer.status.value


def interaction_kind(interaction: discord.Interaction[Any]) -> str:
    """``slash``, ``menu`` (a message or user command), ``component`` (a button or a select),
    ``autocomplete``, ``modal`` or ``other``."""
    kind = interaction.type
    if kind is discord.InteractionType.application_command:
        data: Any = interaction.data or {}
        return "slash" if data.get("type", 1) == 1 else "menu"
    if kind is discord.InteractionType.component:
        return "component"
    if kind is discord.InteractionType.autocomplete:
        return "autocomplete"
    if kind is discord.InteractionType.modal_submit:
        return "modal"
    return "other"


def error_kind(error: BaseException) -> str | None:
    """The ``kind`` an error is counted under, or None for what is no fault of the bot's
    (a refused question, a missing permission: the user is told) and for Discord's HTTP
    errors, which the HTTP trace has counted already."""
    if isinstance(error, StoreError):
        return "store"
    if isinstance(error, IndexUnavailable):
        return "index"
    if isinstance(error, BotError | discord.app_commands.CheckFailure | discord.HTTPException):
        return None
    return "unexpected"


class BotMetrics:
    """The metrics of one bot process, over ``service``; ``watch`` a bot to follow it (a
    process that retries its start watches each bot it makes)."""

    def __init__(self, service: QAService) -> None:
        self.service = service
        self.bot: AnyBot | None = None
        self.registry = CollectorRegistry()
        registry = self.registry
        ProcessCollector(registry=registry)  # process_resident_memory_bytes, CPU, open fds
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.questions = Counter(
            "bot_questions", "Questions answered, by front end and outcome (answered, "
            "tentative, none, taught; error when answering failed)",
            ["front_end", "outcome"], registry=registry)
        self.answer_seconds = Histogram(
            "bot_answer_seconds", "Seconds from a question reaching the core to its answer "
            "being stored", buckets=ANSWER_BUCKETS, registry=registry)
        self.interactions = Counter(
            "bot_interactions", "Interactions received, by kind", ["kind"], registry=registry)
        self.acknowledged = Counter(
            "bot_interactions_acknowledged", "Interactions acknowledged (their first "
            "response accepted by Discord), by kind", ["kind"], registry=registry)
        self.ack_seconds = Histogram(
            "bot_interaction_ack_seconds", "Seconds from an interaction's creation (its id's "
            "timestamp, Discord's clock) to its acknowledgement (this host's clock)",
            buckets=ACK_BUCKETS, registry=registry)
        self.errors = Counter(
            "bot_errors", "Errors by kind: discord_http (Discord answered 4xx/5xx), "
            "discord_unreachable, store, index, unexpected", ["kind"], registry=registry)
        self.discord_errors = Counter(
            "bot_discord_http_errors", "Discord's error responses, by HTTP status and JSON "
            "error code (0: none)", ["status", "code"], registry=registry)
        for front_end in FRONT_ENDS:
            for result in OUTCOMES:
                self.questions.labels(front_end, result)
        for kind in INTERACTION_KINDS:
            self.interactions.labels(kind)
            self.acknowledged.labels(kind)
        for kind in ERROR_KINDS:
            self.errors.labels(kind)
        self.ready: dict[str, bool] | None = None  # the last health check's results
        registry.register(_StateCollector(self))
        self._kinds: dict[int, str] = {}  # interaction id: kind, until acknowledged

    # --- following a bot --------------------------------------------------------------------

    def http_trace(self) -> aiohttp.TraceConfig:
        """A trace for the bot's HTTP session (``Client(http_trace=…)``); one per bot."""
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._request_end)
        trace.on_request_exception.append(self._request_failed)
        return trace

    def watch(self, bot: AnyBot) -> None:
        self.bot = bot
        bot.add_listener(self._on_interaction, "on_interaction")

    async def _on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        kind = interaction_kind(interaction)
        self.interactions.labels(kind).inc()
        self._kinds[interaction.id] = kind
        while len(self._kinds) > REMEMBERED:  # never acknowledged: forget the oldest
            del self._kinds[next(iter(self._kinds))]

    async def _request_end(self, session: aiohttp.ClientSession, context: SimpleNamespace,
                           params: aiohttp.TraceRequestEndParams) -> None:
        status = params.response.status
        callback = CALLBACK.search(params.url.path)
        if callback is not None and status < 400:
            self._acknowledged(int(callback[1]))
        if status >= 400:
            self.errors.labels("discord_http").inc()
            self.discord_errors.labels(str(status), str(await _error_code(params))).inc()

    async def _request_failed(self, session: aiohttp.ClientSession, context: SimpleNamespace,
                              params: aiohttp.TraceRequestExceptionParams) -> None:
        self.errors.labels("discord_unreachable").inc()

    def _acknowledged(self, interaction_id: int) -> None:
        kind = self._kinds.pop(interaction_id, "other")
        self.acknowledged.labels(kind).inc()
        created = discord.utils.snowflake_time(interaction_id).timestamp()
        self.ack_seconds.observe(max(0.0, time.time() - created))

    # --- what the handlers report -------------------------------------------------------------

    def answered(self, front_end: str, answer: Answer, seconds: float) -> None:
        self.questions.labels(front_end, outcome(answer)).inc()
        self.answer_seconds.observe(seconds)

    def failed(self, front_end: str, error: BaseException) -> None:
        """Answering a question raised ``error`` (counted as an error where it is caught)."""
        self.questions.labels(front_end, "error").inc()

    def error(self, error: BaseException) -> None:
        kind = error_kind(error)
        if kind is not None:
            self.errors.labels(kind).inc()


async def _error_code(params: aiohttp.TraceRequestEndParams) -> int:
    """The JSON error code of a Discord error response (0 without one). The body is read
    here and kept by aiohttp: discord.py reads the same bytes afterwards."""
    if params.response.content_type != "application/json":
        return 0
    try:
        body = await params.response.json()
    except (aiohttp.ClientError, ValueError):
        return 0
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else 0


class _StateCollector(Collector):
    """What is read when Prometheus scrapes: shards, index, store, answers in flight, and
    the readiness found by the health check that the scrape ran."""

    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # read at each scrape; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        yield from self._gateway()
        yield from self._index()
        yield from self._store()
        bot = self.metrics.bot
        cog = bot.get_cog("QA") if bot is not None else None
        flight = GaugeMetricFamily("bot_answers_in_flight", "Questions and clicks being "
                                   "worked on now")
        flight.add_metric([], float(getattr(cog, "in_flight", 0)))
        yield flight
        ready = self.metrics.ready
        if ready is not None:
            overall = GaugeMetricFamily("bot_ready", "1 when every health check passes "
                                        "(/health answers 200)")
            overall.add_metric([], float(all(ready.values())))
            yield overall
            checks = GaugeMetricFamily("bot_ready_check", "Each health check: 1 passing, 0 "
                                       "failing", labels=["check"])
            for name, ok in ready.items():
                checks.add_metric([name], float(ok))
            yield checks

    def _gateway(self) -> Iterator[Metric]:
        connected = GaugeMetricFamily("bot_gateway_connected", "1 while the shard's gateway "
                                      "connection is open, by shard of this process's slice",
                                      labels=["shard"])
        latency = GaugeMetricFamily("bot_gateway_latency_seconds", "Seconds between the "
                                    "shard's last heartbeat and its acknowledgement",
                                    labels=["shard"])
        bot = self.metrics.bot
        for shard, (up, seconds) in (shard_states(bot) if bot is not None else {}).items():
            connected.add_metric([str(shard)], float(up))
            if math.isfinite(seconds):  # none before the first heartbeat is acknowledged
                latency.add_metric([str(shard)], seconds)
        yield connected
        yield latency

    def _index(self) -> Iterator[Metric]:
        index = self.metrics.service.answerer.index
        manifest = index.manifest
        info = InfoMetricFamily("bot_index", "The index being answered from: its generation "
                                "folder, when it was built, the encoder")
        info.add_metric([], {"generation": index.folder.name if index.folder else "in-memory",
                             "built_at": manifest.built_at, "encoder": manifest.encoder})
        yield info
        for name, text, value in (
                ("bot_index_documents", "Documents in the index", len(manifest.documents)),
                ("bot_index_passages", "Passages in the index", manifest.passages),
                ("bot_index_built_timestamp_seconds", "When the index was built (Unix time)",
                 _timestamp(manifest.built_at))):
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], float(value))
            yield gauge

    def _store(self) -> Iterator[Metric]:
        store = self.metrics.service.store
        usage = store.connections()
        engine = "postgresql" if store.where.startswith("postgresql") else "sqlite"
        info = InfoMetricFamily("bot_store", "The database engine")
        info.add_metric([], {"engine": engine})
        yield info
        for name, text, value in (
                ("bot_store_connections_in_use", "Database connections lent out now "
                 "(SQLite: 1 while a transaction holds its one connection)", usage.in_use),
                ("bot_store_connections_open", "Database connections open", usage.size),
                ("bot_store_connections_max", "The most connections the pool may open "
                 "(BOT_DATABASE_POOL_SIZE; 1 for SQLite)", usage.max_size),
                ("bot_store_requests_waiting", "Callers waiting for a connection "
                 "(PostgreSQL; 0 for SQLite, which cannot tell)", usage.waiting)):
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], float(value))
            yield gauge


def shard_states(bot: AnyBot) -> dict[int, tuple[bool, float]]:
    """Per shard of the bot's slice (shard 0 for an unsharded bot): whether its gateway
    connection is open, and its heartbeat latency (inf before the first)."""
    if isinstance(bot, commands.AutoShardedBot):
        ids = bot.shard_ids if bot.shard_ids is not None else range(bot.shard_count or 0)
        states = {}
        for shard_id in ids:
            info = bot.get_shard(shard_id)
            states[shard_id] = ((info is not None and not info.is_closed()),
                                info.latency if info is not None else math.inf)
        return states
    socket = getattr(bot, "ws", None)
    return {0: (socket is not None and bool(socket.open), bot.latency)}


def _timestamp(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return math.nan
