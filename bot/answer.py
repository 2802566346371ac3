"""Hits → ``Answer``: cited excerpts with the answering sentence marked, or an abstention.

A hit is quoted only if one of its sentences is evidence: close enough to the question (an
evidence score ≥ ``min_evidence``, see ``bot.retriever``) and holding the kind of answer
the question asks for. When no hit has such a sentence, the answer abstains instead of
quoting whatever came closest. Excerpts are ordered by their best evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import InvalidQuestion
from bot.followup import search_text
from bot.index import Index
from bot.overview import is_overview
from bot.qtype import (
    AnswerType,
    expected_type,
    mentions_names,
    mentions_role,
    names_asked,
    supplies,
)
from bot.retriever import Hit, Retriever
from bot.text import has_word, normalize


@dataclass(frozen=True)
class Excerpt:
    passage_id: str
    doc: str
    title: str
    paragraph: int
    start: int  # character offsets of ``text`` in the document's source text
    end: int
    text: str
    score: float  # the best evidence score among its sentences (see bot.retriever)
    highlight: tuple[int, int]  # source offsets of the answering sentence, within start..end
    url: str | None = None

    @property
    def citation(self) -> str:
        return f"¶{self.paragraph} · {self.title}"

    def parts(self) -> tuple[str, str, str]:
        """The text before the highlighted sentence, the sentence, and the text after it."""
        s, e = self.highlight[0] - self.start, self.highlight[1] - self.start
        return self.text[:s], self.text[s:e], self.text[e:]


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    excerpts: tuple[Excerpt, ...]
    # More evidence-bearing excerpts exist beyond these (for a "more" action).
    has_more: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answered": self.answered,
            "excerpts": [
                {
                    "text": e.text,
                    "doc": e.doc,
                    "title": e.title,
                    "paragraph": e.paragraph,
                    "start": e.start,
                    "end": e.end,
                    "score": round(e.score, 4),
                    "highlight": list(e.highlight),
                    "url": e.url,
                    "id": e.passage_id,
                }
                for e in self.excerpts
            ],
        }


def clean_question(raw: str, max_chars: int) -> str:
    """The question as searched, or InvalidQuestion saying what is wrong with it."""
    if len(raw) > max_chars:
        raise InvalidQuestion(
            f"the question is {len(raw):,} characters long; the limit is {max_chars:,}"
        )
    question = normalize(raw)
    if not question:
        raise InvalidQuestion("the question is empty: type a question about the article")
    if not has_word(question):
        raise InvalidQuestion("the question has no words to search for")
    return question


@dataclass(frozen=True)
class Answerer:
    """The one object front ends call: questions in, ``Answer`` out."""

    retriever: Retriever
    top_k: int = 3
    min_evidence: float = 0.80
    max_question_chars: int = 500

    @property
    def index(self) -> Index:
        return self.retriever.index

    def ask(
        self, question: str, offset: int = 0, limit: int | None = None,
        history: Sequence[str] = (),
    ) -> Answer:
        """``history``: the conversation's earlier questions, oldest first, so that a
        follow-up ("and how much of it came from China?") is searched in context."""
        return self.ask_many([question], offset, limit, [history])[0]

    def ask_many(
        self, questions: Sequence[str], offset: int = 0, limit: int | None = None,
        histories: Sequence[Sequence[str]] | None = None,
    ) -> list[Answer]:
        """Answers in order, with one batched encode for all questions. Raises
        InvalidQuestion for the first question that cannot be searched."""
        cleaned = [clean_question(q, self.max_question_chars) for q in questions]
        histories = histories or [()] * len(cleaned)
        searches = [self._search_text(q, h) for q, h in zip(cleaned, histories, strict=True)]
        vectors = self.retriever.encode(searches)
        limit = limit or self.top_k
        answers = []
        for question, search, vector in zip(cleaned, searches, vectors, strict=True):
            hits = self.retriever.search(search, offset + 2 * limit + 1, vector)
            kind, names = expected_type(question), names_asked(question)
            found = (self._excerpt(question, kind, names, h) for h in hits)
            # Retrieval chose the candidates; the evidence of their answering sentences
            # orders them.
            excerpts = sorted((e for e in found if e), key=lambda e: -e.score)
            answers.append(
                Answer(
                    question=question,
                    answered=bool(excerpts),
                    excerpts=tuple(excerpts[offset : offset + limit]),
                    has_more=len(excerpts) > offset + limit,
                )
            )
        return answers

    def _search_text(self, question: str, history: Sequence[str]) -> str:
        """A question about the whole article is searched as its title; a follow-up
        together with the question it follows; any other question as it is."""
        if is_overview(question):
            return " ".join(d.title for d in self.index.manifest.documents)
        return search_text(question, history)

    def _excerpt(
        self, question: str, kind: AnswerType, names: tuple[frozenset[str], ...], hit: Hit,
    ) -> Excerpt | None:
        """The hit as an excerpt, or None when no sentence is both evidence (score ≥
        threshold) and of the ``kind`` asked for, or when the passage's paragraph does not
        mention the role or the names the question gives. The sentence marked is the one of
        that kind closest in meaning to the question."""
        passage = hit.passage
        if not mentions_role(passage.text, question):
            return None
        if not mentions_names(self.index.block_text(passage), names):
            return None
        evidence = hit.evidence
        typed = [
            i for i, (s, e) in enumerate(passage.sentences)
            if supplies(passage.text[s - passage.start : e - passage.start], kind, question)
        ]
        if not typed or max(evidence[i] for i in typed) < self.min_evidence:
            return None
        strongest = max(typed, key=lambda i: evidence[i])
        # Wording finds the passage; meaning pinpoints the sentence. A sentence that repeats
        # the question's premise ("... were leaked") often outscores the answer on coverage.
        best = max(typed, key=lambda i: (hit.similarity[i], evidence[i]))
        doc = self.index.document(passage.doc_id)
        return Excerpt(
            passage_id=passage.id,
            doc=passage.doc_id,
            title=doc.title,
            paragraph=passage.paragraph,
            start=passage.start,
            end=passage.end,
            text=passage.text,
            score=evidence[strongest],
            highlight=passage.sentences[best],
            url=doc.url,
        )
