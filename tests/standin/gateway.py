"""The gateway: one websocket per session, each with its own sequence numbers and event
buffer (for RESUME), its intents, and its shard. Events are routed to sessions the way
Discord routes them, and message content is emptied for sessions without the Message
Content intent (rules.received_message).

Sessions outlive their socket (a dropped connection can RESUME), and several may be open at
once, one per shard: guild events go to shard (guild_id >> 22) % num_shards, events without
a guild to shard 0 (events/gateway.mdx, Sharding). IDENTIFY is rate limited as Discord
limits it: one per rate limit key (shard_id % max_concurrency) per 5 seconds, across all of
the app's connections (events/gateway.mdx, Max Concurrency); beyond that the answer is an
Invalid Session (op 9), and the test fails. Each IDENTIFY let through is recorded with its
time (``identified``).

A connection is closed with a close code where Discord would close it
(topics/opcodes-and-status-codes.mdx, Gateway Close Event Codes): a wrong token (4004), an
invalid shard (4010), a session over the guilds a shard may hold (4011), an unknown gateway
version (4012), unknown intents (4013), a privileged intent not enabled (4014). A test can
also flip ``close_code``: every IDENTIFY is then closed with that code, for the codes the
bot cannot provoke by itself."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.standin import objects as o
from tests.standin.rules import received_message

if TYPE_CHECKING:
    from tests.standin.server import DiscordStandIn

HEARTBEAT_MS = 41250
# Close codes (topics/opcodes-and-status-codes.mdx, Gateway Close Event Codes).
AUTHENTICATION_FAILED = 4004
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
INVALID_API_VERSION = 4012
INVALID_INTENTS = 4013
DISALLOWED_INTENTS = 4014
KNOWN_INTENTS = (1 << 26) - 1
INVALID_SESSION = 9  # op (topics/opcodes-and-status-codes.mdx, Gateway Opcodes)
IDENTIFY_WINDOW = 5.0  # seconds (events/gateway.mdx, Rate Limiting; Session Start Limit Object)
CLOSE_REASONS = {
    AUTHENTICATION_FAILED: b"Authentication failed.", INVALID_SHARD: b"Invalid shard.",
    SHARDING_REQUIRED: b"Sharding required.", INVALID_API_VERSION: b"Invalid API version.",
    INVALID_INTENTS: b"Invalid intent(s).", DISALLOWED_INTENTS: b"Disallowed intent(s).",
}


@dataclass(frozen=True)
class Identified:
    """An IDENTIFY the stand-in accepted: its shard, and when (the stand-in's clock)."""

    shard: tuple[int, int]
    at: float


@dataclass
class Session:
    session_id: str
    intents: int
    shard: tuple[int, int] = (0, 1)  # (shard_id, num_shards); (0, 1) when not sharded
    identified_at: float = 0.0  # the stand-in's clock
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # sent dispatches, for RESUME
    ws: web.WebSocketResponse | None = None

    def receives(self, guild_id: str | None) -> bool:
        """events/gateway.mdx, Sharding Formula; events without a guild_id go to shard 0."""
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (int(guild_id) >> 22) % count == shard_id

    def wants(self, event: str, data: dict[str, Any]) -> bool:
        """events/gateway.mdx, Gateway Intents: MESSAGE_CREATE and friends come with
        GUILD_MESSAGES in guilds and DIRECT_MESSAGES in DMs; guild events with GUILDS."""
        if event.startswith("MESSAGE_"):
            need = o.GUILD_MESSAGES if data.get("guild_id") else o.DIRECT_MESSAGES
            return bool(self.intents & need)
        if event.startswith(("GUILD_", "THREAD_", "CHANNEL_")):
            return bool(self.intents & o.GUILDS)
        return True

    async def send(self, event: str, data: dict[str, Any]) -> bool:
        """Send, or keep for a RESUME while the socket is gone; True if sent now."""
        self.seq += 1
        payload = {"op": 0, "t": event, "s": self.seq, "d": data}
        self.events.append(payload)
        if self.ws is not None and not self.ws.closed:
            await self.ws.send_str(json.dumps(payload))
            return True
        return False


class Gateway:
    def __init__(self, standin: DiscordStandIn) -> None:
        self.standin = standin
        self.sessions: dict[str, Session] = {}
        self.identifies = 0
        self.resumes = 0
        self.refused: list[str] = []  # IDENTIFYs Discord would have refused, and why
        self.identified: list[Identified] = []
        self.close_code: int | None = None  # a switch: close every IDENTIFY with this code
        self.known_intents = KNOWN_INTENTS  # events/gateway.mdx, Gateway Intents
        self.closed_with: list[int] = []  # the close codes sent, in order
        # A switch: the gateway cannot be reached (an outage, a network cut), so a connection
        # is refused before the websocket opens (503), as an HTTP front end does when
        # nothing is behind it. Not a documented behaviour: what a client sees of any outage.
        self.unreachable = False
        self._last_identify: dict[int, float] = {}  # rate limit key: stand-in time
        self._ids = itertools.count(1)

    # --- events out ---------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> list[Session]:
        """Send ``event`` to every session of the shard it belongs to; returns the sessions
        whose socket it reached now (the others keep it for a RESUME)."""
        guild_id = data["id"] if event in ("GUILD_CREATE", "GUILD_DELETE") else data.get(
            "guild_id")
        reached = []
        for session in list(self.sessions.values()):
            if not session.receives(guild_id) or not session.wants(event, data):
                continue
            shown = data
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
                shown = received_message(data, session.intents)
            if await session.send(event, shown):
                reached.append(session)
        return reached

    def live_shards(self) -> list[tuple[int, int]]:
        """The shards of the sessions connected now, sorted."""
        return sorted(s.shard for s in self.sessions.values()
                      if s.ws is not None and not s.ws.closed)

    async def drop(self, code: int = 4000, shard: int | None = None) -> None:
        """Close every socket (or ``shard``'s) the way Discord does before asking for a
        resume."""
        for session in self.sessions.values():
            if shard is not None and session.shard[0] != shard:
                continue
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=code, message=b"standin drop")

    async def close(self) -> None:
        for session in self.sessions.values():
            if session.ws is not None:
                await session.ws.close()

    # --- the websocket --------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.unreachable:
            return web.Response(status=503, text="upstream unavailable")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        # events/gateway.mdx, Connecting: the version is the ``v`` query parameter (the
        # default version without it). Discord does not document whether HELLO comes before
        # a 4012; the stand-in closes at once, which is the harder case for a client.
        version = request.query.get("v")
        if version is not None and (not version.isdigit()
                                    or int(version) not in self.standin.gateway_versions):
            await self._close(ws, INVALID_API_VERSION)
            return ws
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}}))
        session: Session | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op = payload.get("op")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif op == 2:
                    session = await self._identify(ws, payload["d"])
                elif op == 6:
                    session = await self._resume(ws, payload["d"])
        finally:
            if session is not None and session.ws is ws:
                session.ws = None
        return ws

    async def _close(self, ws: web.WebSocketResponse, code: int) -> None:
        self.closed_with.append(code)
        await ws.close(code=code, message=CLOSE_REASONS[code])

    async def _identify(self, ws: web.WebSocketResponse,
                        data: dict[str, Any]) -> Session | None:
        intents = int(data.get("intents", 0))
        if self.close_code is not None:
            await self._close(ws, self.close_code)
            return None
        if data.get("token") != self.standin.token:
            await self._close(ws, AUTHENTICATION_FAILED)
            return None
        if intents & ~self.known_intents:
            await self._close(ws, INVALID_INTENTS)
            return None
        # A privileged intent must be enabled for the app in the Developer Portal
        # (events/gateway.mdx, Privileged Intents); otherwise close code 4014.
        if intents & o.MESSAGE_CONTENT and not self.standin.message_content_enabled:
            await self._close(ws, DISALLOWED_INTENTS)
            return None
        shard = tuple(data.get("shard") or (0, 1))
        if len(shard) != 2 or not 0 <= shard[0] < shard[1]:
            await self._close(ws, INVALID_SHARD)
            return None
        probe = Session("", intents, (int(shard[0]), int(shard[1])))
        if sum(probe.receives(g) for g in self.standin.guild_ids()) > \
                self.standin.max_guilds_per_session:
            await self._close(ws, SHARDING_REQUIRED)
            return None
        # events/gateway.mdx, Max Concurrency: "rate_limit_key = shard_id % max_concurrency";
        # Identifying: "If your app exceeds this limit, Discord will respond with a Invalid
        # Session (opcode 9) event."
        key = int(shard[0]) % self.standin.max_concurrency
        now = self.standin.now()
        last = self._last_identify.get(key)
        self._last_identify[key] = now
        if last is not None and now - last < IDENTIFY_WINDOW:
            self.refused.append(
                f"IDENTIFY for shard {list(shard)} {now - last:.1f} s after another with rate "
                f"limit key {key} (max_concurrency {self.standin.max_concurrency}): Invalid "
                "Session")
            await ws.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return None
        if self.identifies >= self.standin.session_start_total:
            # Identifying: past the daily limit "all active sessions for the app will be
            # terminated, the bot token will be reset"
            self.refused.append(f"IDENTIFY for shard {list(shard)} past the "
                                f"{self.standin.session_start_total} session starts allowed")
            await self._close(ws, AUTHENTICATION_FAILED)
            return None
        self.identifies += 1
        self.identified.append(Identified((int(shard[0]), int(shard[1])), now))
        session = Session(f"standin-session-{next(self._ids)}", intents,
                          (int(shard[0]), int(shard[1])), identified_at=now, ws=ws)
        self.sessions[session.session_id] = session
        guilds = [g for g in self.standin.guild_ids() if session.receives(g)]
        await session.send("READY", {
            "v": 10, "user": {**o.BOT_USER, "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": g, "unavailable": True} for g in guilds],
            "session_id": session.session_id, "resume_gateway_url": self.standin.gateway_url,
            "application": {"id": o.APP_ID, "flags": 0}, "private_channels": [],
            "relationships": [], **({"shard": data["shard"]} if "shard" in data else {}),
        })
        for guild_id in guilds:
            await session.send("GUILD_CREATE", self.standin.guild_payload(guild_id))
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.standin.token or session is None:
            await ws.send_str(json.dumps({"op": 9, "d": False}))  # Invalid Session
            return None
        self.resumes += 1
        session.ws = ws
        for event in session.events:  # replay what was missed, in order
            if event["s"] > int(data.get("seq") or 0):
                await ws.send_str(json.dumps(event))
        await session.send("RESUMED", {})
        await asyncio.sleep(0)
        return session
