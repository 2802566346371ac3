"""Settings, read once from the environment and `.env`: the only module that reads env vars."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.encoding import Backend

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Core settings use the ``BOT_`` prefix; Discord's use the names Discord users expect."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_",
        env_file=PROJECT_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    seeds_dir: Path = PROJECT_ROOT / "seeds"
    index_dir: Path = PROJECT_ROOT / "index"
    data_dir: Path = PROJECT_ROOT / "data"

    # Embedding model: empty means the bundled all-MiniLM-L6-v2; otherwise a local folder.
    model: str = ""
    # "openvino" (default): an fp32 OpenVINO export of the same model, ~3x faster per
    # question, falling back to torch if it cannot load; "torch": sentence-transformers as is.
    backend: Backend = "openvino"

    # Retrieval.
    top_k: int = Field(3, ge=1, le=10)
    max_question_chars: int = Field(500, ge=20, le=6000)
    # Evidence score (cosine + term coverage, -1..2) below which a sentence is not evidence
    # (see README, "Abstention").
    min_evidence: float = Field(0.80, ge=-1.0, le=2.0)

    log_level: str = "WARNING"

    # Key for hashing voter ids; empty = a random key kept in data_dir/voter.key.
    feedback_secret: SecretStr = SecretStr("")

    # Discord front end.
    discord_token: SecretStr = Field(SecretStr(""), validation_alias="DISCORD_TOKEN")
    # Comma-separated guild ids for instant per-guild command sync; empty = global sync.
    discord_guild_ids: str = Field("", validation_alias="DISCORD_GUILD_IDS")
    # Seconds a user waits between /ask questions.
    discord_cooldown: float = Field(5.0, ge=0, validation_alias="DISCORD_COOLDOWN_SECONDS")
    # "" = one connection; "auto" or a number = AutoShardedBot with that many shards.
    discord_shards: str = Field("", validation_alias="DISCORD_SHARDS")
    # With the privileged Message Content intent, every message in a follow-up thread is a
    # question; without it, only messages that mention the bot or reply to it are.
    discord_message_content: bool = Field(False, validation_alias="DISCORD_MESSAGE_CONTENT")

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
        value = self.discord_shards.strip().lower()
        if not value:
            return None
        return "auto" if value == "auto" else int(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
