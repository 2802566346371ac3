"""Answer quality on a JSONL question set: ``{"q", "answer": [gold strings], "kind"}`` per line,
``kind`` "unanswerable" (with no gold strings) for questions the article does not answer.

The question bank (``bench/bank.jsonl``) also gives, per question, the article sentence(s)
that answer it (``"sentences"``), its ``"split"`` (fit or val) and its ``"fact"``; there an
excerpt is right when it holds an answering sentence, and a marked sentence when it is one.
Questions off the article's subject altogether have kind "offtopic" (the bank) or are listed
in ``bench/offtopic.txt`` (the older sets)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.answer import Answerer
from bot.errors import BotError
from bot.ingest import is_furniture, opens_comments
from bot.text import fold

OFFTOPIC_LIST = Path(__file__).resolve().parent.parent / "bench" / "offtopic.txt"


@dataclass(frozen=True)
class EvalQuestion:
    q: str
    gold: tuple[str, ...]
    kind: str
    sentences: tuple[str, ...] = ()  # the article sentences that answer it (the bank)
    split: str = ""
    fact: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.gold or self.sentences)

    @property
    def offtopic(self) -> bool:
        return self.kind == "offtopic"

    def is_hit(self, text: str) -> bool:
        """``text`` (an excerpt) holds the answer: an answering sentence when they are
        known, else a gold string."""
        if self.sentences:
            folded = fold(text)
            return any(fold(s) in folded for s in self.sentences)
        return is_hit(text, self.gold)

    def is_marked(self, sentence: str) -> bool:
        """``sentence`` (the one marked) is an answering sentence, or holds a gold string."""
        if self.sentences:
            marked = fold(sentence)
            return bool(marked) and any(marked in fold(s) or fold(s) in marked
                                        for s in self.sentences)
        return is_hit(sentence, self.gold)


@dataclass(frozen=True)
class Ranked:
    """What a system returned for one question: whether it answered, its excerpts, and
    the sentence it marked in the first one (when it marks one)."""

    answered: bool
    texts: tuple[str, ...]
    marked: str | None = None
    # "answered", "tentative" (the closest passage, flagged as unsure) or "none"; systems
    # with two outcomes leave it to ``answered``.
    status: str = ""

    @property
    def outcome(self) -> str:
        return self.status or ("answered" if self.answered else "none")


@dataclass(frozen=True)
class Report:
    hit_at_1: float  # the right passage first, answered confidently
    hit_at_3: float  # ... among the first three quoted, answered or tentatively
    mrr_at_5: float  # (quoted, answered or tentatively)
    marked_at_1: float  # the gold string is in the top excerpt's marked sentence
    abstain_acc: float
    e2e_acc: float
    median_excerpt_chars: float
    boilerplate_returned: bool
    answerable: int
    unanswerable: int
    # Three outcomes: the right passage first, answered or tentative; right and answered
    # (confident); unanswerable questions answered confidently; off-topic ones quoted at all.
    right_on_top: float = 0.0
    right_confident: float = 0.0
    unanswerable_confident: float = 0.0
    unanswerable_tentative: float = 0.0
    offtopic: int = 0
    offtopic_quoted: int = 0
    failures: list[str] = field(default_factory=list)


def load_questions(path: Path) -> list[EvalQuestion]:
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise BotError(f"cannot read the question set {path}: {err}") from None
    offtopic = _offtopic_list()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row["q"], str):
                raise TypeError("not an object with a question")
            kind = str(row.get("kind", ""))
            if kind == "unanswerable" and row["q"] in offtopic:
                kind = "offtopic"
            questions.append(
                EvalQuestion(str(row["q"]), tuple(str(g) for g in row.get("answer") or ()),
                             kind, tuple(str(s) for s in row.get("sentences") or ()),
                             str(row.get("split", "")), row.get("fact"))
            )
        except (ValueError, KeyError, TypeError):
            raise BotError(
                f"{path.name} line {number} is not a {{\"q\", \"answer\"}} object"
            ) from None
    return questions


def _offtopic_list() -> frozenset[str]:
    try:
        lines = OFFTOPIC_LIST.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset()
    return frozenset(x.strip() for x in lines if x.strip() and not x.startswith("#"))


def split(questions: Sequence[EvalQuestion], part: str) -> list[EvalQuestion]:
    """The bank's fitting ("fit") or validation ("val") part."""
    return [q for q in questions if q.split == part]


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
    h1 = h3 = rr = marked = on_top = 0.0
    for q, r in answerable:
        ranks = [i for i, t in enumerate(r.texts[:5], start=1) if q.is_hit(t)]
        first = ranks[0] if ranks else None
        quoted = r.outcome != "none"  # answered or tentative: the user sees it
        h1 += first == 1 and r.answered
        h3 += first is not None and first <= 3 and quoted
        rr += 1.0 / first if first and quoted else 0.0
        marked += first == 1 and r.answered and q.is_marked(r.marked or "")
        on_top += first == 1 and r.outcome != "none"
        if not (first == 1 and r.answered):
            failures.append(f"{'tentative' if first == 1 else 'miss'}: {q.q}")
    abstained = confident = tentative = 0
    for q, r in unanswerable:
        abstained += not r.answered
        confident += r.outcome == "answered"
        tentative += r.outcome == "tentative"
        if r.outcome != "none":
            failures.append(f"{r.outcome}: {q.q}")
    offtopic = [r for q, r in unanswerable if q.offtopic]
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
        right_on_top=on_top / n_a,
        right_confident=h1 / n_a,
        unanswerable_confident=confident / n_u if unanswerable else 0.0,
        unanswerable_tentative=tentative / n_u if unanswerable else 0.0,
        offtopic=len(offtopic),
        offtopic_quoted=sum(r.outcome != "none" for r in offtopic),
        failures=failures,
    )


def answerer_system(answerer: Answerer, limit: int = 5) -> Callable[[Sequence[str]], list[Ranked]]:
    def system(questions: Sequence[str]) -> list[Ranked]:
        answers = answerer.ask_many(questions, limit=limit)
        return [Ranked(a.answered, tuple(e.text for e in a.excerpts),
                       a.excerpts[0].parts()[1] if a.excerpts else None, a.status.value)
                for a in answers]

    return system
