"""`python -m bot fit`: fit the answerability model across articles and write ``model.json``.
scikit-learn is imported here and nowhere on the question path.

The fitting data is every question of the reader's ``calibrate`` articles, each article
indexed alone as the bot indexes ``seeds/`` (``bot.answerability.articles``), and the bank's
fitting part on the TikTok post: questions the reader never trained on, so its readings
there are what it will make of a new article. The two halves weigh the same in total (the
bank's 153 questions against some 1,500), so neither the post nor Wikipedia sets the line
alone. Off-topic questions: the bank's, and questions of one article asked of another.

1. The *sentence model*: a logistic regression over every candidate sentence's
   SENTENCE_FEATURES (standardised, L2), labelled "holds an answer": the prior.
2. The reader reads the ``MAX_READ`` sentences with the best priors of every question
   (readings cached per reader, ``ReadingCache``).
3. ``read``, how many of them the product reads: the fewest whose ranking is within
   ``READ_TOLERANCE`` of reading them all (each one read costs time on the question path).
4. The *reading model*: the prior beside the reader's log-odds (READING_FEATURES).
5. The *answer model*: one row of ANSWER_FEATURES per question, labelled "the first passage
   holds the answer"; the *topic model*: TOPIC_FEATURES, labelled "not off-topic".
6. ``answered_at``, ``tentative_at`` and ``topic_at`` are where the stated ``Costs`` of
   the outcomes, summed over the fitting questions by weight, are lowest.
7. ``taught_at``, the similarity at which a question gets a taught answer (leave-one-out
   over the bank's fitting part, as before)."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from bot.answerability.features import (
    ANSWER_FEATURES,
    READING_FEATURES,
    SENTENCE_FEATURES,
    TOPIC_FEATURES,
)
from bot.answerability.model import AnswerModel, Linear, sigmoid
from bot.evaluate import EvalQuestion
from bot.reader.pairs import Pair
from bot.reader.runtime import Reading

if TYPE_CHECKING:
    from bot.answer import Answerer, Candidates, Judged
    from bot.reader.runtime import PairReader
    from bot.teaching import TaughtSet

logger = logging.getLogger(__name__)

C = 1.0  # inverse L2 strength for every regression, on standardised features
MAX_READ = 12
READ_CHOICES = (2, 3, 4, 6, 8, 12)
READ_TOLERANCE = 0.01  # of the weighted share of answerable questions ranked right
CROSS_QUESTIONS = 24  # questions of each other article asked of an article, as off-topic
MARGIN = 0.02
BATCH = 64  # questions judged together (one reading pass)
Log = Callable[[str], None]


@dataclass(frozen=True)
class Costs:
    """What each outcome costs the person who asked, in units of "a right answer shown as
    unsure" (they read it and judge it themselves: 1). A confident quote that does not
    answer costs 4: it is believed, or found out and trust in every later answer is lost.
    A false "the article doesn't say" costs 3: the person gives up on an answer that is
    there. A wrong passage shown as unsure costs a read (1), and 2 when the article did
    answer (the answer was missed, though the hedge and "more excerpts" leave a way to it).
    An off-topic question quoted at all costs 6: the bot looks broken."""

    confident_wrong: float = 4.0
    hedged_right: float = 1.0
    hedged_wrong_unanswerable: float = 1.0
    hedged_wrong_answerable: float = 2.0
    missed: float = 3.0
    offtopic_quoted: float = 6.0

    def of(self, answerable: bool, offtopic: bool, right: bool, outcome: str) -> float:
        if outcome == "none":
            return self.missed if answerable else 0.0
        if offtopic:
            return self.offtopic_quoted
        if outcome == "answered":
            return 0.0 if right else self.confident_wrong
        if right:
            return self.hedged_right
        return self.hedged_wrong_answerable if answerable else self.hedged_wrong_unanswerable


COSTS = Costs()


@dataclass(frozen=True)
class Example:
    """A question with its candidates, which of their sentences answer it, where it comes
    from (``group``: "bank" or an article) and how much it weighs in fitting."""

    question: EvalQuestion
    candidates: Candidates
    labels: tuple[NDArray[np.int8], ...]
    group: str
    weight: float = 1.0


@dataclass(frozen=True)
class Judgement:
    """What a fitted model made of one question: its confidence, and whether the first
    passage holds the answer."""

    question: EvalQuestion
    confidence: float
    on_topic: float
    right: bool
    group: str = ""
    weight: float = 1.0


# --- the data ---------------------------------------------------------------------------

def examples(answerer: Answerer, questions: Sequence[EvalQuestion], group: str = "",
             weight: float = 1.0) -> list[Example]:
    """Each question's candidates over ``answerer``'s index, labelled."""
    from bot.text import normalize

    vectors = answerer.retriever.encode([normalize(q.q) for q in questions])
    found = []
    for q, vector in zip(questions, vectors, strict=True):
        candidates = answerer.candidates(normalize(q.q), normalize(q.q), vector)
        labels = tuple(np.array([q.answerable and q.is_marked(s) for s in h.sentences],
                                dtype=np.int8) for h in candidates.hits)
        found.append(Example(q, candidates, labels, group, weight))
    return found


def offtopic(question: EvalQuestion) -> EvalQuestion:
    """``question`` asked of an article about something else: off-topic there."""
    return EvalQuestion(question.q, (), "offtopic", split=question.split, fact=question.fact)


def cross_questions(sets: dict[str, Sequence[EvalQuestion]], count: int = CROSS_QUESTIONS,
                    seed: int = 0) -> dict[str, list[EvalQuestion]]:
    """For each set, ``count`` questions drawn from every other set (off-topic there)."""
    rng = random.Random(seed)
    found: dict[str, list[EvalQuestion]] = {}
    for name in sets:
        found[name] = [offtopic(q) for other, questions in sets.items() if other != name
                       for q in rng.sample(list(questions), min(count, len(questions)))]
    return found


# --- fitting ------------------------------------------------------------------------------

def fit(data: Sequence[tuple[Answerer, Sequence[Example]]], log: Log,
        bank_answerer: Answerer | None = None,
        bank_questions: Sequence[EvalQuestion] = ()) -> AnswerModel:
    """The model fitted on ``data``: each answerer (with the reader) with its examples."""
    on_topic = [e for _, group in data for e in group if not e.question.offtopic]
    log(f"{len(on_topic)} on-topic questions "
        f"({sum(not e.question.answerable for e in on_topic)} unanswerable), "
        f"{sum(e.question.offtopic for _, g in data for e in g)} off-topic; "
        f"{sum(len(r) for e in on_topic for r in e.candidates.rows)} candidate sentences")
    sentence = _logistic(np.vstack([r for e in on_topic for r in e.candidates.rows]),
                         np.concatenate([lab for e in on_topic for lab in e.labels]),
                         SENTENCE_FEATURES, _sentence_weights(on_topic))
    prior = AnswerModel.blank(sentence=sentence, read=MAX_READ)
    log(f"reading the {MAX_READ} best sentences of every on-topic question")
    readings = []
    for answerer, group in data:
        asked = [e for e in group if not e.question.offtopic]
        readings.append((answerer, asked, _read(answerer, prior, asked)))
    read, scores = choose_read(readings, sentence, log)
    # Off-topic questions only feed the topic model: read as the product will read them.
    log(f"reading the {read} best sentences of every off-topic question")
    for answerer, group in data:
        off = [e for e in group if e.question.offtopic]
        readings.append((answerer, off, _read(answerer, replace(prior, read=read), off)))
    reading = _fit_reading(_reading_data(readings, sentence, read))
    model = replace(prior, reading=reading, read=read)
    judged = _judge_read(model, readings)
    answer_rows = np.vstack([j.answer_features for j, e in judged if not e.question.offtopic])
    rights = np.array([_right(j, e.question) for j, e in judged if not e.question.offtopic])
    answer_weights = np.array([e.weight for _, e in judged if not e.question.offtopic])
    answer = _logistic(answer_rows, rights, ANSWER_FEATURES, answer_weights)
    topic = _logistic(np.vstack([j.topic_features for j, _ in judged]),
                      np.array([not e.question.offtopic for _, e in judged]),
                      TOPIC_FEATURES, np.array([e.weight for _, e in judged]))
    model = replace(model, answer=answer, topic=topic)
    judgements = [
        Judgement(e.question, float(sigmoid(model.answer.logit(j.answer_features[None])[0])),
                  float(sigmoid(model.topic.logit(j.topic_features[None])[0])),
                  _right(j, e.question), e.group, e.weight) for j, e in judged]
    answered_at, tentative_at, topic_at = thresholds(judgements)
    taught_at = (teaching_threshold(bank_answerer, bank_questions)
                 if bank_answerer is not None and bank_questions else 1.0)
    groups = sorted({j.group for j in judgements})
    return replace(
        model, answered_at=answered_at, tentative_at=tentative_at, topic_at=topic_at,
        taught_at=taught_at,
        notes={"fitted": datetime.now(UTC).strftime("%Y-%m-%d"),
               "fitted_on": {g: sum(j.group == g and not j.question.offtopic
                                    for j in judgements) for g in groups},
               "costs": asdict(COSTS), "read_choices": scores,
               "in_sample": {g: figures([j for j in judgements if j.group == g],
                                        answered_at, tentative_at, topic_at)
                             for g in groups},
               "reliability": reliability([j for j in judgements
                                           if not j.question.offtopic])})


def choose_read(readings: Sequence[tuple[Answerer, Sequence[Example], list[Any]]],
                sentence: Linear, log: Log) -> tuple[int, dict[str, float]]:
    """The fewest sentences to read whose ranking (the share of answerable questions, by
    weight, whose best sentence after reading holds the answer) is within
    ``READ_TOLERANCE`` of reading ``MAX_READ``."""
    scores: dict[str, float] = {}
    for n in READ_CHOICES:
        data = _reading_data(readings, sentence, n)
        model = _fit_reading(data)
        right = total = 0.0
        for e, rows, labels in data:
            if e.question.answerable:
                total += e.weight
                right += e.weight * float(labels[int(np.argmax(model.logit(rows)))])
        scores[str(n)] = round(right / max(total, 1e-9), 4)
        log(f"  reading {n:2d}: best sentence right for {scores[str(n)]:.3f} of the "
            "answerable questions (by weight)")
    best = max(scores.values())
    return next(n for n in READ_CHOICES if scores[str(n)] >= best - READ_TOLERANCE), scores


def thresholds(judged: Sequence[Judgement], costs: Costs = COSTS
               ) -> tuple[float, float, float]:
    """``answered_at``, ``tentative_at`` and ``topic_at``, on a grid of 0.01, where the
    outcomes' total cost over ``judged`` (each question by its weight) is lowest.

    With the confident line ``a`` above the unsure line ``t``, a question of confidence
    ``c`` costs ``[c ≥ a](answered − tentative) + [c ≥ t](tentative − none) + none``, so for
    each topic line the two sums are minimised apart, ``t ≤ a``: one pass per topic line."""
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    confidence = np.array([j.confidence for j in judged])
    topic = np.array([j.on_topic for j in judged])
    weight = np.array([j.weight for j in judged])
    cost = np.array([[costs.of(j.question.answerable, j.question.offtopic, j.right, o)
                      for o in ("answered", "tentative", "none")] for j in judged])
    above = confidence[:, None] >= grid[None, :]  # question × line
    best: tuple[float, float, float, float] | None = None
    for topic_at in (*grid, 0.995, 0.999):
        gate = (topic >= topic_at) * weight
        answered = (gate * (cost[:, 0] - cost[:, 1])) @ above
        tentative = (gate * (cost[:, 1] - cost[:, 2])) @ above
        base = float(weight @ cost[:, 2])
        low = np.minimum.accumulate(tentative)  # the best unsure line at or below each
        at = np.argmin(answered + low)
        t = int(np.argmin(tentative[: at + 1]))
        total = base + float(answered[at] + tentative[t])
        if best is None or total < best[0] - 1e-9:
            best = (total, float(grid[at]), float(grid[t]), float(topic_at))
    assert best is not None
    return best[1], best[2], best[3]


def total_cost(judged: Sequence[Judgement], answered_at: float, tentative_at: float,
               topic_at: float, costs: Costs = COSTS) -> float:
    return sum(j.weight * costs.of(j.question.answerable, j.question.offtopic, j.right,
                                   outcome(j, answered_at, tentative_at, topic_at))
               for j in judged)


def outcome(j: Judgement, answered_at: float, tentative_at: float, topic_at: float) -> str:
    if j.on_topic < topic_at:
        return "none"
    if j.confidence >= answered_at:
        return "answered"
    return "tentative" if j.confidence >= tentative_at else "none"


def teaching_threshold(answerer: Answerer, questions: Sequence[EvalQuestion]) -> float:
    """``taught_at``: the similarity at which every leave-one-out match over the bank's
    answerable fitting questions is to a question with the same answer, and no unanswerable
    question is matched, plus ``MARGIN``."""
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


# --- measuring ----------------------------------------------------------------------------

def judge_all(answerer: Answerer, model: AnswerModel, questions: Sequence[EvalQuestion],
              group: str = "") -> list[Judgement]:
    """``model``'s judgement of each question over ``answerer``'s index, as the product
    makes it (the reader reading ``model.read`` sentences, a batch of questions at once)."""
    system = replace(answerer, model=model)
    out = []
    for chunk in _chunks(examples(system, questions, group), BATCH):
        for e, judged in zip(chunk, system.judge_many([e.candidates for e in chunk]),
                             strict=True):
            out.append(Judgement(e.question, judged.confidence, judged.on_topic,
                                 _right(judged, e.question), group))
    return out


def figures(judged: Sequence[Judgement], answered_at: float, tentative_at: float,
            topic_at: float) -> dict[str, float]:
    """The issue's figures for ``judged`` at these thresholds."""
    answerable = [j for j in judged if j.question.answerable]
    unanswerable = [j for j in judged if not j.question.answerable]
    offtopic = [j for j in judged if j.question.offtopic]
    n_a, n_u = max(len(answerable), 1), max(len(unanswerable), 1)

    def seen(j: Judgement) -> str:
        return outcome(j, answered_at, tentative_at, topic_at)

    return {
        "answerable": len(answerable), "unanswerable": len(unanswerable),
        "right_on_top": sum(j.right and seen(j) != "none" for j in answerable) / n_a,
        "right_confident": sum(j.right and seen(j) == "answered" for j in answerable) / n_a,
        "ranked_first": sum(j.right for j in answerable) / n_a,
        "answerable_none": sum(seen(j) == "none" for j in answerable) / n_a,
        "unanswerable_confident": sum(seen(j) == "answered" for j in unanswerable) / n_u,
        "unanswerable_tentative": sum(seen(j) == "tentative" for j in unanswerable) / n_u,
        "offtopic": len(offtopic),
        "offtopic_quoted": sum(seen(j) != "none" for j in offtopic),
        "cost": total_cost(judged, answered_at, tentative_at, topic_at) / max(len(judged), 1),
    }


