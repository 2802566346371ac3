"""The fitted answerability model: four logistic regressions and three thresholds, read from
``model.json`` beside this module and applied with a dot product (scikit-learn is used to
fit them, ``python -m bot fit``, never to answer).

- The *sentence model* gives each candidate sentence a prior (``SENTENCE_FEATURES``): the
  log-odds that it answers the question, from similarity and evidence alone. The ``read``
  sentences with the best priors are read by the reader (``bot.reader``).
- The *reading model* (``READING_FEATURES``) combines a sentence's prior with what the
  reader made of it: the probability that the sentence answers. Passages are ranked by their
  best sentence, and that sentence is the one marked.
- The *answer model* scores the best sentence in its field (``ANSWER_FEATURES``): the
  probability that quoting it answers the question. That is the answer's confidence.
- The *topic model* (``TOPIC_FEATURES``): the probability that the question is about the
  corpus's subject at all. Off-topic questions (the weather, arithmetic) are never quoted.

On topic (at least ``topic_at``), a confidence of at least ``answered_at`` is an answer; at
least ``tentative_at``, a tentative one ("I'm not sure the article answers this; the closest
passage is:"); anything else is "the article doesn't say"."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.answerability.features import (
    ANSWER_FEATURES,
    READING_FEATURES,
    SENTENCE_FEATURES,
    TOPIC_FEATURES,
)
from bot.errors import IndexUnavailable

MODEL_FILE = Path(__file__).with_name("model.json")
MODEL_VERSION = 2  # bump when the features change meaning; model.json must then be refitted


class Outcome(Enum):
    ANSWERED = "answered"
    TENTATIVE = "tentative"
    NONE = "none"


@dataclass(frozen=True)
class Linear:
    """A logistic regression on named features: log-odds = features · weights + bias."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def logit(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(rows @ np.asarray(self.weights) + self.bias, dtype=np.float64)


@dataclass(frozen=True)
class AnswerModel:
    version: int
    sentence: Linear
    reading: Linear
    answer: Linear
    topic: Linear
    answered_at: float
    tentative_at: float
    topic_at: float
    # How many candidate sentences, best prior first, the reader reads per question.
    read: int = 8
    # A question this close (cosine) to a taught one, asking for the same thing, gets the
    # taught answer (bot.teaching).
    taught_at: float = 1.0
    # How it was fitted and what it scored (for docs/answering.md and `python -m bot fit`).
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def blank(cls, sentence: Linear | None = None, read: int = 8) -> AnswerModel:
        """All weights zero but the reading model's, which passes the prior through (and
        ``sentence``'s, when given): what fitting starts from."""
        zero = [Linear(f, (0.0,) * len(f), 0.0)
                for f in (SENTENCE_FEATURES, ANSWER_FEATURES, TOPIC_FEATURES)]
        prior = Linear(READING_FEATURES, tuple(float(f == "prior") for f in READING_FEATURES),
                       0.0)
        return cls(MODEL_VERSION, sentence or zero[0], prior, zero[1], zero[2], 1.0, 1.0,
                   1.0, read, 1.0)

    def outcome(self, confidence: float, on_topic: float) -> Outcome:
        if on_topic < self.topic_at:
            return Outcome.NONE
        if confidence >= self.answered_at:
            return Outcome.ANSWERED
        if confidence >= self.tentative_at:
            return Outcome.TENTATIVE
        return Outcome.NONE

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> AnswerModel:
        data = json.loads(text)
        sentence, reading, answer, topic = (
            Linear(tuple(d["features"]), tuple(float(w) for w in d["weights"]),
                   float(d["bias"])) for d in (data["sentence"], data["reading"],
                                               data["answer"], data["topic"]))
        return cls(int(data["version"]), sentence, reading, answer, topic,
                   float(data["answered_at"]), float(data["tentative_at"]),
                   float(data["topic_at"]), int(data["read"]),
                   float(data.get("taught_at", 1.0)), dict(data.get("notes", {})))

    def check(self) -> AnswerModel:
        """Raise when the model was fitted on other features than this code computes."""
        if (self.version != MODEL_VERSION or self.sentence.features != SENTENCE_FEATURES
                or self.reading.features != READING_FEATURES
                or self.answer.features != ANSWER_FEATURES
                or self.topic.features != TOPIC_FEATURES):
            raise IndexUnavailable(
                f"the answerability model ({MODEL_FILE.name}, version {self.version}) was "
                f"fitted on other features than this program computes (version "
                f"{MODEL_VERSION}): run `python -m bot fit`")
        return self


def load_model(path: Path = MODEL_FILE) -> AnswerModel:
    try:
        return AnswerModel.from_json(path.read_text(encoding="utf-8")).check()
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise IndexUnavailable(f"cannot read the answerability model {path}: {err}") from None


def sigmoid(x: NDArray[np.float64] | float) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
