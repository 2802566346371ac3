"""Shared fixtures: the real model loaded once, a real index built once from the real seed.

Every test that needs a particular answer gets it for a reason that does not depend on the
last digits of a float (the model's results differ slightly from one CPU to another): a
wide margin, a verbatim question, a taught answer. Two things hold the suite to that:

- The guard (``_outcome_guard``): every decision made through ``AnswerModel.outcome`` during
  a test is watched, with the thresholds of whatever model made it. A decision is *near* a
  threshold when moving its confidence or on_topic by ``NEAR`` (either way, or both) would
  change it; a test in which one was fails. A test that passes whichever outcome comes out
  (plumbing, limits, a property of every answer of a kind) says so with
  ``@pytest.mark.any_outcome("why")``; one that passes with some of the outcomes names them,
  ``@pytest.mark.any_outcome("why", among=("answered", "tentative"))``, and fails only on a
  near decision that could come out as another.
- The perturbation run (tests/noise.py): ``TEST_EMBED_NOISE=1e-4`` adds Gaussian noise of
  that size to every vector the embedder returns, in the test process and in the bot
  processes tests start."""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.answer import Answerer
from bot.answerability.model import AnswerModel, Outcome
from bot.config import PROJECT_ROOT, Settings
from bot.encoding import Embedder
from bot.index import Index, ensure_index
from bot.reader.runtime import Reader
from bot.retriever import Retriever
from tests import noise

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

NOISE = noise.install_from_env()  # the perturbation run, when TEST_EMBED_NOISE is set
NEAR = 0.05  # a decision this close to a threshold could go the other way on another CPU


def _noise_line() -> str | None:
    if NOISE is None:
        return None
    scale, seed = NOISE
    return (f"embedder outputs perturbed: Gaussian noise {scale:g}, re-normalised "
            f"({noise.SEED}={seed} repeats the draws)")


def pytest_report_header() -> str | None:
    return _noise_line()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = _noise_line()  # again at the end: -q hides the header
    if line is not None:
        terminalreporter.write_line(line)


@dataclass(frozen=True)
class Decision:
    """An outcome decided near a threshold: what, from what, what else it could have been,
    by which model's thresholds."""

    outcome: Outcome
    confidence: float
    on_topic: float
    could_be: frozenset[Outcome]  # every outcome within NEAR, this one included
    thresholds: dict[str, float]
    question: str | None

    def __str__(self) -> str:
        at = ", ".join(f"{k} {v:.4f}" for k, v in self.thresholds.items())
        others = "/".join(sorted(o.value for o in self.could_be - {self.outcome}))
        return (f"{self.outcome.value} (or {others}) for {self.question!r}: confidence "
                f"{self.confidence:.4f}, on_topic {self.on_topic:.4f} ({at})")


DECISIONS = pytest.StashKey[list[Decision]]()


def within_reach(decide: Callable[[AnswerModel, float, float], Outcome], model: AnswerModel,
                 confidence: float, on_topic: float) -> frozenset[Outcome]:
    """What ``model`` decides with ``confidence`` and ``on_topic`` each moved by up to
    ``NEAR`` (the outcome is a step function of each: its value at the ends and corners of
    the square tells every outcome inside): more than one when a threshold, whichever
    decided, is that close."""
    steps = (-NEAR, 0.0, NEAR)
    return frozenset(decide(model, confidence + dc, on_topic + dt)
                     for dc in steps for dt in steps)


@pytest.fixture(autouse=True)
def _outcome_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Watches every ``AnswerModel.outcome`` decision (the single decision point) and keeps
    those near a threshold; ``pytest_runtest_call`` judges them when the test is done."""
    decisions: list[Decision] = []
    request.node.stash[DECISIONS] = decisions
    decide = AnswerModel.outcome

    def watched(model: AnswerModel, confidence: float, on_topic: float) -> Outcome:
        outcome = decide(model, confidence, on_topic)
        could_be = within_reach(decide, model, confidence, on_topic)
        if len(could_be) > 1:
            caller = inspect.currentframe()
            asked = caller.f_back.f_locals.get("question") if caller and caller.f_back else None
            decisions.append(Decision(
                outcome, confidence, on_topic, could_be,
                {k: v for k, v in vars(model).items() if k.endswith("_at")},
                asked if isinstance(asked, str) else None))
        return outcome

    monkeypatch.setattr(AnswerModel, "outcome", watched)


def accepted(item: pytest.Item) -> frozenset[Outcome]:
    """The outcomes a test says it passes with (``any_outcome``): none unless marked."""
    marker = item.get_closest_marker("any_outcome")
    if marker is None:
        return frozenset()
    if not marker.args or not str(marker.args[0]).strip():
        raise pytest.UsageError(f"{item.nodeid}: any_outcome needs a reason")
    among = marker.kwargs.get("among")
    return frozenset(Outcome) if among is None else frozenset(Outcome(o) for o in among)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """The test body, then the guard's verdict on the decisions it made (those made while
    fixtures were set up do not count: they are the fixtures' business)."""
    decisions = item.stash.get(DECISIONS, None)
    if decisions is not None:
        decisions.clear()
    result = yield
    allowed = accepted(item)
    fragile = [d for d in decisions or [] if not d.could_be <= allowed]
    if fragile:
        shown = "\n  ".join(str(d) for d in fragile[:10])
        pytest.fail(
            f"{len(fragile)} answer(s) were decided within {NEAR} of a threshold of the "
            "answerability model, so could come out otherwise on another CPU:\n  "
            f"{shown}\nGive the test a reason for its outcome (a taught answer, a verbatim "
            "question, a wide margin), or mark it @pytest.mark.any_outcome(why[, among=…]) "
            "if it passes with the other outcomes too.", pytrace=False)
    return result


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
def reader(index_root: Path) -> Reader:
    """The shipped reader, compiled into the session's model folder as the product does."""
    return Reader(cache_dir=index_root / "models" / "reader-compiled")


@pytest.fixture(scope="session")
def answerer(index: Index, embedder: Embedder, reader: Reader) -> Answerer:
    """The answerer as front ends get it (``bot.service.open_answerer``): the reader on."""
    defaults = Settings()
    return Answerer(Retriever(index, embedder), top_k=defaults.top_k,
                    max_question_chars=defaults.max_question_chars, reader=reader)


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, seeds_dir: Path, index_dir: Path,
            tmp_path: Path) -> Iterator[Path]:
    """Points the command line at the session's seeds and index."""
    monkeypatch.setenv("BOT_SEEDS_DIR", str(seeds_dir))
    monkeypatch.setenv("BOT_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path