def trade_off(judged: Sequence[Judgement], tentative_at: float, topic_at: float,
              lines: Sequence[float] = tuple(np.round(np.arange(0.30, 1.0, 0.05), 2))
              ) -> list[dict[str, float]]:
    """Right and confident against unanswerable answered confidently, as the confident
    line moves (the tentative and topic lines kept)."""
    rows = []
    for line in lines:
        f = figures(judged, float(line), min(tentative_at, float(line)), topic_at)
        rows.append({"answered_at": float(line), "right_confident": f["right_confident"],
                     "unanswerable_confident": f["unanswerable_confident"]})
    return rows


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


# --- the reader's readings, cached ---------------------------------------------------------

class ReadingCache:
    """The reader's readings of (question, sentence, previous sentence), kept in a JSON file
    beside the index: a refit reads nothing twice. Keyed by the reader's weights' hash."""

    def __init__(self, reader: PairReader, path: Path) -> None:
        self.reader = reader
        self.path = path
        self._seen: dict[str, Reading] = {}
        try:
            for key, (logit, span) in json.loads(path.read_text(encoding="utf-8")).items():
                self._seen[key] = Reading(float(logit), tuple(span) if span else None)
        except (OSError, ValueError, TypeError):
            pass

    def read(self, pairs: Sequence[Pair]) -> list[Reading]:
        keys = ["\x1f".join((p.question, p.sentence, p.before)) for p in pairs]
        missing = [(k, p) for k, p in dict(zip(keys, pairs, strict=True)).items()
                   if k not in self._seen]
        if missing:
            for (k, _), r in zip(missing, self.reader.read([p for _, p in missing]),
                                 strict=True):
                self._seen[k] = r
        return [self._seen[k] for k in keys]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps({k: [r.logit, list(r.span) if r.span else None]
                                   for k, r in self._seen.items()}), encoding="utf-8")
        tmp.replace(self.path)


