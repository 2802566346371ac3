"""What the bot remembers, behind one interface (``Store``) with two engines: SQLite, the
embedded default (a file in ``data/``), and PostgreSQL, one server shared by many bot
processes. ``BOT_DATABASE_URL`` picks the engine; the schema and behaviour are the same."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.store.base import Store
from bot.store.keys import voter_key
from bot.store.records import Report, StoredAnswer, StoreError, Vote

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["Report", "Store", "StoreError", "StoredAnswer", "Vote", "open_store"]

logger = logging.getLogger(__name__)


def open_store(settings: Settings) -> Store:
    """The store ``settings`` name, its schema brought up to date (migrations run here)."""
    store = _open(settings)
    logger.info("answers, votes and threads are kept in %s", store.where)
    return store


def _open(settings: Settings) -> Store:
    secret = settings.feedback_secret.get_secret_value()
    url = settings.postgres_url
    if url is None:
        from bot.store.sqlite import SQLiteStore

        return SQLiteStore(settings.sqlite_path, voter_key(settings.data_dir, secret),
                           busy_timeout=settings.database_busy_timeout)
    if not secret:
        raise StoreError(
            "BOT_DATABASE_URL is a PostgreSQL server, which processes on several hosts "
            "share: set BOT_FEEDBACK_SECRET to one random value on every process (e.g. the "
            "output of: python -c 'import secrets; print(secrets.token_hex(32))'), so a "
            "voter hashes the same everywhere")
    from bot.store.postgres import PostgresStore

    return PostgresStore(url, secret.encode(), pool_size=settings.database_pool_size,
                         busy_timeout=settings.database_busy_timeout,
                         retry_seconds=settings.database_retry_seconds)
