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
DEV_SET = PROJECT_ROOT.parent / "shared" / "eval" / "dev.jsonl"
EXTRA_SET = PROJECT_ROOT / "bench" / "extra.jsonl"
HOLDOUT_SET = PROJECT_ROOT / "bench" / "holdout.jsonl"

# Tests never read a developer's .env.
Settings.model_config["env_file"] = None


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_SEEDS_DIR", "BOT_INDEX_DIR", "BOT_DATA_DIR", "BOT_MODEL", "BOT_TOP_K",
                 "BOT_MIN_EVIDENCE", "BOT_MAX_QUESTION_CHARS", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def index_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def embedder(index_root: Path) -> Embedder:
    """The model as the product runs it (the default backend: the OpenVINO runtime), its
    export cached where the product keeps it (``index/models``), so front ends pointed at
    the session's index find it."""
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
                    min_evidence=defaults.min_evidence,
                    max_question_chars=defaults.max_question_chars)


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, seeds_dir: Path, index_dir: Path,
            tmp_path: Path) -> Iterator[Path]:
    """Points the command line at the session's seeds and index."""
    monkeypatch.setenv("BOT_SEEDS_DIR", str(seeds_dir))
    monkeypatch.setenv("BOT_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path