# --- helpers ------------------------------------------------------------------------------

def _read(answerer: Answerer, prior: AnswerModel, group: Sequence[Example]) -> list[Any]:
    """For each example: its reading plan under ``prior`` and the readings of the chosen."""
    from bot.answer import plan_reading

    out = []
    for chunk in _chunks(list(group), BATCH):
        plans = [plan_reading(e.candidates, prior) for e in chunk]
        pairs = [answerer.reading_pair(e.candidates, p)
                 for e, plan in zip(chunk, plans, strict=True) for p in plan.chosen]
        assert answerer.reader is not None
        found = iter(answerer.reader.read(pairs))
        for plan in plans:
            out.append((plan, [next(found) for _ in plan.chosen]))
    return out


def _reading_rows(e: Example, sentence: Linear, plan_and_reads: Any, read: int
                  ) -> NDArray[np.float64]:
    plan, found = plan_and_reads
    reader = np.zeros(len(plan.keys))
    unread = np.ones(len(plan.keys))
    by_key = {plan.keys[p]: r for p, r in zip(plan.chosen[:read], found[:read], strict=True)}
    for position, key in enumerate(plan.keys):
        if key in by_key:
            reader[position] = by_key[key].logit
            unread[position] = 0.0
    return np.column_stack([plan.prior, reader, unread])


