"""Settings for running on several processes: shard slices and the database URL. A bad
combination is one line and exit code 2, through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import Settings, parse_shard_ids


@pytest.mark.parametrize(("text", "ids"), [
    ("", ()), ("0-3", (0, 1, 2, 3)), ("0,2,4", (0, 2, 4)), (" 4, 0-1 ", (4, 0, 1)), ("7", (7,)),
])
def test_shard_ids_parse(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(("env", "count", "ids"), [
    ({}, None, None),
    ({"DISCORD_SHARD_COUNT": "4"}, 4, None),  # all four shards in this process
    ({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "0-1"}, 4, (0, 1)),
    ({"DISCORD_SHARD_COUNT": "6", "DISCORD_SHARD_IDS": "1,3,5"}, 6, (1, 3, 5)),
    ({"DISCORD_SHARD_COUNT": " ", "DISCORD_SHARDS": "auto"}, "auto", None),  # blank = unset
    ({"DISCORD_SHARDS": "4", "DISCORD_SHARD_IDS": "2-3"}, 4, (2, 3)),  # the old count
    ({"DISCORD_SHARDS": "4", "DISCORD_SHARD_COUNT": "4"}, 4, None),  # saying it twice agrees
])
def test_shard_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                        count: int | str | None, ids: tuple[int, ...] | None) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.shard_count, settings.shard_ids) == (count, ids)


@pytest.mark.parametrize(("env", "expected"), [
    ({"DISCORD_SHARD_IDS": "0-3"},
     "bad setting DISCORD_SHARD_IDS='0-3': value error, DISCORD_SHARD_IDS needs "
     "DISCORD_SHARD_COUNT"),
    ({"DISCORD_SHARD_IDS": "0,4", "DISCORD_SHARD_COUNT": "4"},
     "shard 4 does not exist with DISCORD_SHARD_COUNT=4: shard ids run from 0 to 3"),
    ({"DISCORD_SHARD_IDS": "0-2,2", "DISCORD_SHARD_COUNT": "4"}, "names shard 2 twice"),
    ({"DISCORD_SHARD_IDS": "one", "DISCORD_SHARD_COUNT": "4"}, "not 'one'"),
    ({"DISCORD_SHARD_IDS": "0,,1", "DISCORD_SHARD_COUNT": "4"}, "not an empty item"),
    ({"DISCORD_SHARD_IDS": "-1", "DISCORD_SHARD_COUNT": "4"}, "not '-1'"),
    ({"DISCORD_SHARD_IDS": "3-1", "DISCORD_SHARD_COUNT": "4"}, "range 3-1 runs backwards"),
    ({"DISCORD_SHARD_IDS": "0-99999999999", "DISCORD_SHARD_COUNT": "4"}, "not a plausible"),
    ({"DISCORD_SHARD_COUNT": "0"}, "bad setting DISCORD_SHARD_COUNT='0'"),
    ({"DISCORD_SHARD_COUNT": "many"}, "bad setting DISCORD_SHARD_COUNT='many'"),
    ({"DISCORD_SHARDS": "auto", "DISCORD_SHARD_COUNT": "4"}, "set only one"),
    ({"DISCORD_SHARDS": "2", "DISCORD_SHARD_COUNT": "4"},
     "DISCORD_SHARDS=2 and DISCORD_SHARD_COUNT=4 disagree"),
    ({"DISCORD_SHARDS": "auto", "DISCORD_SHARD_IDS": "0"}, "needs DISCORD_SHARD_COUNT"),
    ({"BOT_DATABASE_URL": "mysql://bot:hunter2@db/bot"},
     "bad setting BOT_DATABASE_URL='mysql://bot:***@db/bot': value error, BOT_DATABASE_URL "
     "must be a SQLite file path or a postgresql://"),
    ({"BOT_DATABASE_URL": "postgresql://bot:hunter2@db/bot?colour=blue"},
     "BOT_DATABASE_URL is not a valid PostgreSQL URL: invalid URI query parameter"),
    ({"BOT_DATABASE_URL": "postgresql://bot:hunter2%zz@db/bot"},  # libpq quotes the token
     "BOT_DATABASE_URL is not a valid PostgreSQL URL: invalid percent-encoded token"),
    ({"BOT_DATABASE_URL": "postgres://bot:hunter2@[db/bot"},  # libpq quotes the URL
     "BOT_DATABASE_URL is not a valid PostgreSQL URL: end of string reached"),
    ({"BOT_DATABASE_POOL_SIZE": "0"}, "bad setting BOT_DATABASE_POOL_SIZE='0'"),
])
def test_bad_combinations_are_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                  env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, lines
    assert expected in lines[0]
    assert "hunter2" not in result.output


def test_database_url_picks_the_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    assert Settings().postgres_url is None
    assert Settings().sqlite_path == tmp_path / "bot.sqlite3"
    monkeypatch.setenv("BOT_DATABASE_URL", str(tmp_path / "elsewhere.db"))
    assert Settings().sqlite_path == tmp_path / "elsewhere.db"
    url = "postgresql://bot:pw@db.internal:5432/bot"
    monkeypatch.setenv("BOT_DATABASE_URL", f" {url} ")
    assert Settings().postgres_url == url


def test_postgres_without_a_shared_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each host would make its own voter key, and one person could vote once per host."""
    monkeypatch.setenv("BOT_DATABASE_URL", "postgresql://bot@127.0.0.1:1/bot")
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: BOT_DATABASE_URL is a PostgreSQL server")
    assert "BOT_FEEDBACK_SECRET" in result.stderr and "Traceback" not in result.output
