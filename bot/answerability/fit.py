"""`python -m bot fit`: fit the answerability model on the question bank's fitting part and
write ``model.json``. scikit-learn is imported here and nowhere on the question path.

1. Every fitting question goes through the real retrieval; each candidate sentence gets its
   row of SENTENCE_FEATURES and a label (is it an answering sentence of the bank?).
2. The sentence model: a logistic regression over those rows (standardised, L2).
3. The answer model: a logistic regression over one row of ANSWER_FEATURES per question,
   labelled "the first passage holds the answer". Its rows come from sentence models fitted
   on the other folds (5-fold by question), so it learns how far to trust the sentence
   model on questions that model has not seen.
4. The topic model: a logistic regression over one row of TOPIC_FEATURES per question,
   labelled "not off-topic".
5. ``taught_at``, the similarity at which a question gets a taught answer: each fitting
   question is matched against all the other answerable ones, taught with the passages
   holding their answering sentences (leave-one-out); the threshold is the lowest at which
   every match is to a question with the same answer and no unanswerable question is
   matched, plus ``MARGIN``.
6. Thresholds, from cross-validated probabilities on the fitting part: ``answered_at`` is
   the lowest confidence at which at most ``MAX_UNANSWERABLE_CONFIDENT`` of the
   unanswerable questions are answered; ``tentative_at`` keeps ``TENTATIVE_KEEPS`` of the
   rightly ranked answerable questions quoted; ``topic_at`` lies above every off-topic
   question. Each sits ``MARGIN`` inside the line the fitting part draws."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from bot.answerability.features import ANSWER_FEATURES, SENTENCE_FEATURES, TOPIC_FEATURES
from bot.answerability.model import MODEL_VERSION, AnswerModel, Linear, sigmoid
from bot.evaluate import EvalQuestion

if TYPE_CHECKING:
    from bot.answer import Answerer, Candidates, Judged
    from bot.teaching import TaughtSet

FOLDS = 5
C = 1.0  # inverse L2 strength for both regressions, on standardised features
MAX_UNANSWERABLE_CONFIDENT = 0.05
TENTATIVE_KEEPS = 0.95
MARGIN = 0.02
Log = Callable[[str], None]


@dataclass(frozen=True)
class Example:
    """A question with its candidates and, per candidate, which sentences answer it."""

    question: EvalQuestion
    candidates: Candidates
    labels: tuple[NDArray[np.int8], ...]


@dataclass(frozen=True)
class Judgement:
    """What a fitted model made of one question: its confidence, and whether the first
    passage holds the answer."""

    question: EvalQuestion
    confidence: float
    on_topic: float
    right: bool


def examples(answerer: Answerer, questions: Sequence[EvalQuestion]) -> list[Example]:
    from bot.text import normalize

    vectors = answerer.retriever.encode([normalize(q.q) for q in questions])
    found = []
    for q, vector in zip(questions, vectors, strict=True):
        candidates = answerer.candidates(normalize(q.q), normalize(q.q), vector)
        labels = tuple(np.array([q.answerable and q.is_marked(s) for s in h.sentences],
                                dtype=np.int8) for h in candidates.hits)
        found.append(Example(q, candidates, labels))
    return found


def fit(answerer: Answerer, questions: Sequence[EvalQuestion], log: Log) -> AnswerModel:
    """The model fitted on ``questions`` (the bank's fitting part), with its
    cross-validated figures in ``notes``."""
    data = examples(answerer, questions)
    log(f"{len(data)} questions, {sum(len(r) for e in data for r in e.candidates.rows)} "
        "candidate sentences")
    folds = _folds(len(data))
    answer_rows = np.zeros((len(data), len(ANSWER_FEATURES)))
    topic_rows = np.zeros((len(data), len(TOPIC_FEATURES)))
    rights = np.zeros(len(data), dtype=np.int8)
    for train, test in folds:
        sentence = fit_sentence_model([data[i] for i in train])
        for i in test:
            probe, rights[i] = _judge(data[i], AnswerModel.blank(sentence=sentence))
            answer_rows[i], topic_rows[i] = probe.answer_features, probe.topic_features
    on_topic = np.array([not e.question.offtopic for e in data], dtype=np.int8)
    # Cross-validated probabilities: the question-level models fitted on the other folds.
    confidence, topic = np.zeros(len(data)), np.zeros(len(data))
    for train, test in folds:
        confidence[test] = sigmoid(_logistic(answer_rows[train], rights[train],
                                             ANSWER_FEATURES).logit(answer_rows[test]))
        topic[test] = sigmoid(_logistic(topic_rows[train], on_topic[train],
                                        TOPIC_FEATURES).logit(topic_rows[test]))
    judged = [Judgement(e.question, float(c), float(t), bool(r))
              for e, c, t, r in zip(data, confidence, topic, rights, strict=True)]
    answered_at, tentative_at, topic_at = thresholds(judged)
    taught_at = teaching_threshold(answerer, questions)
    return AnswerModel(
        MODEL_VERSION, fit_sentence_model(data),
        _logistic(answer_rows, rights, ANSWER_FEATURES),
        _logistic(topic_rows, on_topic, TOPIC_FEATURES),
        answered_at, tentative_at, topic_at, taught_at,
        notes={"fitted": datetime.now(UTC).strftime("%Y-%m-%d"),
               "fitted_on": f"{len(data)} questions",
               "cross_validated": figures(judged, answered_at, tentative_at, topic_at),
               "reliability": reliability(judged)})


def teaching_threshold(answerer: Answerer, questions: Sequence[EvalQuestion]) -> float:
    """``taught_at`` (see the module's docstring)."""
    from bot.text import normalize

    answerable = [q for q in questions if q.answerable]
    gold = {q.q: set(q.sentences) for q in answerable}
    taught = taught_set(answerer, answerable, threshold=-1.0)
    vectors = answerer.retriever.encode([normalize(q.q) for q in questions])
    nearest: list[tuple[float, bool]] = []  # similarity, and whether the match was right
    for q, vector in zip(questions, vectors, strict=True):
        match = next((m for m in taught.ranked(normalize(q.q), vector)
                      if m.taught.question != q.q), None)
        if match is not None:
            nearest.append((match.similarity, q.answerable and bool(
                set(q.sentences) & gold[match.taught.question])))
    wrong = [similarity for similarity, right in nearest if not right]
    return round(min(max(wrong, default=0.0) + MARGIN, 1.0), 4)


def taught_set(answerer: Answerer, questions: Sequence[EvalQuestion],
               threshold: float) -> TaughtSet:
    """``questions`` taught with the passages that hold their answering sentences."""
    from bot.teaching import OPERATOR, TaughtSet, taught_from
    from bot.text import fold, normalize

    index = answerer.index
    entries = []
    for q in questions:
        passages = [p for p in index.passages
                    if any(fold(s) in fold(p.text) for s in q.sentences)]
        if passages:
            entries.append(taught_from(q.q, passages, OPERATOR))
    vectors = answerer.retriever.encode([normalize(t.question) for t in entries])
    return TaughtSet(entries, index, vectors, threshold)


def teaching_effect(answerer: Answerer, taught_from_questions: Sequence[EvalQuestion],
                    checked: Sequence[EvalQuestion]) -> dict[str, int]:
    """Teach the answerable ``taught_from_questions`` the model gets wrong or only
    tentatively right, then count, on ``checked``: answerable questions that become right
    and confident, and unanswerable ones that start being answered."""
    from dataclasses import replace

    from bot.teaching import TaughtHolder

    def outcomes(system: Answerer) -> list[tuple[bool, bool]]:
        answers = system.ask_many([q.q for q in checked])
        return [(a.answered, bool(a.excerpts) and q.is_hit(a.excerpts[0].text))
                for q, a in zip(checked, answers, strict=True)]

    before = answerer.ask_many([q.q for q in taught_from_questions])
    weak = [q for q, a in zip(taught_from_questions, before, strict=True) if q.answerable
            and not (a.answered and a.excerpts and q.is_hit(a.excerpts[0].text))]
    teacher = replace(answerer, taught=TaughtHolder(
        taught_set(answerer, weak, answerer.model.taught_at)))
    old, new = outcomes(answerer), outcomes(teacher)
    pairs = list(zip(checked, old, new, strict=True))
    return {
        "taught": len(weak),
        "checked_answerable": sum(q.answerable for q in checked),
        "right_confident_before": sum(q.answerable and a and r for q, (a, r), _ in pairs),
        "right_confident_after": sum(q.answerable and a and r for q, _, (a, r) in pairs),
        "became_right_confident": sum(q.answerable and not (a0 and r0) and a1 and r1
                                      for q, (a0, r0), (a1, r1) in pairs),
        "unanswerable_newly_answered": sum(not q.answerable and not a0 and a1
                                           for q, (a0, _), (a1, _) in pairs),
    }


def fit_sentence_model(data: Sequence[Example]) -> Linear:
    rows = np.vstack([r for e in data for r in e.candidates.rows])
    labels = np.concatenate([lab for e in data for lab in e.labels])
    return _logistic(rows, labels, SENTENCE_FEATURES)


def judge_all(answerer: Answerer, model: AnswerModel,
              questions: Sequence[EvalQuestion]) -> list[Judgement]:
    out = []
    for e in examples(answerer, questions):
        judged, right = _judge(e, model)
        out.append(Judgement(e.question, judged.confidence, judged.on_topic, right))
    return out


def thresholds(judged: Sequence[Judgement]) -> tuple[float, float, float]:
    """``answered_at``, ``tentative_at`` and ``topic_at`` (see the module's docstring)."""
    unanswerable = sorted((j.confidence for j in judged if not j.question.answerable),
                          reverse=True)
    allowed = math.floor(MAX_UNANSWERABLE_CONFIDENT * len(unanswerable))
    line = unanswerable[allowed] if len(unanswerable) > allowed else 0.0
    answered_at = min(line + MARGIN, 0.99)
    right = sorted(j.confidence for j in judged if j.right)
    kept = right[math.floor((1 - TENTATIVE_KEEPS) * len(right))] if right else answered_at
    tentative_at = max(min(kept - MARGIN, answered_at), 0.0)
    offtopic = max((j.on_topic for j in judged if j.question.offtopic), default=0.0)
    topic_at = min(offtopic + MARGIN, 0.99)
    return round(answered_at, 4), round(tentative_at, 4), round(topic_at, 4)


def figures(judged: Sequence[Judgement], answered_at: float, tentative_at: float,
            topic_at: float) -> dict[str, float]:
    """The issue's figures for ``judged`` at these thresholds."""
    def outcome(j: Judgement) -> str:
        if j.on_topic < topic_at:
            return "none"
        if j.confidence >= answered_at:
            return "answered"
        return "tentative" if j.confidence >= tentative_at else "none"

    answerable = [j for j in judged if j.question.answerable]
    unanswerable = [j for j in judged if not j.question.answerable]
    offtopic = [j for j in judged if j.question.offtopic]
    n_a, n_u = max(len(answerable), 1), max(len(unanswerable), 1)
    return {
        "answerable": len(answerable), "unanswerable": len(unanswerable),
        "right_on_top": sum(j.right and outcome(j) != "none" for j in answerable) / n_a,
        "right_confident": sum(j.right and outcome(j) == "answered" for j in answerable) / n_a,
        "ranked_first": sum(j.right for j in answerable) / n_a,
        "answerable_none": sum(outcome(j) == "none" for j in answerable) / n_a,
        "unanswerable_confident": sum(outcome(j) == "answered" for j in unanswerable) / n_u,
        "unanswerable_tentative": sum(outcome(j) == "tentative" for j in unanswerable) / n_u,
        "offtopic": len(offtopic),
        "offtopic_quoted": sum(outcome(j) != "none" for j in offtopic),
    }


def reliability(judged: Sequence[Judgement], bins: int = 5) -> list[dict[str, float]]:
    """Predicted confidence against how often the first passage was right, in equal-width
    bins: a calibrated model's rows lie on the diagonal."""
    rows = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [j for j in judged if low <= j.confidence < high or (b == bins - 1
                                                                      and j.confidence == 1)]
        if inside:
            rows.append({"from": low, "to": high, "questions": len(inside),
                         "predicted": float(np.mean([j.confidence for j in inside])),
                         "observed": float(np.mean([j.right for j in inside]))})
    return rows


def _judge(example: Example, model: AnswerModel) -> tuple[Judged, bool]:
    """``model``'s judgement of the example, and whether its first passage is right."""
    from bot.answer import judge

    judged = judge(example.candidates, model)
    question = example.question
    right = bool(judged.ranked) and question.answerable and question.is_hit(
        judged.ranked[0].hit.passage.text)
    return judged, right


def _folds(n: int) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]]:
    from sklearn.model_selection import KFold

    return list(KFold(FOLDS, shuffle=True, random_state=0).split(np.arange(n)))


def _logistic(rows: NDArray[np.float64], labels: NDArray[Any], names: tuple[str, ...]
              ) -> Linear:
    """Logistic regression on standardised features, returned in the features' own units
    (so answering needs no scaler)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=5000).fit((rows - mean) / scale, labels)
    weights = model.coef_[0] / scale
    bias = float(model.intercept_[0] - np.sum(weights * mean))
    return Linear(names, tuple(round(float(w), 6) for w in weights), round(bias, 6))
