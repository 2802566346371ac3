"""Faults: an index build killed with SIGKILL at any point leaves a loadable index."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.index import load_index

pytestmark = pytest.mark.timeout(300)


def test_killed_builds_never_break_the_index(tmp_path: Path, seeds_dir: Path,
                                             index_dir: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    shutil.copytree(seeds_dir, seeds)
    shutil.copytree(index_dir, index)
    before = load_index(index).manifest
    # A bigger article, so the build (not only start-up) is long enough to be hit.
    rng = random.Random(5)
    words = ["revenue", "installs", "growth", "app", "users", "market", "video", "China",
             "India", "Facebook"]
    paragraphs = [" ".join(rng.choice(words) for _ in range(60)) + "." for _ in range(400)]
    (seeds / "big.txt").write_text("Big\n\n" + "\n\n".join(paragraphs) + "\n")
    env = {**os.environ, "BOT_SEEDS_DIR": str(seeds), "BOT_INDEX_DIR": str(index),
           "BOT_DATA_DIR": str(tmp_path / "data")}
    outcomes = []
    for delay in (3.0, 6.0, 8.5):
        child = subprocess.Popen([sys.executable, "-m", "bot", "index"], cwd=PROJECT_ROOT,
                                 env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        time.sleep(delay)
        finished = child.poll() is not None
        child.send_signal(signal.SIGKILL)
        child.wait()
        manifest = load_index(index).manifest  # must load, every time
        outcomes.append("finished" if finished else "killed")
        assert manifest == before or {d.file for d in manifest.documents} == {
            p.name for p in seeds.glob("*.txt")}
        if manifest != before:
            break  # a build completed; later kills would only test the new index again
    assert "killed" in outcomes
    leftovers = [p.name for p in index.iterdir() if p.name.startswith(".tmp-")]
    assert len(leftovers) <= 1  # at most the killed build's own temp folder
