"""Index build, load, staleness and corruption, with the real model and real FAISS files."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from bot.encoding import Embedder
from bot.errors import IndexCorrupt
from bot.index import (
    CURRENT,
    FORMAT_VERSION,
    LEXICON,
    MANIFEST,
    PASSAGES,
    VECTORS,
    ensure_index,
    load_index,
)


@pytest.fixture()
def fresh(tmp_path: Path, seeds_dir: Path, index_dir: Path) -> tuple[Path, Path]:
    """A private copy of the session's seeds and built index."""
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    shutil.copytree(seeds_dir, seeds)
    shutil.copytree(index_dir, index, ignore=shutil.ignore_patterns("models"))
    return seeds, index


def _generation(index: Path) -> Path:
    return index / (index / CURRENT).read_text().strip()


def test_missing_index_is_built_then_loaded(tmp_path: Path, seeds_dir: Path,
                                            embedder: Embedder) -> None:
    calls: list[tuple[int, int]] = []
    built, report = ensure_index(seeds_dir, tmp_path / "idx", embedder,
                                 progress=lambda done, total: calls.append((done, total)))
    assert report.action == "built"
    assert calls and calls[-1][0] == calls[-1][1]  # progress reached the end
    again, report = ensure_index(seeds_dir, tmp_path / "idx", embedder)
    assert report.action == "loaded"
    assert again.manifest == built.manifest
    assert [p.id for p in again.passages] == [p.id for p in built.passages]
    manifest = again.manifest
    assert manifest.model and manifest.dimension == 384 and manifest.chunking
    assert len(manifest.documents[0].sha256) == 64
    assert again.lexicon == built.lexicon and again.lexicon.sentences == manifest.sentences


def test_changed_seed_makes_the_index_stale(fresh: tuple[Path, Path],
                                            embedder: Embedder) -> None:
    seeds, index = fresh
    seed = next(seeds.glob("*.txt"))
    text = seed.read_text().replace("Leave a Reply", "Zebras were also mentioned once.\n\n"
                                    "Leave a Reply")
    seed.write_text(text)
    rebuilt, report = ensure_index(seeds, index, embedder)
    assert report.action == "rebuilt-stale"
    assert any("Zebras" in p.text for p in rebuilt.passages)
    assert ensure_index(seeds, index, embedder)[1].action == "loaded"


def test_seeds_are_checked_by_hash_yet_no_change_is_missed(fresh: tuple[Path, Path],
                                                          embedder: Embedder) -> None:
    """A start checks the seeds without parsing them. A new seed that cannot be indexed is
    still reported (and the index kept); a removed or renamed seed makes it stale."""
    seeds, index = fresh
    (seeds / "broken.txt").write_bytes(b"\x00\x01 not text")
    _, report = ensure_index(seeds, index, embedder)
    assert report.action == "loaded"
    assert [(p.path.name, p.reason) for p in report.problems] == [
        ("broken.txt", "binary file, not text")]
    (seeds / "broken.txt").unlink()
    seed = next(seeds.glob("*.txt"))
    seed.rename(seed.with_name("renamed.txt"))
    rebuilt, report = ensure_index(seeds, index, embedder)
    assert report.action == "rebuilt-stale"
    assert [d.id for d in rebuilt.manifest.documents] == ["renamed"]


@pytest.mark.parametrize("damage", ["truncate-faiss", "garbage-manifest", "drop-passage",
                                    "lexicon-of-another-index", "lexicon-not-a-table",
                                    "lexicon-documents-off",
                                    "missing-generation", "foreign-version"])
def test_corrupt_index_is_reported_and_rebuilt(
    fresh: tuple[Path, Path], embedder: Embedder, damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seeds, index = fresh
    generation = _generation(index)
    if damage == "truncate-faiss":
        data = (generation / VECTORS).read_bytes()
        (generation / VECTORS).write_bytes(data[: len(data) // 2])
    elif damage == "garbage-manifest":
        (generation / MANIFEST).write_text("{not json")
    elif damage == "drop-passage":
        lines = (generation / PASSAGES).read_text().splitlines(keepends=True)
        (generation / PASSAGES).write_text("".join(lines[:-1]))
    elif damage == "lexicon-of-another-index":
        (generation / LEXICON).write_text('{"sentences": 3, "df": {"tiktok": 2}}')
    elif damage == "lexicon-documents-off":
        table = json.loads((generation / LEXICON).read_text())
        for counts in table["documents"].values():
            counts["sentences"] += 1
        (generation / LEXICON).write_text(json.dumps(table))
    elif damage == "lexicon-not-a-table":
        (generation / LEXICON).write_text("[1, 2]")
    elif damage == "missing-generation":
        shutil.rmtree(generation)
    else:
        text = (generation / MANIFEST).read_text().replace(
            f'"format_version": {FORMAT_VERSION}', '"format_version": 99')
        (generation / MANIFEST).write_text(text)
    with pytest.raises(IndexCorrupt):
        load_index(index)
    with caplog.at_level(logging.WARNING):
        rebuilt, report = ensure_index(seeds, index, embedder)
    assert report.action == "rebuilt-corrupt"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0] and "rebuilding" in warnings[0]
    assert load_index(index).manifest.passages == rebuilt.manifest.passages > 0


def test_interrupted_save_leaves_the_previous_index(
    fresh: tuple[Path, Path], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, index = fresh
    before = load_index(index).manifest
    seed = next(seeds.glob("*.txt"))
    seed.write_text(seed.read_text().replace("Leave a Reply", "A new paragraph.\n\nLeave a Reply"))

    import faiss

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-write

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(KeyboardInterrupt):
        ensure_index(seeds, index, embedder)
    assert load_index(index).manifest == before
    assert not [p for p in index.iterdir() if p.name.startswith(".tmp-")]


def test_unwritable_index_folder_still_answers(
    fresh: tuple[Path, Path], embedder: Embedder, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seeds, index = fresh
    shutil.rmtree(index)

    def read_only(*args: object, **kwargs: object) -> Path:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("bot.index.save_index", read_only)
    with caplog.at_level(logging.WARNING):
        built, report = ensure_index(seeds, index, embedder)
    assert report.action == "built" and built.folder is None and built.passages
    assert any("could not save" in r.getMessage() for r in caplog.records)


def test_index_from_another_model_is_never_used(fresh: tuple[Path, Path],
                                                embedder: Embedder) -> None:
    seeds, index = fresh
    generation = _generation(index)
    text = (generation / MANIFEST).read_text().replace(embedder.name, "some/other-model")
    (generation / MANIFEST).write_text(text)
    assert load_index(index).manifest.model == "some/other-model"
    rebuilt, report = ensure_index(seeds, index, embedder)
    assert report.action == "rebuilt-stale" and rebuilt.manifest.model == embedder.name
