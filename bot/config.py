"""Settings, read once from the environment and `.env`: the only module that reads env vars."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.encoding import Backend

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
MAX_SHARD_ID = 100_000  # far above any bot's shard count; keeps a typo from using all memory


class Settings(BaseSettings):
    """Core settings use the ``BOT_`` prefix; Discord's use the names Discord users expect."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_",
        env_file=PROJECT_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    seeds_dir: Path = Field(
        PROJECT_ROOT / "seeds",
        description="The folder of articles: every `.txt`, `.md` and `.html` file in it is a "
                    "document. A start after they change rebuilds the index.")
    index_dir: Path = Field(
        PROJECT_ROOT / "index",
        description="Where the built index is kept (generation folders and `CURRENT`), with "
                    "the model's OpenVINO export in `models/`. Read-only is allowed: the bot "
                    "then builds in memory, with a warning.")
    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        description="A writable folder of the process's own: the SQLite database (unless "
                    "`BOT_DATABASE_URL` says otherwise), `voter.key`, the REPL's history and "
                    "the Discord command-sync hash.")

    model: str = Field(
        "",
        description="The embedding model: empty means the bundled all-MiniLM-L6-v2; "
                    "otherwise a local sentence-transformers folder.")
    backend: Backend = Field(
        "openvino",
        description="`openvino`: an fp32 OpenVINO export of the same model, about 3x faster "
                    "per question, falling back to torch if it cannot load; `torch`: "
                    "sentence-transformers as it is.")

    top_k: int = Field(
        3, ge=1, le=10,
        description="The most excerpts one answer (or one page of **More excerpts**) "
                    "quotes; `ask --top` overrides it for one command.")
    max_question_chars: int = Field(
        500, ge=20, le=6000,
        description="The longest question accepted; a longer one is refused in one line.")

    teach_votes: int = Field(
        3, ge=1, le=1000,
        description="Distinct 👍 (and no operator's 👎) that teach an answer "
                    "([Teaching the bot](teaching.md)).")

    log_level: LogLevel = Field(
        "WARNING",
        description="The log's level on standard error: `DEBUG`, `INFO`, `WARNING` or "
                    "`ERROR` (any case). The token is never logged, at any level.")

    feedback_secret: SecretStr = Field(
        SecretStr(""),
        description="The key voter ids are hashed with (HMAC-SHA256). Empty = a random key "
                    "kept in `BOT_DATA_DIR/voter.key` (SQLite only: with PostgreSQL every "
                    "process must hash alike, so it must be set, the same everywhere).")

    database_url: str = Field(
        "",
        description="Where answers, votes, threads and taught answers are kept: empty = "
                    "SQLite in `BOT_DATA_DIR/bot.sqlite3`; a file path = SQLite there; "
                    "`postgresql://user:password@host:5432/dbname` = a PostgreSQL server "
                    "that several bot processes share. A password in a bad URL is shown as "
                    "`***`.")
    database_pool_size: int = Field(
        5, ge=1, le=100,
        description="PostgreSQL connections per process. Processes × this must stay below "
                    "the server's `max_connections`.")
    database_busy_timeout: float = Field(
        5.0, gt=0, le=600,
        description="Seconds a write waits for another writer's lock before it is reported.")
    database_retry_seconds: float = Field(
        10.0, ge=0, le=600,
        description="PostgreSQL: seconds a read or write is retried while the server is "
                    "unreachable (restart, failover) before it is reported.")

    metrics_port: int | None = Field(
        None, ge=0, le=65535,
        description="`python -m bot discord` serves Prometheus metrics (`/metrics`) and its "
                    "readiness (`/health`) over HTTP on this port; empty = off. Each process "
                    "on a host needs its own port; `0` = any free port, named in the log "
                    "([Operations](operations.md)).")
    metrics_host: str = Field(
        "127.0.0.1",
        description="The address the metrics port listens on: the loopback by default, so "
                    "only the host sees it; `0.0.0.0` for a Prometheus on another host "
                    "(the page has no secrets, but firewall it).")

    discord_token: SecretStr = Field(
        SecretStr(""), validation_alias="DISCORD_TOKEN",
        description="The bot's token from the Discord Developer Portal (**Bot**, **Reset "
                    "Token**). Read once, never logged.")
    discord_guild_ids: str = Field(
        "", validation_alias="DISCORD_GUILD_IDS",
        description="Comma-separated guild ids for instant per-guild command sync; empty = "
                    "global sync, which Discord may take up to an hour to show.")
    discord_cooldown: float = Field(
        5.0, ge=0, validation_alias="DISCORD_COOLDOWN_SECONDS",
        description="Seconds a user waits between two questions; the refusal says when to "
                    "retry.")
    discord_shards: str = Field(
        "", validation_alias="DISCORD_SHARDS",
        description="Empty = one connection; `auto` or a number = discord.py's "
                    "`AutoShardedBot` with as many shards as Discord recommends, or that "
                    "many. A number here is the same as `DISCORD_SHARD_COUNT`; `auto` cannot "
                    "be combined with it.")
    discord_shard_count: int | None = Field(
        None, ge=1, validation_alias="DISCORD_SHARD_COUNT",
        description="Several processes: the total number of shards, the same on every "
                    "process ([Deployment]"
                    "(discord.md#deployment-several-processes-one-postgresql)).")
    discord_shard_ids: str = Field(
        "", validation_alias="DISCORD_SHARD_IDS",
        description="This process's slice of the shards: numbers and ranges (`0-3`, "
                    "`0,2,4`), each below `DISCORD_SHARD_COUNT` and named once; empty = all "
                    "of them.")
    discord_message_content: bool = Field(
        False, validation_alias="DISCORD_MESSAGE_CONTENT",
        description="`true` only when the privileged Message Content intent is switched on "
                    "for the bot in the Developer Portal: then every message in a follow-up "
                    "thread is a question; without it, only messages that mention the bot "
                    "or reply to it are.")
    discord_connect_timeout: float = Field(
        300.0, gt=0, validation_alias="DISCORD_CONNECT_TIMEOUT",
        description="Seconds `python -m bot discord` keeps retrying (with backoff) when "
                    "Discord cannot be reached at start, before giving up with exit code 2; "
                    "counted from the last progress (a shard's turn to identify, a shard "
                    "connected), so a large slice of shards starting normally never gives up.")

    @field_validator("discord_guild_ids")
    @classmethod
    def _guild_ids(cls, value: str) -> str:
        if not all(g.isdigit() for g in value.replace(" ", "").split(",") if g):
            raise ValueError("DISCORD_GUILD_IDS must be comma-separated numeric guild ids")
        return value

    @field_validator("discord_shards")
    @classmethod
    def _shards(cls, value: str) -> str:
        v = value.strip().lower()
        if v and v != "auto" and not (v.isdigit() and int(v) > 0):
            raise ValueError('DISCORD_SHARDS must be empty, "auto" or a positive number')
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return (value.strip().upper() or "WARNING") if isinstance(value, str) else value

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _blank_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics_host")
    @classmethod
    def _metrics_host(cls, value: str) -> str:
        host = value.strip()
        if not host or any(c.isspace() or c in "/@" for c in host):
            raise ValueError("BOT_METRICS_HOST must be an address to listen on, such as "
                             "127.0.0.1 or 0.0.0.0")
        return host

    @field_validator("discord_shard_count", mode="before")
    @classmethod
    def _blank_count(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("discord_shard_count")
    @classmethod
    def _shard_count(cls, value: int | None, info: ValidationInfo) -> int | None:
        old = str(info.data.get("discord_shards", "")).strip().lower()
        if value is not None and old == "auto":
            raise ValueError("DISCORD_SHARD_COUNT fixes the number of shards and "
                             "DISCORD_SHARDS=auto asks Discord for it: set only one")
        if value is not None and old.isdigit() and int(old) != value:
            raise ValueError(f"DISCORD_SHARDS={old} and DISCORD_SHARD_COUNT={value} disagree: "
                             "set only DISCORD_SHARD_COUNT")
        return value

    @field_validator("discord_shard_ids")
    @classmethod
    def _shard_ids(cls, value: str, info: ValidationInfo) -> str:
        ids = parse_shard_ids(value)
        if not ids:
            return value
        old = str(info.data.get("discord_shards", "")).strip()
        count = info.data.get("discord_shard_count") or (int(old) if old.isdigit() else None)
        if count is None:
            raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT, the number of "
                             "shards across all processes")
        if max(ids) >= count:
            raise ValueError(f"shard {max(ids)} does not exist with DISCORD_SHARD_COUNT="
                             f"{count}: shard ids run from 0 to {count - 1}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        url = value.strip()
        scheme = re.match(r"([A-Za-z][\w+.-]*)://", url)
        if scheme is None:
            return url  # a SQLite file
        if scheme.group(1).lower() not in ("postgresql", "postgres"):
            raise ValueError("BOT_DATABASE_URL must be a SQLite file path or a "
                             "postgresql://user:password@host:5432/dbname URL")
        from psycopg import Error
        from psycopg.conninfo import conninfo_to_dict

        try:
            conninfo_to_dict(url)
        except Error as err:  # libpq's reason may quote the URL, or the password alone
            detail = str(err).strip().splitlines()[0]
            password = re.match(r"[^:]*://[^:/@]*:([^@]*)@", url)
            if password and password[1]:
                detail = detail.replace(password[1], "***")
            raise ValueError("BOT_DATABASE_URL is not a valid PostgreSQL URL: "
                             f"{mask_password(detail)}") from None
        return url

    @property
    def postgres_url(self) -> str | None:
        """The PostgreSQL server's URL, or None for SQLite."""
        url = self.database_url
        return url if re.match(r"postgres(ql)?://", url, re.IGNORECASE) else None

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file (when ``postgres_url`` is None)."""
        return Path(self.database_url) if self.database_url else self.data_dir / "bot.sqlite3"

    @property
    def shard_ids(self) -> tuple[int, ...] | None:
        """This process's slice of shards; None = all of them."""
        return parse_shard_ids(self.discord_shard_ids) or None

    @property
    def model_cache(self) -> Path:
        """Where model exports (OpenVINO) are cached: built artifacts, beside the index."""
        return self.index_dir / "models"

    @property
    def guild_ids(self) -> list[int]:
        return [int(g) for g in self.discord_guild_ids.replace(" ", "").split(",") if g]

    @property
    def shard_count(self) -> int | Literal["auto"] | None:
        """None: not sharded; "auto": as many as Discord recommends; else a fixed count."""
        if self.discord_shard_count is not None:
            return self.discord_shard_count
        value = self.discord_shards.strip().lower()
        if not value:
            return None
        return "auto" if value == "auto" else int(value)


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """"0-3" → (0, 1, 2, 3); "0,2,4" → (0, 2, 4); "" → (). ValueError on anything else,
    including a shard named twice."""
    if not text.strip():
        return ()
    ids: list[int] = []
    for part in text.replace(" ", "").split(","):
        found = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if found is None:
            item = repr(part) if part else "an empty item"
            raise ValueError(f"DISCORD_SHARD_IDS takes shard numbers and ranges like 0-3 "
                             f"or 0,2,4, not {item}")
        first, last = int(found[1]), int(found[2] or found[1])
        if last > MAX_SHARD_ID:
            raise ValueError(f"DISCORD_SHARD_IDS: {last} is not a plausible shard id")
        if last < first:
            raise ValueError(f"DISCORD_SHARD_IDS range {part} runs backwards: write "
                             f"{last}-{first}")
        ids.extend(range(first, last + 1))
    twice = sorted(i for i, n in Counter(ids).items() if n > 1)
    if twice:
        raise ValueError(f"DISCORD_SHARD_IDS names shard {twice[0]} twice")
    return tuple(ids)


def mask_password(text: str) -> str:
    """A URL's password replaced by ***, wherever one appears in ``text``."""
    return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
