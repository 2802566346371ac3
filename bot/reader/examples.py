"""The reader's labelled pairs, and the figures it is validated by. No torch: the exported
reader is measured with the same code as the one being trained.

Examples (``examples``): every question of the given articles paired with the sentences of
its paragraph that hold a gold answer (label 1), the ``PARAGRAPH_NEGATIVES`` others of its
paragraph closest to it by MiniLM cosine (0; for an unanswerable question these are the near
misses it was written against), and the ``HARD_NEGATIVES`` closest sentences of other
paragraphs (0), which is what retrieval puts beside the right sentence at question time. A
sentence elsewhere that holds a gold answer string is left out, not called wrong. (Every
sentence of the paragraph instead: 57k training pairs and four hours on these two cores;
this: 34k.)"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.reader.data import Paragraph, by_article
from bot.reader.pairs import Pair
from bot.text import fold

HARD_NEGATIVES = 1
PARAGRAPH_NEGATIVES = 3


@dataclass(frozen=True)
class Example:
    pair: Pair
    label: int
    answer: tuple[int, int] | None  # the gold answer's characters in the sentence
    question: str  # the question's id, for question-level figures


def examples(paragraphs: Sequence[Paragraph], vectors: Callable[[list[str]], Any],
             hard_negatives: int = HARD_NEGATIVES) -> list[Example]:
    """The labelled pairs for ``paragraphs`` (see the module's docstring); ``vectors``
    encodes texts into normalised rows."""
    found: list[Example] = []
    for _, group in by_article(paragraphs):
        sentences = [(p, i) for p in group for i in range(len(p.sentences))]
        questions = [(p, q) for p in group for q in p.questions]
        if not questions:
            continue
        sv = vectors([p.sentence(i) for p, i in sentences])
        qv = vectors([q.question for _, q in questions])
        nearest = np.argsort(-(qv @ sv.T), axis=1)
        for (p, q), order in zip(questions, nearest, strict=True):
            answering = p.answering(q)
            golds = [fold(g.text) for g in q.answers]
            here = [int(j) for j in order if sentences[int(j)][0] is p]
            wrong = [j for j in here if sentences[j][1] not in answering][:PARAGRAPH_NEGATIVES]
            for j in sorted(wrong + [j for j in here if sentences[j][1] in answering]):
                i = sentences[j][1]
                found.append(_example(p, i, q.question, q.id, i in answering, q.answers))
            taken = 0
            for j in order:
                other, i = sentences[int(j)]
                if other is p:
                    continue
                if any(g in fold(other.sentence(i)) for g in golds):
                    continue
                found.append(_example(other, i, q.question, q.id, False, ()))
                taken += 1
                if taken == hard_negatives:
                    break
    return found


def _example(p: Paragraph, i: int, question: str, qid: str, answers_it: bool,
             golds: Sequence[Any]) -> Example:
    start, end = p.sentences[i]
    before = p.sentence(i - 1) if i > 0 else ""
    answer = None
    if answers_it:
        gold = next(g for g in golds if start <= g.start < end)
        answer = (gold.start - start, min(gold.start + len(gold.text), end) - start)
    return Example(Pair(question, p.text[start:end], before), int(answers_it), answer, qid)


def sample(found: Sequence[Example], questions: int) -> list[Example]:
    """Every pair of an evenly spaced sample of ``questions`` questions."""
    ids = list(dict.fromkeys(e.question for e in found))
    step = max(len(ids) // questions, 1)
    keep = set(ids[::step][:questions])
    return [e for e in found if e.question in keep]


def figures(data: Sequence[Example], logits: Sequence[float],
            spans: Sequence[tuple[int, int] | None]) -> dict[str, float]:
    """Validation figures from each pair's logit and span: pair AUC; per answerable
    question, whether its best-scored pair is an answering sentence; per question, the best
    score's AUC for answerable against not; the span's exact match and token F1 on
    answering pairs."""
    scores = np.asarray(logits, dtype=np.float64)
    labels = np.array([e.label for e in data])
    by_question: dict[str, list[int]] = {}
    for i, e in enumerate(data):
        by_question.setdefault(e.question, []).append(i)
    best_right, best, answerable = [], [], []
    for rows in by_question.values():
        top = max(rows, key=lambda r: scores[r])
        has = bool(labels[rows].any())
        answerable.append(has)
        best.append(scores[top])
        if has:
            best_right.append(bool(labels[top]))
    exact, f1 = [], []
    for e, span in zip(data, spans, strict=True):
        if e.answer is None:
            continue
        gold = e.pair.sentence[e.answer[0]:e.answer[1]]
        guess = e.pair.sentence[span[0]:span[1]] if span else ""
        exact.append(fold(gold) == fold(guess))
        f1.append(_token_f1(guess, gold))
    return {"pair_auc": _auc(scores, labels), "best_right": float(np.mean(best_right)),
            "question_auc": _auc(np.array(best), np.array(answerable)),
            "span_exact": float(np.mean(exact)) if exact else 0.0,
            "span_f1": float(np.mean(f1)) if f1 else 0.0}


def _auc(scores: np.ndarray[Any, Any], labels: np.ndarray[Any, Any]) -> float:
    positive, negative = scores[labels.astype(bool)], scores[~labels.astype(bool)]
    if not len(positive) or not len(negative):
        return float("nan")
    ranks = np.argsort(np.argsort(np.concatenate([positive, negative]))) + 1
    return float((ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2)
                 / (len(positive) * len(negative)))


def _token_f1(guess: str, gold: str) -> float:
    g, t = fold(guess).split(), fold(gold).split()
    common = sum(min(g.count(w), t.count(w)) for w in set(g))
    if not common:
        return 0.0
    precision, recall = common / len(g), common / len(t)
    return 2 * precision * recall / (precision + recall)
