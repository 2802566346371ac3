"""The stand-in: state (channels, messages, commands, interactions), the switches a test
flips (the bot's permissions, whether the Message Content intent is enabled in the Developer
Portal, faults, the clock), the user's side of Discord (slash commands, clicks, messages,
DMs), and what a test reads afterwards (calls, refusals, what users were shown, interactions
left loading)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.standin import objects as o
from tests.standin.errors import MESSAGES, DiscordError
from tests.standin.gateway import Gateway
from tests.standin.rest import BODY, TOKEN_SECONDS, Rest, json_response, parse_body
from tests.standin.rules import EPHEMERAL, LOADING, has_body

DISCORD_EPOCH_MS = 1_420_070_400_000  # reference.mdx, Snowflakes: the first second of 2015


class CommandUnavailable(AssertionError):
    """A user could not have invoked this: the command is not registered where it was used."""


@dataclass
class Call:
    method: str
    path: str
    body: Any
    at: float
    status: int = 0


@dataclass(frozen=True)
class Refusal:
    method: str
    path: str
    status: int
    code: int
    errors: Any


@dataclass
class Fault:
    """Answer the next requests matching ``method`` and ``fragment`` with these statuses
    (and JSON error ``code``)."""

    method: str
    fragment: str
    statuses: list[int]
    code: int = 0
    # The request takes effect, and only its answer is lost (a 5xx from a proxy after
    # Discord applied it): what a client's retry of it then meets.
    applied: bool = False


@dataclass
class InteractionState:
    payload: dict[str, Any]
    created: float  # the stand-in's clock (``now``) when the user acted
    callback: int | None = None  # the interaction callback type it was answered with
    acknowledged: float | None = None  # the stand-in's clock when that callback came
    original_id: str | None = None
    loading: bool = False  # deferred, and the loading message not yet replaced or deleted
    # a component's DEFERRED_UPDATE_MESSAGE, its message not yet edited: the user chose and
    # nothing has happened yet (no loading state: receiving-and-responding.mdx, type 6)
    updating: bool = False
    followup_ids: list[str] = field(default_factory=list)
    deprecated: list[str] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None
    delivered_to: list[tuple[int, int]] = field(default_factory=list)  # sessions' shards

    @property
    def id(self) -> str:
        return str(self.payload["id"])

    @property
    def token(self) -> str:
        return str(self.payload["token"])

    @property
    def type(self) -> int:
        return int(self.payload["type"])

    @property
    def name(self) -> str:
        data = self.payload.get("data") or {}
        return str(data.get("name") or data.get("custom_id") or "?")


class DiscordStandIn:
    def __init__(self, token: str = "standin-token") -> None:
        self.token = token
        # --- switches a test flips -------------------------------------------------------
        self.message_content_enabled = False  # the intent's switch in the Developer Portal
        self.bot_permissions = o.BOT_PERMISSIONS  # the bot's managed role
        self.recommended_shards = 1
        # resources/channel.mdx, Threads: "Guilds have limits on the number of active
        # threads [...] Once these are reached additional threads cannot be created"
        # (160006; 160007 for announcement threads). The number is not documented; 1,000
        # is what Discord's support pages give. Tests lower it.
        self.max_active_threads = 1000
        # events/gateway.mdx, Session Start Limit Object: "Number of identify requests
        # allowed per 5 seconds" (1 for most bots; more for large ones)
        self.max_concurrency = 1
        self.session_start_total = 1000  # IDENTIFYs allowed a day (ibid., "total")
        # events/gateway.mdx, Sharding: "Each shard can only support a maximum of 2500
        # guilds"; a session that would hold more is closed with 4011, Sharding required
        # (topics/opcodes-and-status-codes.mdx, Gateway Close Event Codes)
        self.max_guilds_per_session = 2500
        # reference.mdx, API Versioning: the versions "Available" (the gateway's ``v``)
        self.gateway_versions: tuple[int, ...] = (9, 10)
        self.faults: list[Fault] = []
        self.expected_codes: set[int] = set()  # refusals the running test provokes on purpose
        self._skew = 0.0
        # --- state ---------------------------------------------------------------------------
        self.calls: list[Call] = []
        self.refusals: list[Refusal] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.channels: dict[str, dict[str, Any]] = {}
        self.guilds: dict[str, str] = {o.GUILD_ID: "Stand-in guild"}  # id: name
        self.commands: dict[str | None, list[dict[str, Any]]] = {}  # None: global
        self.interactions: dict[str, InteractionState] = {}
        self._last_id = 0
        self.gateway = Gateway(self)
        self.rest = Rest(self)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._build_world()

    def _build_world(self) -> None:
        self.channels[o.CHANNEL_ID] = o.text_channel()
        self.channels[o.FORUM_ID] = o.forum_channel()
        post = o.thread(o.FORUM_POST_ID, o.FORUM_ID, "How do I ask?", owner_id="700")
        self.channels[o.FORUM_POST_ID] = post
        # a forum post's first message has the thread's id (resources/channel.mdx, Start
        # Thread in Forum or Media Channel)
        self.messages[o.FORUM_POST_ID] = o.message(
            o.FORUM_POST_ID, "How do I ask?", author=o.user("700", "user0700"),
            channel_id=o.FORUM_POST_ID)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/gateway", self.gateway.handle)
        self.rest.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> str:
        """A snowflake, as Discord makes them (reference.mdx, Snowflakes): milliseconds since
        the Discord epoch from bit 22 up, so its timestamp is when it was made (the bot
        measures an interaction's age from it); one more than the last within a
        millisecond."""
        made = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_id = max(made, self._last_id + 1)
        return str(self._last_id)

    def now(self) -> float:
        """The stand-in's clock: real time, plus whatever a test skipped with ``advance``."""
        return time.monotonic() + self._skew

    def advance(self, seconds: float) -> None:
        self._skew += seconds

    def fail(self, method: str, fragment: str, *statuses: int, code: int = 0,
             applied: bool = False) -> None:
        self.faults.append(Fault(method, fragment, list(statuses), code, applied))

    # --- every request --------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if request.path == "/gateway":
            response: web.StreamResponse = await handler(request)
            return response
        path = request.path.removeprefix("/api/v10")
        call = Call(request.method, path, None, time.monotonic())
        self.calls.append(call)
        try:
            call.body = request[BODY] = await parse_body(request)
            fault = self._take_fault(request.method, path)
            if fault is not None:
                response, applied = fault
                if applied and self._authorised(request, path):
                    await handler(request)  # done; the client hears only the failure
            elif not self._authorised(request, path):
                response = json_response({"message": "401: Unauthorized", "code": 0}, 401)
            else:
                response = await handler(request)
        except DiscordError as err:
            self.refusals.append(Refusal(request.method, path, err.status, err.code, err.errors))
            response = json_response(err.body(), err.status)
        except web.HTTPNotFound:
            response = json_response({"message": "404: Not Found", "code": 0}, 404)
        call.status = response.status
        return response

    def _authorised(self, request: web.Request, path: str) -> bool:
        # Webhook and interaction-callback routes are authorised by their token in the path;
        # GET /gateway needs no authorisation (events/gateway.mdx, Get Gateway).
        if path.startswith(("/webhooks/", "/interactions/")) or path == "/gateway":
            return True
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def _take_fault(self, method: str, path: str) -> tuple[web.Response, bool] | None:
        """The failure to answer with, and whether the request takes effect all the same."""
        for fault in self.faults:
            if fault.method == method and fault.fragment in path and fault.statuses:
                status = fault.statuses.pop(0)
                if status == 429:
                    return json_response({"message": "You are being rate limited.",
                                          "retry_after": 0.05, "global": False}, 429,
                                         {"Retry-After": "0.05", "X-RateLimit-Scope": "user"}
                                         ), False
                if fault.code:
                    self.refusals.append(Refusal(method, path, status, fault.code, None))
                    return json_response({"message": MESSAGES[fault.code],
                                          "code": fault.code}, status), fault.applied
                return json_response({"message": "Server error", "code": 0},
                                     status), fault.applied
        return None

    # --- the world ------------------------------------------------------------------------

    def guild_ids(self) -> list[str]:
        return list(self.guilds)

    async def add_guild(self, shard_id: int, num_shards: int) -> tuple[str, str]:
        """The bot is added to a new guild whose events go to shard ``shard_id`` of
        ``num_shards`` ((guild_id >> 22) % num_shards, events/gateway.mdx, Sharding
        Formula), with a text channel; Discord sends the bot's sessions its GUILD_CREATE
        (events/gateway-events.mdx, Guild Create: "user joined a new guild"). Returns the
        guild's id and its channel's."""
        timestamp = (int(o.GUILD_ID) >> 22) + 1
        while timestamp % num_shards != shard_id or str(timestamp << 22) in self.guilds:
            timestamp += 1
        guild_id = str(timestamp << 22)
        channel_id = str(int(guild_id) + 2)
        self.guilds[guild_id] = f"Stand-in guild on shard {shard_id} of {num_shards}"
        self.channels[channel_id] = o.text_channel(channel_id, guild_id=guild_id)
        await self.gateway.dispatch("GUILD_CREATE", self.guild_payload(guild_id))
        return guild_id, channel_id

    async def remove_bot_from(self, guild_id: str) -> None:
        """A server's admin removes the bot: its sessions are told (events/gateway-events.mdx,
        Guild Delete: "user was removed from a guild", without ``unavailable``), and the
        app can no longer reach the guild."""
        await self.gateway.dispatch("GUILD_DELETE", {"id": guild_id})
        del self.guilds[guild_id]

    def guild_of(self, channel_id: str) -> str | None:
        return self.channels[channel_id].get("guild_id")

    def guild_payload(self, guild_id: str) -> dict[str, Any]:
        guild_channels = [c for c in self.channels.values()
                          if c.get("guild_id") == guild_id and c["type"] not in o.THREAD_TYPES]
        threads = [c for c in self.channels.values()
                   if c.get("guild_id") == guild_id and c["type"] in o.THREAD_TYPES]
        bot_member = {**o.member(o.BOT_ID, roles=[o.bot_role_id(guild_id)]),
                      "user": o.BOT_USER}
        return {
            "id": guild_id, "name": self.guilds[guild_id], "icon": None,
            "owner_id": o.OWNER_ID, "roles": self.roles(guild_id), "channels": guild_channels,
            "threads": threads,
            "members": [bot_member], "emojis": [], "stickers": [], "features": [],
            "member_count": 2, "large": False, "unavailable": False, "voice_states": [],
            "presences": [], "stage_instances": [], "guild_scheduled_events": [],
            "soundboard_sounds": [], "joined_at": o.NOW, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
            "premium_tier": 0, "system_channel_flags": 0, "preferred_locale": "en-US",
            "nsfw_level": 0,
        }

    def roles(self, guild_id: str = o.GUILD_ID) -> list[dict[str, Any]]:
        """@everyone (whose id is the guild's, topics/permissions.mdx, Role Object) and the
        bot's managed role."""
        return [o.role(guild_id, "@everyone", o.EVERYONE_PERMISSIONS),
                o.role(o.bot_role_id(guild_id), "ArticleBot", self.bot_permissions,
                       managed=True, bot_id=o.BOT_ID, position=1)]

    async def set_bot_permissions(self, permissions: int) -> None:
        """Change the bot's role in every guild (as their admins would) and tell the bot."""
        self.bot_permissions = permissions
        for guild_id in self.guilds:
            role = self.roles(guild_id)[1]
            await self.gateway.dispatch("GUILD_ROLE_UPDATE", {"guild_id": guild_id,
                                                              "role": role})

    def bot_permissions_in(self, channel_id: str) -> int:
        """topics/permissions.mdx, Permission Overwrites: @everyone's and the bot's role's
        permissions (no overwrites here); threads take their parent's (Inherited
        Permissions (Threads))."""
        channel = self.channels[channel_id]
        if channel["type"] == o.DM:
            return o.DM_APP_PERMISSIONS
        permissions = o.EVERYONE_PERMISSIONS | self.bot_permissions
        if permissions & o.ADMINISTRATOR:
            return (1 << 53) - 1
        return permissions

    def dm_channel_id(self, user_id: str) -> str:
        channel_id = f"8{user_id.rjust(17, '0')}"
        if channel_id not in self.channels:
            self.channels[channel_id] = o.dm_channel(channel_id, o.user(user_id, f"user{user_id}"))
        return channel_id

    def set_commands(self, guild: str | None, commands: list[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
        """Bulk overwrite: keep the ids of commands that stay (by type and name)."""
        old = {(c["type"], c["name"]): c["id"] for c in self.commands.get(guild, [])}
        stored = []
        for command in commands:
            kind = command.get("type", 1)
            permissions = command.get("default_member_permissions")
            stored.append({
                "description": "", "options": [], "contexts": None, "integration_types": [0],
                "nsfw": False, **command,
                # Application Command Structure: default_member_permissions is "?string"
                "default_member_permissions": None if permissions is None else str(permissions),
                "type": kind, "id": old.get((kind, command["name"])) or self.next_id(),
                "application_id": o.APP_ID, "version": self.next_id(),
                **({"guild_id": guild} if guild else {}),
            })
        self.commands[guild] = stored
        return stored

    def visible_commands(self, *, dm: bool = False,
                         guild_id: str | None = o.GUILD_ID) -> list[dict[str, Any]]:
        """What a user's command picker lists (interactions/application-commands.mdx,
        Registering a Command: "Guild commands are not available in DMs"; Contexts: a
        global command appears where its contexts include the interaction context, GUILD 0
        or BOT_DM 1, default all)."""
        context = 1 if dm else 0
        shown = [c for c in self.commands.get(None, [])
                 if context in (c.get("contexts") or [0, 1, 2])
                 and 0 in (c.get("integration_types") or [0])]
        if not dm:
            shown += self.commands.get(guild_id, [])
        return shown

    def command(self, name: str, kind: int, *, dm: bool = False,
                channel_id: str = o.CHANNEL_ID) -> dict[str, Any]:
        """The command a user picks, in ``channel_id``'s guild (or a DM)."""
        guild_id = None if dm else self.guild_of(channel_id)
        for command in self.visible_commands(dm=dm, guild_id=guild_id):
            if command["name"] == name and command["type"] == kind:
                return command
        where = "a DM with the bot" if dm else "the guild"
        raise CommandUnavailable(f"no command {name!r} (type {kind}) is available in {where}")

    # --- messages and interactions, as Discord keeps them -------------------------------------

    def _bot_message(self, channel: dict[str, Any], body: dict[str, Any], *, kind: int = 0,
                     flags: int = 0) -> dict[str, Any]:
        message = o.message(self.next_id(), body.get("content") or "", author=o.BOT_USER,
                            channel_id=channel["id"], guild_id=channel.get("guild_id"),
                            embeds=body.get("embeds"), components=body.get("components"),
                            flags=flags, kind=kind)
        self.messages[message["id"]] = message
        return message

    async def post_message(self, channel: dict[str, Any], body: dict[str, Any]
                           ) -> dict[str, Any]:
        reference = body.get("message_reference")
        message = self._bot_message(channel, body, kind=19 if reference else 0,
                                    flags=body.get("flags") or 0)
        if reference:
            target = self.messages[str(reference["message_id"])]
            message["message_reference"] = {"type": 0, "message_id": target["id"],
                                            "channel_id": target["channel_id"],
                                            "guild_id": target.get("guild_id")}
            message["referenced_message"] = target
        await self.gateway.dispatch("MESSAGE_CREATE", message)
        return message

    async def respond(self, state: InteractionState, data: dict[str, Any], *,
                      loading: bool) -> dict[str, Any]:
        """The interaction's original response: a message, or (deferred) a loading one."""
        flags = data.get("flags") or 0
        if loading:  # a loading message keeps only the defer's EPHEMERAL
            flags = (flags & EPHEMERAL) | LOADING
        message = self._bot_message(self.channels[state.payload["channel_id"]],
                                    {} if loading else data, kind=self._response_kind(state),
                                    flags=flags)
        message.update(self._interaction_fields(state))
        state.original_id = message["id"]
        state.loading = loading
        if not flags & EPHEMERAL:
            await self.gateway.dispatch("MESSAGE_CREATE", message)
        return message

    async def create_followup(self, state: InteractionState, body: dict[str, Any]
                              ) -> dict[str, Any]:
        message = self._bot_message(self.channels[state.payload["channel_id"]], body,
                                    kind=self._response_kind(state),
                                    flags=(body.get("flags") or 0) & EPHEMERAL)
        message.update(self._interaction_fields(state))
        message["interaction_metadata"]["original_response_message_id"] = state.original_id
        state.followup_ids.append(message["id"])
        if not message["flags"] & EPHEMERAL:
            await self.gateway.dispatch("MESSAGE_CREATE", message)
        return message

    async def edit_original(self, state: InteractionState, body: dict[str, Any]
                            ) -> dict[str, Any]:
        message = self.messages[state.original_id or ""]
        edited = await self.edit_message(message, body)
        state.loading = state.updating = False
        return edited

    async def edit_message(self, message: dict[str, Any], body: dict[str, Any]
                           ) -> dict[str, Any]:
        """Edit: given fields replace the old ones; the ephemeral state never changes (an
        existing message's ephemeral state cannot be changed, receiving-and-responding.mdx,
        Create Followup Message); the result must not be empty (50006)."""
        updated = {**message}
        for key in ("content", "embeds", "components", "allowed_mentions"):
            if key in body:
                updated[key] = body[key] if body[key] is not None else (
                    "" if key == "content" else [])
        updated["flags"] = message["flags"] & ~LOADING
        if not has_body(updated):
            raise DiscordError(400, 50006)
        updated["edited_timestamp"] = o.NOW
        self.messages[message["id"]] = updated
        return updated

    async def edit_component_message(self, state: InteractionState, data: dict[str, Any]
                                     ) -> dict[str, Any]:
        message = self.messages[state.payload["message"]["id"]]
        return await self.edit_message(message, data)

    async def delete_message(self, message_id: str, *, by_bot: bool = False) -> None:
        """Delete a message (the user deleting their question, or the bot its response)."""
        message = self.messages.pop(message_id)
        self.deleted.add(message_id)
        if not message["flags"] & EPHEMERAL:
            await self.gateway.dispatch("MESSAGE_DELETE", {
                "id": message_id, "channel_id": message["channel_id"],
                **({"guild_id": message["guild_id"]} if message.get("guild_id") else {})})

    async def open_thread(self, message: dict[str, Any], name: str, archive_minutes: int,
                          owner_id: str) -> dict[str, Any]:
        parent = self.channels[message["channel_id"]]
        kind = o.ANNOUNCEMENT_THREAD if parent["type"] == o.GUILD_ANNOUNCEMENT else \
            o.PUBLIC_THREAD
        thread = o.thread(message["id"], parent["id"], name, owner_id, archive_minutes, kind,
                          guild_id=parent["guild_id"])
        self.channels[thread["id"]] = thread
        message["thread"] = thread
        message["flags"] |= 1 << 5  # HAS_THREAD
        await self.gateway.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        await self.gateway.dispatch("MESSAGE_UPDATE", message)
        return thread

    def _response_kind(self, state: InteractionState) -> int:
        """Message types (resources/message.mdx): CHAT_INPUT_COMMAND 20 for slash commands,
        CONTEXT_MENU_COMMAND 23 for menus; a component's response is a REPLY (19)."""
        if state.type == 2:
            return 20 if (state.payload.get("data") or {}).get("type", 1) == 1 else 23
        return 19

    def _interaction_fields(self, state: InteractionState) -> dict[str, Any]:
        payload = state.payload
        invoker = (payload.get("member") or {}).get("user") or payload.get("user")
        return {"webhook_id": o.APP_ID, "application_id": o.APP_ID, "interaction_metadata": {
            "id": state.id, "type": state.type, "user": invoker,
            "authorizing_integration_owners": payload["authorizing_integration_owners"]}}

    def interaction_by_token(self, token: str) -> InteractionState | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    # --- the user's side ----------------------------------------------------------------------

    def interaction(self, kind: int, data: dict[str, Any], *, user_id: str = "700",
                    permissions: int = 0, channel_id: str = o.CHANNEL_ID, dm: bool = False,
                    message: dict[str, Any] | None = None) -> dict[str, Any]:
        """An INTERACTION_CREATE payload (receiving-and-responding.mdx, Interaction
        Structure): in a guild with ``member``, in a DM with ``user`` and no guild."""
        iid = self.next_id()
        if dm and self.channels.get(channel_id, {}).get("type") != o.DM:
            channel_id = self.dm_channel_id(user_id)
        channel = self.channels[channel_id]
        payload: dict[str, Any] = {
            "id": iid, "application_id": o.APP_ID, "type": kind, "token": f"itoken{iid}",
            "version": 1, "attachment_size_limit": 8_388_608, "channel_id": channel_id,
            "channel": channel, "app_permissions": str(self.bot_permissions_in(channel_id)),
            "locale": "en-US", "entitlements": [], "data": data,
        }
        if dm:  # Interaction Context Types: BOT_DM 1; the guild-install owner is "0" in DMs
            payload.update(user=o.user(user_id, f"user{user_id[-4:]}"), context=1,
                           authorizing_integration_owners={"0": "0"})
        else:
            guild_id = channel["guild_id"]
            payload.update(guild_id=guild_id, guild_locale="en-US", context=0,
                           member=o.member(user_id, permissions),
                           authorizing_integration_owners={"0": guild_id})
        if message is not None:
            payload["message"] = message
        self.interactions[iid] = InteractionState(payload, self.now())
        return payload

    async def _send_interaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        sessions = await self.gateway.dispatch("INTERACTION_CREATE", payload)
        self.interactions[payload["id"]].delivered_to = [s.shard for s in sessions]
        return payload

    async def slash(self, name: str, options: dict[str, Any] | None = None, *,
                    dm: bool = False, **kwargs: Any) -> dict[str, Any]:
        """/name with ``options``, as the client sends them: each with its registered type;
        the client lets nobody send a command without its required options, or with an
        option it does not have."""
        command = self.command(name, 1, dm=dm,
                               channel_id=kwargs.get("channel_id", o.CHANNEL_ID))
        opts = self._options(command, options or {})
        missing = [o["name"] for o in command.get("options") or []
                   if o.get("required") and o["name"] not in (options or {})]
        if missing:
            raise AssertionError(f"/{name} cannot be sent without {missing}")
        data = {"id": command["id"], "name": name, "type": 1, "options": opts,
                **({"guild_id": command["guild_id"]} if "guild_id" in command else {})}
        return await self._send_interaction(self.interaction(2, data, dm=dm, **kwargs))

    async def autocomplete(self, typed: str, *, command: str = "ask", option: str = "question",
                           filled: dict[str, Any] | None = None, dm: bool = False,
                           **kwargs: Any) -> dict[str, Any]:
        """Typing ``typed`` in ``option`` of /``command``, with the options ``filled`` so
        far (interactions/application-commands.mdx, Autocomplete: the focused option has
        ``focused: true``, the others are sent as typed). Only an option registered with
        ``autocomplete`` sends these."""
        registered = self.command(command, 1, dm=dm,
                                  channel_id=kwargs.get("channel_id", o.CHANNEL_ID))
        spec = next((o for o in registered.get("options") or [] if o["name"] == option), None)
        if spec is None or not spec.get("autocomplete"):
            raise AssertionError(f"/{command} {option} has no autocomplete")
        opts = self._options(registered, filled or {})
        opts.append({"name": option, "type": spec["type"], "value": typed, "focused": True})
        data = {"id": registered["id"], "name": command, "type": 1, "options": opts,
                **({"guild_id": registered["guild_id"]} if "guild_id" in registered else {})}
        return await self._send_interaction(self.interaction(4, data, dm=dm, **kwargs))

    @staticmethod
    def _options(command: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
        specs = {o["name"]: o for o in command.get("options") or []}
        unknown = set(values) - set(specs)
        if unknown:
            raise AssertionError(f"/{command['name']} has no option {sorted(unknown)}")
        return [{"name": k, "type": specs[k]["type"], "value": v} for k, v in values.items()]

    def focused_option(self, state: InteractionState) -> dict[str, Any] | None:
        """The registered option an autocomplete interaction is typing in."""
        data = state.payload.get("data") or {}
        focused = next((o for o in data.get("options") or [] if o.get("focused")), None)
        command = next((c for cs in self.commands.values() for c in cs
                        if c["id"] == data.get("id")), None)
        if focused is None or command is None:
            return None
        return next((o for o in command.get("options") or []
                     if o["name"] == focused["name"]), None)

    async def context_menu(self, message: dict[str, Any], *, dm: bool = False,
                           **kwargs: Any) -> dict[str, Any]:
        """A message command on ``message``: its content always arrives (events/gateway.mdx,
        Message Content Intent: "Content of the message a message context menu command is
        used on")."""
        kwargs.setdefault("channel_id", message["channel_id"])
        command = self.command("Ask the article", 3, dm=dm, channel_id=kwargs["channel_id"])
        data = {"id": command["id"], "name": command["name"], "type": 3,
                "target_id": message["id"], "resolved": {"messages": {message["id"]: message}},
                **({"guild_id": command["guild_id"]} if "guild_id" in command else {})}
        return await self._send_interaction(self.interaction(2, data, dm=dm, **kwargs))

    async def click(self, message: dict[str, Any] | str, custom_id: str,
                    **kwargs: Any) -> dict[str, Any]:
        """Click a button a user can see: it must be on the message as Discord shows it."""
        shown, component = self._component(message, custom_id, kwargs.get("user_id", "700"))
        if component.get("type") != 2:
            raise AssertionError(f"{custom_id!r} is not a button")
        return await self._use(shown, {"custom_id": custom_id, "component_type": 2}, kwargs)

    async def choose(self, message: dict[str, Any] | str, custom_id: str,
                     values: list[str], **kwargs: Any) -> dict[str, Any]:
        """Pick ``values`` in a string select (components/reference.mdx, String Select
        Interaction Response Structure: component_type 3 and the values chosen). The client
        offers only the select's options, between min_values and max_values of them."""
        shown, select = self._component(message, custom_id, kwargs.get("user_id", "700"))
        if select.get("type") != 3:
            raise AssertionError(f"{custom_id!r} is not a string select")
        offered = [o["value"] for o in select.get("options") or []]
        low, high = select.get("min_values", 1), select.get("max_values", 1)
        if not set(values) <= set(offered) or not low <= len(values) <= high:
            raise AssertionError(f"the select offers {offered} ({low}-{high} of them), "
                                 f"not {values}")
        return await self._use(shown, {"custom_id": custom_id, "component_type": 3,
                                       "values": values}, kwargs)

    def _component(self, message: dict[str, Any] | str, custom_id: str, user_id: str
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The message as users see it now, and its component ``custom_id``. An ephemeral
        message is seen only by the user it was shown to (receiving-and-responding.mdx,
        Create Followup Message: EPHEMERAL sends "a message that only the user can see")."""
        message_id = message if isinstance(message, str) else message["id"]
        shown = self.messages.get(message_id)
        if shown is None:
            raise AssertionError(f"message {message_id} does not exist (deleted?)")
        if shown["flags"] & EPHEMERAL:
            viewer = ((shown.get("interaction_metadata") or {}).get("user") or {}).get("id")
            if viewer != user_id:
                raise AssertionError(f"user {user_id} cannot see ephemeral message "
                                     f"{message_id} (shown to {viewer})")
        components = {c.get("custom_id"): c for row in shown.get("components") or []
                      for c in row.get("components", [])}
        if custom_id not in components:
            raise AssertionError(f"no component {custom_id!r} on the message; it has "
                                 f"{list(components)}")
        return shown, components[custom_id]

    async def _use(self, shown: dict[str, Any], data: dict[str, Any],
                   kwargs: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels[shown["channel_id"]]
        payload = self.interaction(3, data, channel_id=shown["channel_id"],
                                   dm=channel["type"] == o.DM, message=shown, **kwargs)
        return await self._send_interaction(payload)

    async def say(self, content: str, *, user_id: str = "700", mention_bot: bool = False,
                  mention_role: bool = False, channel_id: str = o.CHANNEL_ID, dm: bool = False,
                  reply_to: dict[str, Any] | None = None, ping: bool = True,
                  kind: int | None = None) -> dict[str, Any]:
        """A user's message. ``reply_to`` makes it a reply; ``ping`` is the client's
        "@ mention" toggle on replies (the replied-to author lands in ``mentions``);
        ``kind`` a message type other than DEFAULT (0) or REPLY (19), e.g. 4, the system
        message CHANNEL_NAME_CHANGE that renaming a thread posts (resources/message.mdx,
        Message Types), whose content is the new name."""
        if dm:
            channel_id = self.dm_channel_id(user_id)
        guild_id = self.guild_of(channel_id)
        role_id = o.bot_role_id(guild_id) if guild_id else None
        prefix = (f"<@{o.BOT_ID}> " if mention_bot else "") + (
            f"<@&{role_id}> " if mention_role and role_id else "")
        text = prefix + content
        mentions = [o.BOT_USER] if mention_bot else []
        if reply_to is not None and ping and reply_to["author"] not in mentions:
            mentions.append(reply_to["author"])
        message = o.message(self.next_id(), text, author=o.user(user_id, f"user{user_id[-4:]}"),
                            channel_id=channel_id, guild_id=guild_id, mentions=mentions,
                            mention_roles=[role_id] if mention_role and role_id else [],
                            kind=kind if kind is not None else 19 if reply_to else 0)
        if guild_id:
            message["member"] = {k: v for k, v in o.member(user_id).items() if k != "user"}
        if reply_to is not None:
            message["message_reference"] = {"type": 0, "message_id": reply_to["id"],
                                            "channel_id": reply_to["channel_id"],
                                            **({"guild_id": guild_id} if guild_id else {})}
            message["referenced_message"] = self.messages.get(reply_to["id"])
        self.messages[message["id"]] = message
        await self.gateway.dispatch("MESSAGE_CREATE", message)
        return message

    def post_as_bot(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """A message the bot posted before the test began (e.g. by an older version)."""
        return self._bot_message(self.channels[channel_id], body)

    async def user_opens_thread(self, message: dict[str, Any], name: str = "side talk"
                                ) -> dict[str, Any]:
        """Someone other than the bot starts a thread on ``message``."""
        return await self.open_thread(self.messages[message["id"]], name, 1440, "700")

    async def drop_connection(self, code: int = 4000, shard: int | None = None) -> None:
        await self.gateway.drop(code, shard)

    # --- what tests read ----------------------------------------------------------------------

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

    def state(self, payload: dict[str, Any]) -> InteractionState:
        return self.interactions[payload["id"]]

    def shown(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The messages an interaction left, as users see them now (original first)."""
        state = self.state(payload)
        ids = [state.original_id, *state.followup_ids]
        return [self.messages[i] for i in ids if i in self.messages]

    def settled(self, payload: dict[str, Any]) -> bool:
        state = self.state(payload)
        return state.callback is not None and not state.loading and not state.updating

    def bot_messages(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages.values()
                if m["channel_id"] == channel_id and m["author"]["id"] == o.BOT_ID
                and not m.get("interaction_metadata")]

    def pending(self) -> list[InteractionState]:
        """Interactions the bot may still be working on."""
        now = self.now()
        return [i for i in self.interactions.values()
                if (i.callback is None and now - i.created <= 3.0)
                or ((i.loading or i.updating) and now - i.created <= TOKEN_SECONDS)]

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait (up to ``timeout``) for the bot to finish with every interaction."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def problems(self) -> list[str]:
        """What a user of the real Discord would have hit: interactions never answered
        ("This interaction failed"), left loading ("thinking…" for 15 minutes), deprecated
        calls, requests Discord refuses (except the refusals a test expects), and IDENTIFYs
        over the rate limit."""
        found = []
        for i in self.interactions.values():
            if i.callback is None:
                found.append(f"interaction {i.name} ({i.id}) was never acknowledged")
            elif i.loading:
                found.append(f"interaction {i.name} ({i.id}) was left loading")
            elif i.updating:
                found.append(f"interaction {i.name} ({i.id}) deferred an update of its "
                             "message that never came")
            found += [f"interaction {i.name}: {d}" for d in i.deprecated]
        found += [f"{r.method} {r.path} refused: {r.status} code {r.code} {r.errors or ''}"
                  for r in self.refusals if r.code not in self.expected_codes]
        found += [f"gateway: {refusal}" for refusal in self.gateway.refused]
        return found
