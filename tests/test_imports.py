"""What answering loads. Each front end runs for real in a fresh process (so imports made
by other tests cannot leak in) on an up-to-date index, answers a real question, and reports
its ``sys.modules``: the model libraries (torch, transformers, sentence-transformers) and
everything a question does not need stay out. Whatever is added to the question path later
is held to the same rule, because the whole path runs. And the Discord package has no
import circle: nothing imports ``client.py``, which imports the handlers."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.encoding import Embedder
from bot.index import ensure_index
from tests.conftest import SEED

MODEL_LIBRARIES = {"torch", "transformers", "sentence_transformers", "optimum", "nncf"}
# Not needed to answer from an up-to-date index: the Discord client, line editing, HTML
# extraction and front matter (seeds are only parsed for a build), the benchmark's libraries.
UNNEEDED = {"discord", "prompt_toolkit", "trafilatura", "frontmatter", "sklearn",
            "matplotlib", "langchain_text_splitters", "langchain_core"}

# Runs `python -m bot ARGS…` in this process, then writes the top-level names of every
# module it imported to $IMPORTS_OUT.
_PROBE = """
import json, os, runpy, sys
sys.argv = ["bot", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("bot", run_name="__main__")
except SystemExit as exit:
    code = exit.code or 0
with open(os.environ["IMPORTS_OUT"], "w") as out:
    json.dump(sorted({name.split(".")[0] for name in sys.modules}), out)
sys.exit(code)
"""

# The Discord bot's start and first answer, without the network (as in bot.bench.speed).
_DISCORD = """
import asyncio, json, os, sys, tempfile
from pathlib import Path
from bot.config import Settings
from bot.discord_app.client import make_bot
from bot.discord_app.format import answer_embed
from bot.service import QAService, open_answerer
from bot.store import Store

settings = Settings()
answerer, _ = open_answerer(settings)
store = Store.open(Path(os.environ["BOT_DATA_DIR"]))
service = QAService(settings, answerer, store)
make_bot(service, settings)

async def first():
    reply = await service.ask_async(sys.argv[1])
    print(answer_embed(reply.answer, service.examples).fields[0].value)
    await service.batcher.close()

asyncio.run(first())
store.close()
with open(os.environ["IMPORTS_OUT"], "w") as out:
    json.dump(sorted({name.split(".")[0] for name in sys.modules}), out)
"""

ARTICLE_HTML = """<!doctype html><html><head><title>Lasso, Facebook's short video app</title>
</head><body><article><h1>Lasso, Facebook's short video app</h1>
<p>Facebook launched Lasso in November 2018 as its answer to TikTok, a standalone app for
short videos set to music, first in the United States only.</p>
<p>The app let people record clips of up to fifteen seconds, add effects and music, and
share them with their friends or with everyone on the app, much as TikTok does.</p>
<p>Lasso never found a large audience. It was downloaded a few hundred thousand times in
its first months, a small fraction of the downloads TikTok had in the same period.</p>
<p>Facebook shut Lasso down in July 2020 and folded what it had learned into Reels, a
short video feature inside Instagram that launched the following month.</p>
</article></body></html>
"""


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> dict[str, str]:
    """Seeds with a text and an HTML article, an index built from them, and the session's
    model export where the product looks for it (``index/models``)."""
    root = tmp_path_factory.mktemp("imports")
    seeds = root / "seeds"
    seeds.mkdir()
    for path in SEED.parent.iterdir():
        if path.name.startswith(SEED.stem):
            shutil.copy(path, seeds / path.name)
    (seeds / "lasso.html").write_text(ARTICLE_HTML, encoding="utf-8")
    index = root / "index"
    index.mkdir()
    (index / "models").symlink_to(embedder.cache_dir, target_is_directory=True)
    built, _ = ensure_index(seeds, index, embedder)
    assert len(built.manifest.documents) == 2  # the HTML article was indexed, not skipped
    return {**os.environ, "BOT_SEEDS_DIR": str(seeds), "BOT_INDEX_DIR": str(index),
            "BOT_DATA_DIR": str(root / "data"), "IMPORTS_OUT": str(root / "imports.json")}


def _run(env: dict[str, str], code: str, *args: str,
         stdin: str | None = None) -> tuple[str, set[str]]:
    done = subprocess.run([sys.executable, "-c", code, *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "export" not in done.stderr  # the cached export was used, not remade
    modules = set(json.loads(Path(env["IMPORTS_OUT"]).read_text()))
    return done.stdout, modules


@pytest.mark.model
def test_a_one_shot_ask_imports_no_model_library(fresh_env: dict[str, str]) -> None:
    out, modules = _run(fresh_env, _PROBE, "ask", "How much revenue did TikTok make?")
    assert "$7 billion" in out
    assert "openvino" in modules and "tokenizers" in modules  # the runtime answered
    assert modules & MODEL_LIBRARIES == set()
    assert modules & UNNEEDED == set()


@pytest.mark.model
def test_a_batch_and_the_repl_import_no_model_library(fresh_env: dict[str, str]) -> None:
    out, modules = _run(fresh_env, _PROBE, "ask", "--json",
                        stdin="When did Facebook shut Lasso down?\nWhat is Lasso?\n")
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == 2 and any("July 2020" in e["text"] for e in answers[0]["excerpts"])
    assert modules & (MODEL_LIBRARIES | UNNEEDED) == set()
    out, modules = _run(fresh_env, _PROBE, "repl", stdin="What is Lasso?\n:quit\n")
    assert "Lasso" in out and "¶" in out
    assert modules & (MODEL_LIBRARIES | UNNEEDED) == set()


@pytest.mark.model
def test_the_discord_bots_first_answer_imports_no_model_library(
        fresh_env: dict[str, str]) -> None:
    out, modules = _run(fresh_env, _DISCORD, "How much revenue did TikTok make?")
    assert "$7 billion" in out
    assert "discord" in modules
    assert modules & (MODEL_LIBRARIES | UNNEEDED - {"discord"}) == set()


@pytest.mark.model
def test_a_stale_index_rebuilds_and_still_answers(fresh_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    """The check that skips parsing must not hide a change: an edited HTML seed is parsed
    (trafilatura imported) and indexed, and the answer comes from the new text."""
    seeds = Path(fresh_env["BOT_SEEDS_DIR"])
    page = seeds / "lasso.html"
    original = page.read_text(encoding="utf-8")
    page.write_text(original.replace("July 2020", "August 2021"), encoding="utf-8")
    try:
        out, modules = _run(fresh_env, _PROBE, "ask", "When did Facebook shut Lasso down?")
        assert "August 2021" in out
        assert "trafilatura" in modules
        assert modules & MODEL_LIBRARIES == set()  # built by the runtime too
    finally:
        page.write_text(original, encoding="utf-8")


DISCORD_APP = PROJECT_ROOT / "bot" / "discord_app"
PACKAGE = "bot.discord_app"


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (under TYPE_CHECKING too), by its full
    name; ``from a import b`` counts as importing ``a`` and ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package the file is in
                parts = PACKAGE.split(".")[: len(PACKAGE.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def package_graph() -> dict[str, set[str]]:
    """bot.discord_app's modules, each with the modules of the package it imports."""
    modules = {f"{PACKAGE}.{p.stem}": p for p in DISCORD_APP.glob("*.py")
               if p.stem != "__init__"}
    return {name: imports_of(path) & set(modules) - {name} for name, path in modules.items()}


def test_no_module_of_the_discord_package_imports_the_client() -> None:
    """client.py imports the handlers; they get what they need passed in (or through
    protocols.py), so nothing imports client.py back."""
    graph = package_graph()
    assert f"{PACKAGE}.client" in graph
    importers = sorted(m for m, imported in graph.items() if f"{PACKAGE}.client" in imported)
    assert importers == ["bot.discord_app.run"]  # the entry point, which client never imports


def test_the_discord_package_has_no_import_circle() -> None:
    graph = package_graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circle = [*path[path.index(module):], module]
            raise AssertionError("import circle: " + " -> ".join(circle))
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
