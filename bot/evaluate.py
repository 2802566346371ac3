"""Answer quality on a JSONL question set: ``{"q", "answer": [gold strings], "kind"}`` per line,
``kind`` "unanswerable" (with no gold strings) for questions the article does not answer."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.answer import Answerer
from bot.errors import BotError
from bot.ingest import is_furniture, opens_comments
from bot.text import fold


@dataclass(frozen=True)
class EvalQuestion:
    q: str
    gold: tuple[str, ...]
    kind: str

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


@dataclass(frozen=True)
class Ranked:
    """What a system returned for one question: whether it answered, its excerpts, and
    the sentence it marked in the first one (when it marks one)."""

    answered: bool
    texts: tuple[str, ...]
    marked: str | None = None


@dataclass(frozen=True)
class Report:
    hit_at_1: float
    hit_at_3: float
    mrr_at_5: float
    marked_at_1: float  # the gold string is in the top excerpt's marked sentence
    abstain_acc: float
    e2e_acc: float
    median_excerpt_chars: float
    boilerplate_returned: bool
    answerable: int
    unanswerable: int
    failures: list[str] = field(default_factory=list)


def load_questions(path: Path) -> list[EvalQuestion]:
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise BotError(f"cannot read the question set {path}: {err}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                EvalQuestion(str(row["q"]), tuple(str(g) for g in row.get("answer") or ()),
                             str(row.get("kind", "")))
            )
        except (ValueError, KeyError, TypeError):
            raise BotError(
                f"{path.name} line {number} is not a {{\"q\", \"answer\"}} object"
            ) from None
    return questions


def is_hit(text: str, gold: Sequence[str]) -> bool:
    folded = fold(text)
    return any(fold(g) in folded for g in gold)


def has_boilerplate(text: str) -> bool:
    """True when any line of ``text`` is page furniture rather than article text."""
    return any(is_furniture(line) or opens_comments(line) for line in text.splitlines()
               if line.strip())


def evaluate(
    questions: Sequence[EvalQuestion], system: Callable[[Sequence[str]], list[Ranked]]
) -> Report:
    results = system([q.q for q in questions])
    answerable = [(q, r) for q, r in zip(questions, results, strict=True) if q.answerable]
    unanswerable = [(q, r) for q, r in zip(questions, results, strict=True) if not q.answerable]
    failures = []
    h1 = h3 = rr = marked = 0.0
    for q, r in answerable:
        ranks = [i for i, t in enumerate(r.texts[:5], start=1) if is_hit(t, q.gold)]
        first = ranks[0] if ranks else None
        h1 += first == 1 and r.answered
        h3 += first is not None and first <= 3 and r.answered
        rr += 1.0 / first if first and r.answered else 0.0
        marked += first == 1 and r.answered and is_hit(r.marked or "", q.gold)
        if not (first == 1 and r.answered):
            failures.append(f"miss: {q.q}")
    abstained = 0
    for q, r in unanswerable:
        abstained += not r.answered
        if r.answered:
            failures.append(f"answered: {q.q}")
    n_a, n_u = max(len(answerable), 1), max(len(unanswerable), 1)
    tops = [len(r.texts[0]) for _, r in zip(questions, results, strict=True) if r.texts]
    return Report(
        hit_at_1=h1 / n_a,
        hit_at_3=h3 / n_a,
        mrr_at_5=rr / n_a,
        marked_at_1=marked / n_a,
        abstain_acc=abstained / n_u if unanswerable else 1.0,
        e2e_acc=(h1 + abstained) / max(len(questions), 1),
        median_excerpt_chars=statistics.median(tops) if tops else 0.0,
        boilerplate_returned=any(has_boilerplate(t) for r in results for t in r.texts),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        failures=failures,
    )


@dataclass(frozen=True)
class SweepRow:
    threshold: float
    report: Report


def answerer_system(answerer: Answerer, limit: int = 5) -> Callable[[Sequence[str]], list[Ranked]]:
    def system(questions: Sequence[str]) -> list[Ranked]:
        answers = answerer.ask_many(questions, limit=limit)
        return [Ranked(a.answered, tuple(e.text for e in a.excerpts),
                       a.excerpts[0].parts()[1] if a.excerpts else None) for a in answers]

    return system


def calibrate_threshold(
    answerer: Answerer, questions: Sequence[EvalQuestion], low: float = 0.30,
    high: float = 1.10, step: float = 0.025,
) -> tuple[float, list[SweepRow]]:
    """Sweep the evidence threshold; choose the one with the best end-to-end accuracy, and
    among equally good ones the middle of the range, the farthest from both failure modes."""
    rows = []
    steps = round((high - low) / step)
    for i in range(steps + 1):
        threshold = round(low + i * step, 4)
        trial = replace(answerer, min_evidence=threshold)
        rows.append(SweepRow(threshold, evaluate(questions, answerer_system(trial))))
    best = max(r.report.e2e_acc for r in rows)
    tied = [r.threshold for r in rows if r.report.e2e_acc == best]
    return tied[len(tied) // 2], rows