def _reading_data(readings: Sequence[tuple[Answerer, Sequence[Example], list[Any]]],
                  sentence: Linear, read: int
                  ) -> list[tuple[Example, NDArray[np.float64], NDArray[Any]]]:
    """Each on-topic question with its candidates' reading rows (``read`` of them read)
    and their labels."""
    return [(e, _reading_rows(e, sentence, plan_and_reads, read), np.concatenate(e.labels))
            for _, group, read_by in readings
            for e, plan_and_reads in zip(group, read_by, strict=True)
            if not e.question.offtopic]


def _fit_reading(data: Sequence[tuple[Example, NDArray[np.float64], NDArray[Any]]]) -> Linear:
    return _logistic(np.vstack([rows for _, rows, _ in data]),
                     np.concatenate([labels for _, _, labels in data]), READING_FEATURES,
                     np.concatenate([np.full(len(rows), e.weight) for e, rows, _ in data]))


def _judge_read(model: AnswerModel, readings: Sequence[tuple[Answerer, Sequence[Example],
                                                             list[Any]]]
                ) -> list[tuple[Judged, Example]]:
    from bot.answer import judge

    out = []
    for _, group, read_by in readings:
        for e, (plan, found) in zip(group, read_by, strict=True):
            chosen = {plan.keys[p]: r for p, r in zip(plan.chosen[:model.read],
                                                      found[:model.read], strict=True)}
            out.append((judge(e.candidates, model, plan, chosen), e))
    return out


def _right(judged: Judged, question: EvalQuestion) -> bool:
    return bool(judged.ranked) and question.answerable and question.is_hit(
        judged.ranked[0].hit.passage.text)


def _sentence_weights(group: Sequence[Example]) -> NDArray[np.float64]:
    return np.concatenate([np.full(sum(len(r) for r in e.candidates.rows), e.weight)
                           for e in group])


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]


def _logistic(rows: NDArray[np.float64], labels: NDArray[Any], names: tuple[str, ...],
              weights: NDArray[np.float64] | None = None) -> Linear:
    """Logistic regression on standardised features, returned in the features' own units
    (so answering needs no scaler)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=5000).fit((rows - mean) / scale, labels,
                                                        sample_weight=weights)
    weights_ = model.coef_[0] / scale
    bias = float(model.intercept_[0] - np.sum(weights_ * mean))
    return Linear(names, tuple(round(float(w), 6) for w in weights_), round(bias, 6))


