"""The suite's guard against outcomes decided by the last digits of a float (tests/conftest.py):
a test in which the answerability model decided an outcome within 0.05 of one of its
thresholds fails, whichever model (and thresholds) decided it, unless it is marked
``any_outcome``; and the perturbation run's noise (tests/noise.py) moves vectors by about
its size and no more."""

from __future__ import annotations

import numpy as np
import pytest

from bot.encoding import Embedder
from tests import noise

pytest_plugins = ["pytester"]

INNER = '''
from dataclasses import replace

import pytest

from bot.answerability.model import AnswerModel

# Thresholds of its own: the guard reads them from the model that decides.
MODEL = replace(AnswerModel.blank(), answered_at=0.8, tentative_at=0.5, topic_at=0.3)


def test_answered_just_above_the_threshold():
    MODEL.outcome(0.82, 0.9)


def test_off_topic_just_below_the_threshold():
    MODEL.outcome(0.95, 0.27)


@pytest.mark.any_outcome("checks plumbing, not which outcome comes out")
def test_marked_as_not_depending_on_the_outcome():
    MODEL.outcome(0.82, 0.9)


@pytest.mark.any_outcome("quoted either way", among=("answered", "tentative"))
def test_passing_with_either_of_the_outcomes_in_reach():
    MODEL.outcome(0.82, 0.9)


@pytest.mark.any_outcome("quoted either way", among=("answered", "tentative"))
def test_an_outcome_in_reach_that_it_does_not_pass_with():
    MODEL.outcome(0.52, 0.9)  # tentative, or none


def test_far_from_every_threshold():
    MODEL.outcome(0.95, 0.9)  # answered
    MODEL.outcome(0.65, 0.9)  # tentative
    MODEL.outcome(0.95, 0.1)  # off topic
    MODEL.outcome(0.31, 0.32)  # the topic is near, but the confidence says none anyway
'''


@pytest.mark.any_outcome("its inner tests make near decisions on purpose")
def test_a_decision_near_a_threshold_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from tests.conftest import _outcome_guard, pytest_runtest_call\n")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n"
                     "markers = any_outcome(reason): see tests/conftest.py\n")
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3, failed=3)
    result.stdout.fnmatch_lines([
        "*test_answered_just_above_the_threshold*",
        "*within 0.05 of a threshold*",
        "*answered (or tentative) for None: confidence 0.8200, on_topic 0.9000*"
        "answered_at 0.8000*",
    ])
    failed = {line.split("::")[1].split(" ")[0] for line in result.outlines
              if line.startswith("FAILED")}
    assert failed == {"test_answered_just_above_the_threshold",
                      "test_off_topic_just_below_the_threshold",
                      "test_an_outcome_in_reach_that_it_does_not_pass_with"}


@pytest.mark.model
@pytest.mark.any_outcome("compares vectors; asks nothing")
def test_the_noise_moves_vectors_by_about_its_size(embedder: Embedder,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["How much revenue did TikTok make?", "What is Lasso?"]
    clean = embedder.encode(texts)
    monkeypatch.setattr(Embedder, "encode", Embedder.encode)  # undone after the test
    monkeypatch.setattr(Embedder, "encode_passages", Embedder.encode_passages)
    monkeypatch.setattr(Embedder, "_noisy", False, raising=False)
    noise._install(1e-4, seed=7)
    noisy = embedder.encode(texts)
    moved = np.linalg.norm(noisy - clean, axis=1)
    assert np.allclose(np.linalg.norm(noisy, axis=1), 1.0, atol=1e-5)
    # 384 components of N(0, 1e-4): about 1e-4 * sqrt(384) ≈ 2e-3 each
    assert np.all((moved > 5e-4) & (moved < 1e-2)), moved
    # as on another CPU, one text is always nudged alike: asked again, or alone (where the
    # model's own batch effect, under 1e-5, is all that differs; fresh noise would be 1e-4)
    assert np.array_equal(embedder.encode(texts), noisy)
    assert np.allclose(embedder.encode(texts[1:]), noisy[1:], rtol=0, atol=1e-5)
