"""Shared fixtures: the real model loaded once, a real index built once from the real seed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answer import Answerer
from bot.config import PROJECT_ROOT, Settings
from bot.encoding import Embedder
from bot.index import Index, ensure_index
from bot.retriever import Retriever

SEED = PROJECT_ROOT / "seeds" / "tiktok-revenue-over-7-billion.txt"
DEV_SET = PROJECT_ROOT.parent / "shared" / "eval" / "dev.jsonl"  # beside the checkout, if there
EXTRA_SET = PROJECT_ROOT / "bench" / "extra.jsonl"
HOLDOUT_SET = PROJECT_ROOT / "bench" / "holdout.jsonl"
BANK = PROJECT_ROOT / "bench" / "bank.jsonl"
# The question sets a test may run over: the repository's own, and the shared dev set
# when the checkout has it beside it (a clone elsewhere does not).
QUESTION_SETS = [p for p in (DEV_SET, EXTRA_SET, HOLDOUT_SET) if p.is_file()]

pytest_plugins = ["tests.pgserver"]  # the `postgres` fixture: a real PostgreSQL server

# Tests never read a developer's .env.
Settings.model_config["env_file"] = None


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_SEEDS_DIR", "BOT_INDEX_DIR", "BOT_DATA_DIR", "BOT_MODEL", "BOT_TOP_K",
                 "BOT_MAX_QUESTION_CHARS", "DISCORD_TOKEN",
                 "BOT_DATABASE_URL", "BOT_FEEDBACK_SECRET", "DISCORD_SHARDS",
                 "DISCORD_SHARD_COUNT", "DISCORD_SHARD_IDS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def index_root(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's index folder. Its ``models`` folder (where the product keeps the
    model's OpenVINO export, keyed by the model's files and OpenVINO's version) is kept in
    pytest's cache between runs, so front ends pointed at the session's index find it and a
    second run does not export again."""
    root = tmp_path_factory.mktemp("index")
    cache = getattr(pytestconfig, "cache", None)  # None with -p no:cacheprovider
    if cache is not None:
        (root / "models").symlink_to(cache.mkdir("models"), target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def embedder(index_root: Path) -> Embedder:
    """The model as the product runs it (the default backend: the OpenVINO runtime), its
    export cached where the product keeps it (``index/models``)."""
    return Embedder(backend=Settings().backend, cache_dir=index_root / "models")


@pytest.fixture(scope="session")
def seeds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seeds")
    for path in SEED.parent.iterdir():
        if path.name.startswith(SEED.stem):  # the article and its metadata sidecar
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def index_dir(index_root: Path, seeds_dir: Path, embedder: Embedder) -> Path:
    ensure_index(seeds_dir, index_root, embedder)
    return index_root


@pytest.fixture(scope="session")
def index(seeds_dir: Path, index_dir: Path, embedder: Embedder) -> Index:
    loaded, report = ensure_index(seeds_dir, index_dir, embedder)
    assert report.action == "loaded"
    return loaded


@pytest.fixture(scope="session")
def answerer(index: Index, embedder: Embedder) -> Answerer:
    defaults = Settings()
    return Answerer(Retriever(index, embedder), top_k=defaults.top_k,
                    max_question_chars=defaults.max_question_chars)


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, seeds_dir: Path, index_dir: Path,
            tmp_path: Path) -> Iterator[Path]:
    """Points the command line at the session's seeds and index."""
    monkeypatch.setenv("BOT_SEEDS_DIR", str(seeds_dir))
    monkeypatch.setenv("BOT_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path
