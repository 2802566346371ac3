"""Hits → ``Answer``: cited excerpts with the answering sentence marked, one of three ways.

The answerability model (``bot.answerability``) scores every candidate sentence, ranks the
passages by their best sentence, and gives the best one a confidence. Confident: the
passages are quoted (``answered``). Unsure: the closest passage is quoted as such
(``tentative``). Otherwise: "the article doesn't say" (``none``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from bot.answerability.features import (
    Candidate,
    Question,
    analyse,
    answer_row,
    sentence_rows,
    topic_row,
)
from bot.answerability.model import AnswerModel, Outcome, load_model, sigmoid
from bot.errors import InvalidQuestion
from bot.followup import search_text
from bot.index import Index
from bot.overview import is_overview
from bot.retriever import Hit, Retriever, overlaps
from bot.teaching import TaughtHolder
from bot.text import has_word, normalize

# Beyond the first excerpt, others are quoted when their sentence is at least this likely,
# relative to the first one's; "more excerpts" pages through those above MORE_FLOOR.
ALSO_RELATIVE = 0.5
MORE_FLOOR = 0.02
# With a single candidate there is no rival: its lead counts as this many log-odds.
RIVAL_ABSENT = 10.0


@dataclass(frozen=True)
class Excerpt:
    passage_id: str
    doc: str
    title: str
    paragraph: int
    start: int  # character offsets of ``text`` in the document's source text
    end: int
    text: str
    score: float  # the probability that its marked sentence answers (the sentence model)
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
    status: Outcome
    excerpts: tuple[Excerpt, ...]
    # The probability that the first excerpt answers the question (the answer model).
    confidence: float = 0.0
    # More excerpts worth reading exist beyond these (for a "more" action).
    has_more: bool = False
    # Answered from a taught answer (an operator's, or users' agreement), not by the model.
    taught: bool = False

    @property
    def answered(self) -> bool:
        """Confidently answered (a tentative answer is not)."""
        return self.status is Outcome.ANSWERED

    @property
    def tentative(self) -> bool:
        return self.status is Outcome.TENTATIVE

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "status": self.status.value,
            "answered": self.answered,
            "confidence": round(self.confidence, 4),
            "taught": self.taught,
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
    max_question_chars: int = 500
    model: AnswerModel = field(default_factory=load_model)
    # Taught answers, swapped whole when one is taught or forgotten (bot.teaching).
    taught: TaughtHolder = field(default_factory=TaughtHolder)

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
        return [self._answer(question, search, vector, offset, limit)
                for question, search, vector in zip(cleaned, searches, vectors, strict=True)]

    def candidates(self, question: str, search: str, vector: Any) -> Candidates:
        """The candidate passages for a question, with a row of features per sentence."""
        return self._candidates(question, search,
                                self.retriever.search(search, 3 * self.top_k, vector))

    def _candidates(self, question: str, search: str, hits: Sequence[Hit]) -> Candidates:
        asked = analyse(question, self.index.vocabulary, self.index.lexicon, searched=search)
        rows = sentence_rows(asked, [
            Candidate(h.sentences, h.similarity, h.centred, h.lexical,
                      self.index.block_text(h.passage),
                      self.index.lexicon.of_document(h.passage.doc_id)) for h in hits])
        return Candidates(asked, tuple(hits), tuple(rows))

    def _answer(self, question: str, search: str, vector: Any, offset: int,
                limit: int) -> Answer:
        taught = self.taught.current
        match = taught.match(search, vector) if taught is not None else None
        if match is not None:
            return self._taught_answer(question, search, vector, match.rows, offset, limit)
        judged = judge(self.candidates(question, search, vector), self.model)
        if is_overview(question) and judged.ranked:
            status = Outcome.ANSWERED  # the passages closest to the title are the answer
        else:
            status = self.model.outcome(judged.confidence, judged.on_topic)
        if status is Outcome.NONE:
            return Answer(question, status, (), judged.confidence)
        worth = [s for s in judged.ranked if s.probability >= MORE_FLOOR] or [judged.ranked[0]]
        if offset == 0:
            first = worth[0].probability
            page = [worth[0]] + [s for s in worth[1:limit] if status is Outcome.ANSWERED
                                 and s.probability >= ALSO_RELATIVE * first]
        else:
            page = worth[offset : offset + limit]
        return Answer(question, status, tuple(self._excerpt(s) for s in page),
                      judged.confidence, has_more=len(worth) > offset + len(page))

    def closest(self, question: str, count: int = 3) -> list[Excerpt]:
        """The ``count`` passages the model ranks first, whatever the outcome: what an
        operator picks from to teach an answer."""
        question = clean_question(question, self.max_question_chars)
        vector = self.retriever.encode([question])[0]
        judged = judge(self.candidates(question, question, vector), self.model)
        return [self._excerpt(s) for s in judged.ranked[:count]]

    def _taught_answer(self, question: str, search: str, vector: Any, rows: Sequence[int],
                       offset: int, limit: int) -> Answer:
        """The taught passages, ranked and marked by the model, answered as such."""
        hits = [self.retriever.hit(row, vector) for row in rows]
        judged = judge(self._candidates(question, search, hits), self.model)
        page = judged.ranked[offset : offset + limit]
        return Answer(question, Outcome.ANSWERED, tuple(self._excerpt(s) for s in page),
                      judged.confidence, has_more=len(judged.ranked) > offset + len(page),
                      taught=True)

    def _search_text(self, question: str, history: Sequence[str]) -> str:
        """A question about the whole article is searched as its title; a follow-up
        together with the question it follows; any other question as it is."""
        if is_overview(question):
            return " ".join(d.title for d in self.index.manifest.documents)
        return search_text(question, history)

    def _excerpt(self, scored: Scored) -> Excerpt:
        passage = scored.hit.passage
        doc = self.index.document(passage.doc_id)
        return Excerpt(
            passage_id=passage.id,
            doc=passage.doc_id,
            title=doc.title,
            paragraph=passage.paragraph,
            start=passage.start,
            end=passage.end,
            text=passage.text,
            score=scored.probability,
            highlight=passage.sentences[scored.marked],
            url=doc.url,
        )


@dataclass(frozen=True)
class Scored:
    """A candidate passage with its sentences' features and log-odds."""

    hit: Hit
    rows: Any  # NDArray: a row of SENTENCE_FEATURES per sentence
    logits: Any  # NDArray: the sentence model's log-odds per sentence

    @cached_property
    def logit(self) -> float:
        return float(self.logits.max())

    @cached_property
    def probability(self) -> float:
        return float(sigmoid(self.logit))

    @property
    def marked(self) -> int:
        """The sentence to mark: the likeliest, except that a sentence introducing what
        follows ("Here's an excerpt from …:") gives way to the best one after it."""
        order = [int(i) for i in np.argsort(-self.logits)]
        sentences = self.hit.sentences
        for i in order:
            if not (sentences[i].rstrip().endswith(":") and i + 1 < len(sentences)):
                return i
        return order[0]


