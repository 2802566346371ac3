"""The REST routes the bot uses, under /api/v10, each refusing what Discord refuses (the
payload rules are in rules.py; the state rules — who may do what, when, how often — here,
each with its citation). Every request is recorded; every refusal too, so a test fails when
the bot sends something Discord would have refused."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.standin import objects as o
from tests.standin import rules
from tests.standin.errors import (
    ALREADY_ACKNOWLEDGED,
    DM_CHANNEL,
    INVALID_FORM_BODY,
    INVALID_JSON,
    INVALID_WEBHOOK_TOKEN,
    MAX_ACTIVE_ANNOUNCEMENT_THREADS,
    MAX_ACTIVE_THREADS,
    MISSING_ACCESS,
    MISSING_PERMISSIONS,
    REPLY_WITHOUT_HISTORY,
    THREAD_ALREADY_CREATED,
    UNKNOWN_CHANNEL,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    WRONG_CHANNEL_TYPE,
    DiscordError,
    form_error,
)

if TYPE_CHECKING:
    from tests.standin.server import DiscordStandIn, InteractionState

BODY: web.RequestKey[Any] = web.RequestKey("body", object)  # the parsed JSON body

API = "/api/v10"
ACK_SECONDS = 3.0  # receiving-and-responding.mdx, Interaction Callback: respond within 3 s
TOKEN_SECONDS = 15 * 60  # ibid.: "Interaction tokens are valid for 15 minutes"
HAS_THREAD = 1 << 5  # resources/message.mdx, Message Flags


def json_response(data: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py's login rejects a charset suffix.
    # Discord's answers come through its proxy; without "Via", discord.py reads a 429 as a
    # Cloudflare ban and does not retry.
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", "Via": "1.1 google",
                                 **(headers or {})})


class Rest:
    def __init__(self, standin: DiscordStandIn) -> None:
        self.s = standin

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get(f"{API}/gateway", self.gateway)
        r.add_get(f"{API}/gateway/bot", self.gateway_bot)
        r.add_get(f"{API}/users/@me", self.me)
        r.add_get(f"{API}/oauth2/applications/@me", self.application)
        r.add_put(f"{API}/applications/{{app}}/commands", self.put_commands)
        r.add_put(f"{API}/applications/{{app}}/guilds/{{guild}}/commands", self.put_commands)
        r.add_get(f"{API}/applications/{{app}}/commands", self.get_commands)
        r.add_get(f"{API}/applications/{{app}}/guilds/{{guild}}/commands", self.get_commands)
        r.add_post(f"{API}/interactions/{{iid}}/{{token}}/callback", self.callback)
        r.add_post(f"{API}/webhooks/{{app}}/{{token}}", self.followup)
        r.add_route("*", f"{API}/webhooks/{{app}}/{{token}}/messages/{{mid}}", self.webhook_message)
        r.add_post(f"{API}/channels/{{cid}}/messages", self.create_message)
        r.add_get(f"{API}/channels/{{cid}}/messages/{{mid}}", self.get_message)
        r.add_post(f"{API}/channels/{{cid}}/messages/{{mid}}/threads", self.start_thread)
        r.add_put(f"{API}/channels/{{cid}}/messages/{{mid}}/reactions/{{emoji}}/@me",
                  self.react)

    # --- login --------------------------------------------------------------------------

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.s.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        """events/gateway.mdx, Get Gateway Bot and Session Start Limit Object."""
        return json_response({"url": self.s.gateway_url, "shards": self.s.recommended_shards,
                              "session_start_limit": {
                                  "total": self.s.session_start_total,
                                  "remaining": self.s.session_start_total
                                  - self.s.gateway.identifies,
                                  "reset_after": 86_400_000,
                                  "max_concurrency": self.s.max_concurrency}})

    async def me(self, request: web.Request) -> web.Response:
        return json_response(o.BOT_USER)

    async def application(self, request: web.Request) -> web.Response:
        return json_response({"id": o.APP_ID, "name": "ArticleBot", "icon": None,
                              "description": "", "bot_public": True,
                              "bot_require_code_grant": False, "verify_key": "00", "flags": 0,
                              "owner": o.user(o.OWNER_ID, "owner")})

    # --- application commands -------------------------------------------------------------

    async def put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite (interactions/application-commands.mdx): the list replaces every
        command of that scope, global or one guild."""
        guild = request.match_info.get("guild")
        # interactions/application-commands.mdx, Authorizing Your Application: "To create
        # commands in a guild, your app must be authorized with the applications.commands
        # scope" (which the bot scope includes). Elsewhere: 403 (topics/opcodes-and-status-
        # codes.mdx, HTTP Response Codes: "did not have permission to the resource") with
        # 50001 Missing Access. Which code a guild id that exists nowhere gets is not
        # documented; what bots report (and the stand-in answers) is the same 50001.
        if guild is not None and guild not in self.s.guild_ids():
            raise DiscordError(403, MISSING_ACCESS)
        body = request[BODY]
        rules.check_commands(body)
        stored = self.s.set_commands(guild, body)
        return json_response(stored)

    async def get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.s.commands.get(request.match_info.get("guild"), []))

    # --- interactions ---------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        state = self.s.interactions.get(request.match_info["iid"])
        if state is None or state.token != request.match_info["token"]:
            raise DiscordError(404, UNKNOWN_INTERACTION)
        # receiving-and-responding.mdx, Interaction Callback: "If the 3 second deadline is
        # exceeded, the token will be invalidated."
        if self.s.now() - state.created > ACK_SECONDS:
            raise DiscordError(404, UNKNOWN_INTERACTION)
        # topics/opcodes-and-status-codes.mdx: 40060 "Interaction has already been
        # acknowledged" — one initial response per interaction
        if state.callback is not None:
            raise DiscordError(400, ALREADY_ACKNOWLEDGED)
        body = request[BODY]
        focused = self.s.focused_option(state) if state.type == 4 else None
        rules.check_interaction_response(body, state.type,
                                         focused.get("type") if focused else None)
        kind = body["type"]
        data = body.get("data") or {}
        state.callback = kind
        state.acknowledged = self.s.now()
        message = None
        if kind == 4:
            message = await self.s.respond(state, data, loading=False)
        elif kind == 5:
            # "ACK an interaction and edit a response later, the user sees a loading state"
            message = await self.s.respond(state, data, loading=True)
        elif kind in (6, 7):
            # DEFERRED_UPDATE_MESSAGE: "ACK an interaction and edit the original message
            # later"; UPDATE_MESSAGE: "edit the message the component was attached to". The
            # original response of a component interaction is that message.
            state.original_id = state.payload["message"]["id"]
            state.updating = kind == 6
            if kind == 7:
                message = await self.s.edit_component_message(state, data)
        elif kind == 8:
            state.choices = data.get("choices")
        # Create Interaction Response: 204, or 200 with the callback response object when
        # with_response is true; resource.message only for types 4 and 7.
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        result: dict[str, Any] = {"interaction": {"id": state.id, "type": state.type}}
        if message is not None:
            result["interaction"].update(
                response_message_id=message["id"], response_message_loading=kind == 5,
                response_message_ephemeral=bool(message["flags"] & rules.EPHEMERAL))
        result["resource"] = {"type": kind, **({"message": message} if kind in (4, 7)
                                               and message else {})}
        return json_response(result)

    def _webhook_state(self, request: web.Request) -> InteractionState:
        state = self.s.interaction_by_token(request.match_info["token"])
        if state is None or request.match_info["app"] != o.APP_ID or state.callback is None:
            raise DiscordError(404, UNKNOWN_WEBHOOK)
        # receiving-and-responding.mdx, Followup Messages: tokens are valid for 15 minutes
        if self.s.now() - state.created > TOKEN_SECONDS:
            raise DiscordError(401, INVALID_WEBHOOK_TOKEN)
        return state

    async def followup(self, request: web.Request) -> web.Response:
        state = self._webhook_state(request)
        body = request[BODY]
        rules.check_message(body, "followup")
        if state.loading:
            # receiving-and-responding.mdx, Create Followup Message: directly after a
            # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE this "will function as Edit Original
            # Interaction Response … The ephemeral flag will be ignored … This behavior is
            # deprecated".
            state.deprecated.append("the first follow-up after a defer (deprecated: edit the "
                                    "original response instead)")
            return json_response(await self.s.edit_original(state, body))
        # ASSUMPTION (undocumented): once the original response is deleted (Delete Original
        # Interaction Response), a follow-up is a new message, private when flagged
        # EPHEMERAL. The documentation describes follow-ups after a response and says
        # nothing of one whose response is gone; the bot relies on it in respond.tell.
        return json_response(await self.s.create_followup(state, body))

    async def webhook_message(self, request: web.Request) -> web.Response:
        state = self._webhook_state(request)
        mid = request.match_info["mid"]
        message_id = state.original_id if mid == "@original" else mid
        message = self.s.messages.get(message_id or "")
        if message is None or message_id not in (state.original_id, *state.followup_ids):
            raise DiscordError(404, UNKNOWN_MESSAGE)
        if request.method == "GET":
            return json_response(message)
        if request.method == "DELETE":  # Delete Original Interaction Response: 204
            await self.s.delete_message(message["id"], by_bot=True)
            if message_id == state.original_id:
                state.loading = state.updating = False
            return web.Response(status=204)
        if request.method == "PATCH":
            body = request[BODY]
            rules.check_message(body, "edit", create=False)
            if message_id == state.original_id:
                return json_response(await self.s.edit_original(state, body))
            return json_response(await self.s.edit_message(message, body))
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH", "DELETE"])

    # --- channels -------------------------------------------------------------------------

    def _channel(self, cid: str) -> dict[str, Any]:
        channel = self.s.channels.get(cid)
        if channel is None:
            raise DiscordError(404, UNKNOWN_CHANNEL)
        return channel

    def _require(self, channel: dict[str, Any], *needed: int) -> None:
        """topics/permissions.mdx: without VIEW_CHANNEL the channel is out of reach (50001
        Missing Access); without another permission the action is refused (50013)."""
        if channel["type"] == o.DM:
            return
        have = self.s.bot_permissions_in(channel["id"])
        if not have & o.VIEW_CHANNEL:
            raise DiscordError(403, MISSING_ACCESS)
        for bit in needed:
            if not have & bit:
                raise DiscordError(403, MISSING_PERMISSIONS)

    async def create_message(self, request: web.Request) -> web.Response:
        """resources/message.mdx, Create Message (and its Limitations)."""
        channel = self._channel(request.match_info["cid"])
        in_thread = channel["type"] in o.THREAD_TYPES
        # topics/permissions.mdx: SEND_MESSAGES "does not allow sending messages in threads";
        # threads need SEND_MESSAGES_IN_THREADS (Inherited Permissions (Threads))
        self._require(channel, o.SEND_MESSAGES_IN_THREADS if in_thread else o.SEND_MESSAGES)
        body = dict(request[BODY] or {})
        rules.check_message(body, "channel")
        reference = body.get("message_reference")
        if reference:
            # Limitations: "the current user must have the READ_MESSAGE_HISTORY permission.
            # The referenced message must exist and cannot be a system message." The code
            # is its own (opcodes-and-status-codes.mdx: 160002 "Cannot reply without
            # permission to read message history"); the status, 403, is what bots report.
            self._require(channel)
            if channel["type"] != o.DM and not (self.s.bot_permissions_in(channel["id"])
                                                & o.READ_MESSAGE_HISTORY):
                raise DiscordError(403, REPLY_WITHOUT_HISTORY)
            target = self.s.messages.get(str(reference.get("message_id")))
            if target is None:
                # Message Reference Structure: fail_if_not_exists, "default true": error,
                # else send as a normal (non-reply) message
                if reference.get("fail_if_not_exists", True):
                    raise form_error(("message_reference",), "REPLIES_UNKNOWN_MESSAGE",
                                     "Unknown message")
                body.pop("message_reference")
            elif target["type"] not in (0, 19, 20, 23):
                raise form_error(("message_reference",), "REPLIES_CANNOT_REPLY_TO_SYSTEM_MESSAGE",
                                 "Cannot reply to a system message")
        if body.get("embeds") and channel["type"] != o.DM and not (
                self.s.bot_permissions_in(channel["id"]) & o.EMBED_LINKS):
            # topics/permissions.mdx, EMBED_LINKS. Observed behaviour (discord-api-docs
            # issue #2601): an embed-only message is refused with 50013; with other content
            # the embeds are silently left out.
            if not body.get("content"):
                raise DiscordError(403, MISSING_PERMISSIONS)
            body["embeds"] = []
        return json_response(await self.s.post_message(channel, body))

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request.match_info["cid"])
        self._require(channel, o.READ_MESSAGE_HISTORY)
        message = self.s.messages.get(request.match_info["mid"])
        if message is None or message["channel_id"] != channel["id"]:
            raise DiscordError(404, UNKNOWN_MESSAGE)
        # events/gateway.mdx, Privileged Intents: the HTTP API applies the app's intent
        # setting, whatever intents a gateway session asked for
        intents = o.MESSAGE_CONTENT if self.s.message_content_enabled else 0
        return json_response(rules.received_message(message, intents))

    async def start_thread(self, request: web.Request) -> web.Response:
        """resources/channel.mdx, Start Thread from Message."""
        channel = self._channel(request.match_info["cid"])
        if channel["type"] == o.DM:
            raise DiscordError(400, DM_CHANNEL)
        # "When called on a GUILD_TEXT channel, creates a PUBLIC_THREAD. When called on a
        # GUILD_ANNOUNCEMENT channel, creates a ANNOUNCEMENT_THREAD. Does not work on a
        # GUILD_FORUM or a GUILD_MEDIA channel." (nor, then, inside a thread)
        if channel["type"] not in (o.GUILD_TEXT, o.GUILD_ANNOUNCEMENT):
            raise DiscordError(400, WRONG_CHANNEL_TYPE)
        # topics/permissions.mdx: CREATE_PUBLIC_THREADS "Allows for creating public and
        # announcement threads"
        self._require(channel, o.CREATE_PUBLIC_THREADS)
        message = self.s.messages.get(request.match_info["mid"])
        if message is None or message["channel_id"] != channel["id"]:
            raise DiscordError(404, UNKNOWN_MESSAGE)
        # "The id of the created thread will be the same as the id of the source message,
        # and as such a message can only have a single thread created from it" (160004)
        if message["id"] in self.s.channels or message["flags"] & HAS_THREAD:
            raise DiscordError(400, THREAD_ALREADY_CREATED)
        body = request[BODY] or {}
        rules.check_thread(body)
        announcement = channel["type"] == o.GUILD_ANNOUNCEMENT
        active = [c for c in self.s.channels.values() if c.get("guild_id") ==
                  channel.get("guild_id") and c["type"] in o.THREAD_TYPES
                  and not c["thread_metadata"]["archived"]
                  and (c["type"] == o.ANNOUNCEMENT_THREAD) == announcement]
        if len(active) >= self.s.max_active_threads:
            raise DiscordError(400, MAX_ACTIVE_ANNOUNCEMENT_THREADS if announcement
                               else MAX_ACTIVE_THREADS)
        thread = await self.s.open_thread(message, body["name"],
                                          body.get("auto_archive_duration", 4320), o.BOT_ID)
        return json_response(thread)

    async def react(self, request: web.Request) -> web.Response:
        """resources/message.mdx, Create Reaction: READ_MESSAGE_HISTORY, and ADD_REACTIONS
        for a new reaction; 204."""
        channel = self._channel(request.match_info["cid"])
        self._require(channel, o.READ_MESSAGE_HISTORY, o.ADD_REACTIONS)
        if request.match_info["mid"] not in self.s.messages:
            raise DiscordError(404, UNKNOWN_MESSAGE)
        return web.Response(status=204)


async def parse_body(request: web.Request) -> Any:
    """JSON, or the payload_json part of a multipart body (reference.mdx, Uploading Files).
    Any other Content-Type with a body is refused with 50035 (reference.mdx, HTTP API:
    "Clients using the HTTP API must provide a valid Content-Type"); bad JSON with 50109."""
    if not request.can_read_body:
        return None
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        payload: Any = None
        async for part in reader:
            if getattr(part, "name", None) == "payload_json":
                text = await part.text()  # type: ignore[union-attr]
                payload = _json(text)
        return payload
    raw = await request.read()
    if not raw:
        return None
    if request.content_type != "application/json":
        raise DiscordError(400, INVALID_FORM_BODY, message="Invalid Content-Type")
    return _json(raw.decode("utf-8", "replace"))


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise DiscordError(400, INVALID_JSON) from None

