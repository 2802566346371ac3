"""A small stand-in for Discord's API on 127.0.0.1: REST routes and a gateway websocket,
enough for the real discord.py client to log in, sync commands, receive interactions and
messages, and answer them. Everything the bot sends is recorded for the tests to read.

It can also misbehave on purpose: drop the gateway connection (the client resumes) and
answer some follow-ups with 429 or 5xx first (the client retries)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "900000000000000001"
BOT_ID = APP_ID
OWNER_ID = "900000000000000002"
GUILD_ID = "900000000000000010"
CHANNEL_ID = "900000000000000020"
MANAGE_GUILD = str(1 << 5)
NOW = "2026-11-25T00:00:00.000000+00:00"


@dataclass
class Call:
    method: str
    path: str
    body: Any
    at: float


@dataclass
class Faults:
    """Failures to inject on follow-up messages: each entry answers one request."""

    followups: list[int] = field(default_factory=list)  # e.g. [429, 500]


def user(uid: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": uid, "username": name, "discriminator": "0", "avatar": None,
            "global_name": name, "bot": bot}


BOT_USER = user(BOT_ID, "ArticleBot", bot=True)


class DiscordStandIn:
    def __init__(self, token: str = "standin-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.faults = Faults()
        self.messages: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {CHANNEL_ID: self.text_channel()}
        self._ids = itertools.count(int(time.time() * 1000) << 22)
        self._sockets: list[web.WebSocketResponse] = []
        self._events: list[dict[str, Any]] = []  # sent dispatches, for RESUME replay
        self._seq = 0
        self.session_id = "standin-session"
        self.identifies = 0
        self.resumes = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> str:
        return str(next(self._ids))

    # --- what tests read ------------------------------------------------------------------

    def find(self, method: str, fragment: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and fragment in c.path]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            await asyncio.sleep(0.01)
        raise TimeoutError("the bot did not do what was expected in time")

    def replies_to(self, token: str) -> list[Call]:
        """Callbacks and follow-ups sent for the interaction with ``token``."""
        return [c for c in self.calls if f"/{token}" in c.path and c.method in ("POST", "PATCH")]

    # --- sending events -------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        payload = {"op": 0, "t": event, "s": self._seq, "d": data}
        self._events.append(payload)
        for ws in list(self._sockets):
            if not ws.closed:
                await ws.send_str(json.dumps(payload))

    def member(self, uid: str, permissions: str = "0") -> dict[str, Any]:
        return {"user": user(uid, f"user{uid[-4:]}"), "roles": [], "flags": 0,
                "joined_at": NOW, "deaf": False, "mute": False, "permissions": permissions}

    def interaction(self, kind: int, data: dict[str, Any], *, user_id: str = "700",
                    permissions: str = "0", channel_id: str = CHANNEL_ID,
                    message: dict[str, Any] | None = None) -> dict[str, Any]:
        iid = self.next_id()
        payload: dict[str, Any] = {
            "id": iid, "application_id": APP_ID, "type": kind, "token": f"itoken{iid}",
            "version": 1, "attachment_size_limit": 8_388_608, "guild_id": GUILD_ID,
            "channel_id": channel_id, "channel": self.channels[channel_id],
            "member": self.member(user_id, permissions), "app_permissions": "2248473465835073",
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID}, "context": 0, "data": data,
        }
        if message is not None:
            payload["message"] = message
        return payload

    async def slash(self, name: str, options: dict[str, Any] | None = None,
                    **kwargs: Any) -> dict[str, Any]:
        opts = [{"name": k, "type": 5 if isinstance(v, bool) else 3, "value": v}
                for k, v in (options or {}).items()]
        payload = self.interaction(2, {"id": self.next_id(), "name": name, "type": 1,
                                       "options": opts}, **kwargs)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def autocomplete(self, typed: str, **kwargs: Any) -> dict[str, Any]:
        payload = self.interaction(4, {"id": self.next_id(), "name": "ask", "type": 1, "options": [
            {"name": "question", "type": 3, "value": typed, "focused": True}]}, **kwargs)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def context_menu(self, message: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        payload = self.interaction(2, {
            "id": self.next_id(), "name": "Ask the article", "type": 3,
            "target_id": message["id"], "resolved": {"messages": {message["id"]: message}},
        }, **kwargs)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def click(self, message: dict[str, Any], custom_id: str,
                    **kwargs: Any) -> dict[str, Any]:
        payload = self.interaction(3, {"custom_id": custom_id, "component_type": 2},
                                   channel_id=message["channel_id"], message=message, **kwargs)
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def say(self, content: str, *, user_id: str = "700", mention_bot: bool = False,
                  channel_id: str = CHANNEL_ID,
                  reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        text = f"<@{BOT_ID}> {content}" if mention_bot else content
        mentions = [BOT_USER] if mention_bot else []
        if reply_to is not None:
            mentions.append(BOT_USER)
        message = self.message(text, author=user(user_id, f"user{user_id[-4:]}"),
                               channel_id=channel_id, mentions=mentions)
        message["member"] = {k: v for k, v in self.member(user_id).items() if k != "user"}
        message["guild_id"] = GUILD_ID
        if reply_to is not None:
            message["message_reference"] = {"message_id": reply_to["id"],
                                            "channel_id": reply_to["channel_id"],
                                            "guild_id": GUILD_ID}
            message["referenced_message"] = reply_to
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the gateway socket the way Discord does before asking for a resume."""
        for ws in list(self._sockets):
            await ws.close(code=code, message=b"standin drop")

    # --- payload builders -----------------------------------------------------------------

    def message(self, content: str, *, author: dict[str, Any], channel_id: str = CHANNEL_ID,
                mentions: list[dict[str, Any]] | None = None, embeds: Any = None,
                components: Any = None, flags: int = 0) -> dict[str, Any]:
        message = {
            "id": self.next_id(), "channel_id": channel_id, "author": author,
            "content": content, "timestamp": NOW, "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": mentions or [], "mention_roles": [],
            "attachments": [], "embeds": embeds or [], "pinned": False, "type": 0,
            "flags": flags, "components": components or [],
        }
        self.messages[message["id"]] = message
        return message

    def text_channel(self) -> dict[str, Any]:
        return {"id": CHANNEL_ID, "type": 0, "guild_id": GUILD_ID, "name": "general",
                "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None}

    def _thread(self, parent: str, message_id: str, name: str) -> dict[str, Any]:
        return {"id": message_id, "type": 11, "guild_id": GUILD_ID, "parent_id": parent,
                "name": name, "owner_id": BOT_ID, "message_count": 0, "member_count": 1,
                "rate_limit_per_user": 0, "flags": 0,
                "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                    "archive_timestamp": NOW, "locked": False}}

    def _guild(self) -> dict[str, Any]:
        return {
            "id": GUILD_ID, "name": "Stand-in guild", "icon": None, "owner_id": OWNER_ID,
            "roles": [{"id": GUILD_ID, "name": "@everyone", "permissions": "0",
                       "position": 0, "color": 0, "hoist": False, "managed": False,
                       "mentionable": False, "flags": 0}],
            "channels": [self.text_channel()], "threads": [], "members": [], "emojis": [],
            "stickers": [], "features": [], "member_count": 2, "large": False,
            "unavailable": False, "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [], "joined_at": NOW,
            "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "premium_tier": 0,
            "system_channel_flags": 0, "preferred_locale": "en-US", "nsfw_level": 0,
        }

    # --- gateway --------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op = payload.get("op")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif op == 2:
                    await self._identify(ws, payload["d"])
                elif op == 6:
                    await self._resume(ws, payload["d"])
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        self.identifies += 1
        self._seq += 1
        ready = {"op": 0, "t": "READY", "s": self._seq, "d": {
            "v": 10, "user": {**BOT_USER, "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": GUILD_ID, "unavailable": True}], "session_id": self.session_id,
            "resume_gateway_url": self.gateway_url, "application": {"id": APP_ID, "flags": 0},
            "private_channels": [], "relationships": [],
            **({"shard": data["shard"]} if "shard" in data else {}),
        }}
        self._events.append(ready)
        await ws.send_str(json.dumps(ready))
        await self.dispatch("GUILD_CREATE", self._guild())

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token or data.get("session_id") != self.session_id:
            await ws.send_str(json.dumps({"op": 9, "d": False}))
            return
        self.resumes += 1
        for event in self._events:
            if event["s"] > int(data.get("seq") or 0):
                await ws.send_str(json.dumps(event))
        self._seq += 1
        await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": self._seq, "d": {}}))

    # --- REST -----------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                body = json.loads(raw)
            elif raw:
                body = await self._multipart_json(request, raw)
        self.calls.append(Call(request.method, path, body, time.monotonic()))
        if request.headers.get("Authorization") not in (f"Bot {self.token}", None) \
                and not path.startswith(("/webhooks", "/interactions")):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        return await self._route(request.method, path, body)

    async def _multipart_json(self, request: web.Request, raw: bytes) -> Any:
        text = raw.decode("utf-8", "replace")
        start = text.find("{")
        end = text.rfind("}")
        return json.loads(text[start : end + 1]) if start >= 0 else None

    async def _route(self, method: str, path: str, body: Any) -> web.Response:
        parts = path.strip("/").split("/")
        if path == "/users/@me":
            return _json(BOT_USER)
        if path == "/oauth2/applications/@me":
            return _json({"id": APP_ID, "name": "ArticleBot", "icon": None, "description": "",
                          "bot_public": True, "bot_require_code_grant": False,
                          "verify_key": "00", "flags": 0,
                          "owner": user(OWNER_ID, "owner")})
        if path == "/gateway/bot":
            return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
        if method == "PUT" and parts[0] == "applications" and parts[-1] == "commands":
            return _json([{"description": "", **c, "id": self.next_id(),
                           "application_id": APP_ID, "version": "1",
                           "default_member_permissions": c.get("default_member_permissions")}
                          for c in body or []])
        if parts[0] == "interactions" and parts[-1] == "callback":
            message = None
            if body and body.get("type") == 4:
                message = self.message((body.get("data") or {}).get("content") or "",
                                       author=BOT_USER, flags=(body.get("data") or {}).get(
                                           "flags") or 0,
                                       embeds=(body.get("data") or {}).get("embeds"),
                                       components=(body.get("data") or {}).get("components"))
            return _json({"interaction": {"id": parts[1], "type": 2},
                          "resource": {"type": body.get("type") if body else 5,
                                       **({"message": message} if message else {})}})
        if parts[0] == "webhooks":
            return await self._webhook(method, parts, body)
        if parts[0] == "channels":
            return await self._channel(method, parts, body)
        return _json({"message": f"stand-in has no route for {method} {path}", "code": 0}, 404)

    async def _webhook(self, method: str, parts: list[str], body: Any) -> web.Response:
        if method == "POST" and len(parts) == 3:  # a follow-up message
            if self.faults.followups:
                status = self.faults.followups.pop(0)
                if status == 429:
                    return _json({"message": "You are being rate limited.", "retry_after": 0.05,
                                  "global": False}, 429, {"Retry-After": "0.05",
                                                          "X-RateLimit-Scope": "user"})
                return _json({"message": "Server error", "code": 0}, status)
            body = body or {}
            message = self.message(body.get("content") or "", author=BOT_USER,
                                   embeds=body.get("embeds"), components=body.get("components"),
                                   flags=body.get("flags") or 0)
            return _json(message)
        return _json(self.message((body or {}).get("content") or "", author=BOT_USER))

    async def _channel(self, method: str, parts: list[str], body: Any) -> web.Response:
        channel_id = parts[1]
        if method == "POST" and parts[-1] == "threads":
            thread = self._thread(channel_id, parts[3], (body or {}).get("name", "thread"))
            self.channels[thread["id"]] = thread
            await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
            return _json(thread)
        if method == "POST" and parts[-1] == "messages":
            body = body or {}
            message = self.message(body.get("content") or "", author=BOT_USER,
                                   channel_id=channel_id, embeds=body.get("embeds"),
                                   components=body.get("components"))
            if body.get("message_reference"):
                message["message_reference"] = body["message_reference"]
            return _json(message)
        if "reactions" in parts:
            return web.Response(status=204)
        return _json({"message": "Unknown channel route", "code": 0}, 404)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py's login rejects a charset suffix.
    # Discord's answers come through its proxy; without "Via", discord.py reads a 429 as a
    # Cloudflare ban and does not retry.
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", "Via": "1.1 google",
                                 **(headers or {})})