@dataclass(frozen=True)
class Judged:
    """What the model made of a question: it, the candidates best first, the confidence
    that the first answers, and the rows of features both came from."""

    question: Question
    ranked: tuple[Scored, ...]
    confidence: float
    on_topic: float  # the probability that the question is about the corpus's subject
    answer_features: Any = None
    topic_features: Any = None


@dataclass(frozen=True)
class Candidates:
    """A question's candidate passages, and a row of SENTENCE_FEATURES per sentence."""

    question: Question
    hits: tuple[Hit, ...]
    rows: tuple[Any, ...]  # NDArray per hit


def judge(candidates: Candidates, model: AnswerModel) -> Judged:
    """Every candidate passage scored by ``model``, best first (of overlapping windows, the
    better one), and the confidence that the first one answers."""
    hits, rows = candidates.hits, candidates.rows
    # One product for every sentence of every candidate, split back per candidate.
    every = model.sentence.logit(np.vstack(rows)) if rows else np.zeros(0)
    bounds = np.cumsum([0, *(len(r) for r in rows)])
    logits = [every[a:b] for a, b in itertools.pairwise(bounds)]
    ranked: list[Scored] = []
    strongest = [float(x.max()) if len(x) else -np.inf for x in logits]
    for i in sorted(range(len(hits)), key=lambda i: -strongest[i]):
        if not any(overlaps(hits[i].passage, s.hit.passage) for s in ranked):
            ranked.append(Scored(hits[i], rows[i], logits[i]))
    if not ranked:
        return Judged(candidates.question, (), 0.0, 0.0)
    best = ranked[0].logit
    rival = max((s.logit for s in ranked[1:]), default=best - RIVAL_ABSENT)
    row = answer_row(candidates.question, best, rival)
    topic = topic_row(candidates.question, rows)
    return Judged(candidates.question, tuple(ranked),
                  float(sigmoid(model.answer.logit(row[None])[0])),
                  float(sigmoid(model.topic.logit(topic[None])[0])), row, topic)
