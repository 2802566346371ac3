"""Settings, read once from the environment and `.env`: the only module that reads env vars."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.embeddings import Backend

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
    backend: Backend = "torch"

    # Retrieval.
    top_k: int = Field(3, ge=1, le=10)
    max_question_chars: int = Field(500, ge=20, le=6000)
    # Cosine similarity below which the best sentence is not evidence (see README, "Abstention").
    min_evidence: float = Field(0.45, ge=-1.0, le=1.0)

    log_level: str = "WARNING"

    # Discord front end.
    discord_token: SecretStr = Field(SecretStr(""), validation_alias="DISCORD_TOKEN")
    discord_guild_ids: str = Field("", validation_alias="DISCORD_GUILD_IDS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
