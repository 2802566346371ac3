"""The reader's SQuAD articles as the bot meets an article: each one alone in a seeds folder
of its own, indexed as ``seeds/`` is, with its questions as an evaluation set.

The decision is fitted on the ``calibrate`` articles (and the bank's fitting part) and
measured on the ``validation`` ones; the reader trained on neither (``bot.reader.data``).
Their seeds and indexes are built artifacts, kept under ``index/articles/`` and rebuilt when
the training data changes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.evaluate import EvalQuestion
from bot.reader.data import Paragraph, Role, article_text, by_article, load


@dataclass(frozen=True)
class Article:
    name: str
    seeds: Path  # a folder holding the article as its only seed
    index: Path  # where its index is kept
    questions: tuple[EvalQuestion, ...]


def articles(role: Role, root: Path, paragraphs: Sequence[Paragraph] | None = None
             ) -> list[Article]:
    """The articles of ``role``, their seed files written under ``root`` when missing or
    changed."""
    found = []
    for name, group in by_article(paragraphs if paragraphs is not None else load(role=role)):
        if group[0].role != role:
            continue
        folder = root / _slug(name)
        seed = folder / "seeds" / f"{_slug(name)}.txt"
        text = article_text(name, group)
        if not seed.is_file() or seed.read_text(encoding="utf-8") != text:
            seed.parent.mkdir(parents=True, exist_ok=True)
            seed.write_text(text, encoding="utf-8")
        found.append(Article(name, seed.parent, folder / "index", tuple(questions(group))))
    return found


def questions(paragraphs: Sequence[Paragraph]) -> list[EvalQuestion]:
    """Each question as an evaluation question: its gold strings, and the sentences that
    hold them (the bank's way of saying which excerpt is right)."""
    found = []
    for p in paragraphs:
        for qa in p.questions:
            sentences = tuple(p.sentence(i) for i in sorted(p.answering(qa)))
            found.append(EvalQuestion(qa.question, tuple(g.text for g in qa.answers),
                                      "unanswerable" if qa.unanswerable else "squad",
                                      sentences, split=p.role, fact=p.article))
    return found


def _slug(name: str) -> str:
    clean = "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()
    return f"{clean[:40]}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"
