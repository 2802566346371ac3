"""The reader's training data: one JSON line per paragraph of an article, with its sentences
and the questions asked about it, and which part of the work each article is for.

A line::

    {"article": "Warsaw", "paragraph": 3, "role": "train", "text": "...",
     "sentences": [[0, 121], [122, 260]],
     "questions": [{"id": "...", "question": "...", "unanswerable": false,
                    "answers": [{"text": "1596", "start": 201}]}]}

``sentences`` are the project's own sentence spans (``bot.text.sentence_spans``), so the
reader trains on the units it scores at question time. ``answers`` are the crowd's gold
strings with their offset in ``text`` (the first occurrence; SQuAD's pages give no offsets).

Roles, by article (never by question, so no article is on both sides of a line):
``train`` fits the reader; ``calibrate`` fits the decision on the reader's scores, which
there are scores for questions the reader never saw; ``validation`` is only measured.
Three articles are kept out altogether (``KEPT``): they are never converted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.config import PROJECT_ROOT
from bot.errors import BotError

DATA_DIR = PROJECT_ROOT / "training"
SQUAD_FILE = DATA_DIR / "squad2-dev.jsonl"
# Kept outside the repository's work: never converted, trained, tuned or selected on.
KEPT = ("Normans", "Rhine", "Computational_complexity_theory")
VALIDATION_ARTICLES = 5
CALIBRATION_ARTICLES = 5
Role = Literal["train", "calibrate", "validation"]


@dataclass(frozen=True)
class Gold:
    text: str
    start: int  # in the paragraph's text


@dataclass(frozen=True)
class QA:
    id: str
    question: str
    unanswerable: bool
    answers: tuple[Gold, ...]


@dataclass(frozen=True)
class Paragraph:
    article: str
    number: int  # 1-based within the article
    role: Role
    text: str
    sentences: tuple[tuple[int, int], ...]
    questions: tuple[QA, ...]

    def sentence(self, i: int) -> str:
        s, e = self.sentences[i]
        return self.text[s:e]

    def answering(self, qa: QA) -> frozenset[int]:
        """The sentences holding a gold answer's first occurrence (empty: unanswerable)."""
        return frozenset(i for g in qa.answers for i, (s, e) in enumerate(self.sentences)
                         if s <= g.start < e)

    def to_json(self) -> str:
        return json.dumps({
            "article": self.article, "paragraph": self.number, "role": self.role,
            "text": self.text, "sentences": [list(s) for s in self.sentences],
            "questions": [{"id": q.id, "question": q.question, "unanswerable": q.unanswerable,
                           "answers": [{"text": g.text, "start": g.start} for g in q.answers]}
                          for q in self.questions]}, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Paragraph:
        row = json.loads(line)
        return cls(str(row["article"]), int(row["paragraph"]), row["role"], str(row["text"]),
                   tuple((int(s), int(e)) for s, e in row["sentences"]),
                   tuple(QA(str(q["id"]), str(q["question"]), bool(q["unanswerable"]),
                            tuple(Gold(str(g["text"]), int(g["start"])) for g in q["answers"]))
                         for q in row["questions"]))


def roles(articles: Iterable[str]) -> dict[str, Role]:
    """Each article's role, by a rule that needs no choosing: articles ordered by the
    SHA-256 of their title; the first ``VALIDATION_ARTICLES`` validate, the next
    ``CALIBRATION_ARTICLES`` calibrate, the rest train."""
    order = sorted(set(articles) - set(KEPT),
                   key=lambda a: hashlib.sha256(a.encode("utf-8")).hexdigest())
    found: dict[str, Role] = {}
    for i, article in enumerate(order):
        found[article] = ("validation" if i < VALIDATION_ARTICLES else
                          "calibrate" if i < VALIDATION_ARTICLES + CALIBRATION_ARTICLES
                          else "train")
    return found


def load(path: Path = SQUAD_FILE, role: Role | None = None) -> list[Paragraph]:
    """The paragraphs in ``path`` (of one role, when given)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise BotError(f"cannot read the reader's training data {path}: {err.strerror}; "
                       "run `python -m bot reader-data` to make it") from None
    try:
        paragraphs = [Paragraph.from_json(line) for line in lines if line.strip()]
    except (ValueError, KeyError, TypeError) as err:
        raise BotError(f"{path} is not the reader's training format ({err})") from None
    return [p for p in paragraphs if role is None or p.role == role]


def by_article(paragraphs: Sequence[Paragraph]) -> Iterator[tuple[str, list[Paragraph]]]:
    """Articles in order of first appearance, each with its paragraphs."""
    grouped: dict[str, list[Paragraph]] = {}
    for p in paragraphs:
        grouped.setdefault(p.article, []).append(p)
    yield from grouped.items()


def article_text(title: str, paragraphs: Sequence[Paragraph]) -> str:
    """An article as a seed file: its title, then its paragraphs, a blank line apart."""
    return "\n\n".join([title.replace("_", " "), *(p.text for p in paragraphs)]) + "\n"


def digest(path: Path = SQUAD_FILE) -> str:
    """SHA-256 of the data file, for the reader's manifest."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
