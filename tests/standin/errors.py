"""Discord's refusals: an HTTP status, a JSON error code and message, and for bad payloads the
``errors`` object keyed by the JSON path of each offending field.

Codes and statuses: topics/opcodes-and-status-codes.mdx, "HTTP Response Codes" and "JSON Error
Codes". The ``errors`` shape ({"field": {"_errors": [{"code", "message"}]}}, arrays keyed by
index): reference.mdx, "Error Messages". The inner codes (BASE_TYPE_BAD_LENGTH, …) follow the
examples there; Discord says the list of them is not exhaustive, and the bot never relies on
them, only on the status and the top-level code."""

from __future__ import annotations

from typing import Any

# JSON error codes (topics/opcodes-and-status-codes.mdx, "JSON Error Codes").
GENERAL = 0
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
UNKNOWN_COMMAND = 10063
ALREADY_ACKNOWLEDGED = 40060
MISSING_ACCESS = 50001
DM_CHANNEL = 50003
EMPTY_MESSAGE = 50006
MISSING_PERMISSIONS = 50013
WRONG_CHANNEL_TYPE = 50024
INVALID_WEBHOOK_TOKEN = 50027
INVALID_FORM_BODY = 50035
INVALID_JSON = 50109
REPLY_WITHOUT_HISTORY = 160002
THREAD_ALREADY_CREATED = 160004
MAX_ACTIVE_THREADS = 160006
MAX_ACTIVE_ANNOUNCEMENT_THREADS = 160007

MESSAGES = {
    GENERAL: "General error",
    UNKNOWN_CHANNEL: "Unknown Channel",
    UNKNOWN_GUILD: "Unknown Guild",
    UNKNOWN_MESSAGE: "Unknown Message",
    UNKNOWN_WEBHOOK: "Unknown Webhook",
    UNKNOWN_INTERACTION: "Unknown interaction",
    UNKNOWN_COMMAND: "Unknown application command",
    ALREADY_ACKNOWLEDGED: "Interaction has already been acknowledged.",
    MISSING_ACCESS: "Missing Access",
    DM_CHANNEL: "Cannot execute action on a DM channel",
    EMPTY_MESSAGE: "Cannot send an empty message",
    MISSING_PERMISSIONS: "Missing Permissions",
    WRONG_CHANNEL_TYPE: "Cannot execute action on this channel type",
    INVALID_WEBHOOK_TOKEN: "Invalid Webhook Token",
    INVALID_FORM_BODY: "Invalid Form Body",
    INVALID_JSON: "The request body contains invalid JSON.",
    REPLY_WITHOUT_HISTORY: "Cannot reply without permission to read message history",
    THREAD_ALREADY_CREATED: "A thread has already been created for this message",
    MAX_ACTIVE_THREADS: "Maximum number of active threads reached",
    MAX_ACTIVE_ANNOUNCEMENT_THREADS: "Maximum number of active announcement threads reached",
}


class DiscordError(Exception):
    """A refusal, as Discord sends it: ``status`` and the JSON body from ``body()``."""

    def __init__(self, status: int, code: int, errors: dict[str, Any] | None = None,
                 message: str | None = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.errors = errors
        self.message = message or MESSAGES[code]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


class FormErrors:
    """Every violation found in one payload, gathered as Discord reports them together."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.errors
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.errors:
            raise DiscordError(400, INVALID_FORM_BODY, self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)


def form_error(path: tuple[str | int, ...], code: str, message: str) -> DiscordError:
    """One-field Invalid Form Body (400, 50035)."""
    problems = FormErrors()
    problems.add(path, code, message)
    return DiscordError(400, INVALID_FORM_BODY, problems.errors)
