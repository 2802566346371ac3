"""Hits → ``Answer``: cited excerpts with the answering sentence marked, one of three ways.

The answerability model (``bot.answerability``) gives every candidate sentence a prior; the
reader (``bot.reader``) reads the sentences with the best priors beside the question, for
every question of a batch in one pass; the model then ranks the passages by their best
sentence and gives the best one a confidence. Confident: the passages are quoted
(``answered``), the answer's words marked when the reader found them. Unsure: the closest
passage is quoted as such (``tentative``). Otherwise: "the article doesn't say" (``none``)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
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
from bot.reader.pairs import Pair
from bot.reader.runtime import PairReader, Reading
from bot.retriever import Hit, Retriever, overlaps
from bot.teaching import TaughtHolder
from bot.text import has_word, normalize, undecodable

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
    # Source offsets of the answer's words inside the marked sentence, as the reader's span
    # head read them ("more than $7 billion"); None when the sentence was not read. Given in
    # JSON only: right in a third of cases (docs/reader.md), too few to show above a quote.
    answer: tuple[int, int] | None = None

    @property
    def answer_text(self) -> str | None:
        if self.answer is None:
            return None
        return self.text[self.answer[0] - self.start : self.answer[1] - self.start]

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
                    "answer": list(e.answer) if e.answer else None,
                    "answer_text": e.answer_text,
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
    if undecodable(raw):
        raise InvalidQuestion("the question is not valid UTF-8 text")
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
    # None: nothing is read, every sentence is judged on its prior (fitting starts so).
    reader: PairReader | None = None

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
        """Answers in order, with one batched encode and one batched reading for all
        questions. Raises InvalidQuestion for the first question that cannot be searched."""
        cleaned = [clean_question(q, self.max_question_chars) for q in questions]
        histories = histories or [()] * len(cleaned)
        searches = [self._search_text(q, h) for q, h in zip(cleaned, histories, strict=True)]
        vectors = self.retriever.encode(searches)
        limit = limit or self.top_k
        taught = self.taught.current
        found: list[tuple[Candidates, bool]] = []
        for question, search, vector in zip(cleaned, searches, vectors, strict=True):
            match = taught.match(search, vector) if taught is not None else None
            if match is not None:
                hits = [self.retriever.hit(row, vector) for row in match.rows]
                found.append((self._candidates(question, search, hits), True))
            else:
                found.append((self.candidates(question, search, vector), False))
        judged = self.judge_many([c for c, _ in found])
        return [self._answer(j, offset, limit, taught=t)
                for j, (_, t) in zip(judged, found, strict=True)]

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
        # The reader reads the question as it was asked, or as searched when a follow-up
        # takes its subject from the question before it; a question about the whole
        # article is answered by the title's passages, whatever it reads.
        read_as = question if is_overview(question) else search
        return Candidates(asked, tuple(hits), tuple(rows), read_as)

    def judge_many(self, candidates: Sequence[Candidates]) -> list[Judged]:
        """Each question's candidates judged: priors, then the best ``model.read`` of each
        question read by the reader, all questions' sentences in one pass."""
        plans = [plan_reading(c, self.model) for c in candidates]
        pairs = [self.reading_pair(c, position) for c, plan in zip(candidates, plans, strict=True)
                 for position in plan.chosen]
        readings = iter(self.reader.read(pairs) if self.reader is not None and pairs else [])
        judged = []
        for c, plan in zip(candidates, plans, strict=True):
            if self.reader is None:
                read: dict[SentenceKey, Reading] = {}
            else:
                read = {plan.keys[p]: next(readings) for p in plan.chosen}
            judged.append(judge(c, self.model, plan, read))
        return judged

    def reading_pair(self, candidates: Candidates, position: int) -> Pair:
        """What the reader reads for flat sentence ``position`` of ``candidates``."""
        hit, i = candidates.locate(position)
        return Pair(candidates.read_as, hit.sentences[i],
                    self.index.sentence_before(hit.passage, i))

    def _answer(self, judged: Judged, offset: int, limit: int, taught: bool) -> Answer:
        question = judged.question.text
        page: Sequence[Scored]
        if taught:
            page = judged.ranked[offset : offset + limit]
            return Answer(question, Outcome.ANSWERED, tuple(self._excerpt(s) for s in page),
                          judged.confidence, has_more=len(judged.ranked) > offset + len(page),
                          taught=True)
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
        judged = self.judge_many([self.candidates(question, question, vector)])[0]
        return [self._excerpt(s) for s in judged.ranked[:count]]

    def _search_text(self, question: str, history: Sequence[str]) -> str:
        """A question about the whole article is searched as its title; a follow-up
        together with the question it follows; any other question as it is."""
        if is_overview(question):
            return " ".join(d.title for d in self.index.manifest.documents)
        return search_text(question, history)

    def _excerpt(self, scored: Scored) -> Excerpt:
        passage = scored.hit.passage
        doc = self.index.document(passage.doc_id)
        marked = scored.marked
        highlight = passage.sentences[marked]
        reading = scored.readings[marked]
        answer = None
        if reading is not None and reading.span is not None:
            answer = (highlight[0] + reading.span[0], highlight[0] + reading.span[1])
        return Excerpt(
            passage_id=passage.id,
            doc=passage.doc_id,
            title=doc.title,
            paragraph=passage.paragraph,
            start=passage.start,
            end=passage.end,
            text=passage.text,
            score=scored.probability,
            highlight=highlight,
            url=doc.url,
            answer=answer,
        )


SentenceKey = tuple[str, int, int]  # a sentence of the corpus: document, source span


@dataclass(frozen=True)
class Scored:
    """A candidate passage with its sentences' features, readings and log-odds."""

    hit: Hit
    rows: Any  # NDArray: a row of SENTENCE_FEATURES per sentence
    logits: Any  # NDArray: the reading model's log-odds per sentence
    readings: tuple[Reading | None, ...] = ()  # per sentence, when the reader read it

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
    read_as: str = ""  # the question as the reader reads it

    @cached_property
    def bounds(self) -> Any:
        """Where each hit's sentences start in the flat list of every candidate sentence."""
        return np.cumsum([0, *(len(r) for r in self.rows)])

    def locate(self, position: int) -> tuple[Hit, int]:
        """The hit and sentence number of flat sentence ``position``."""
        h = int(np.searchsorted(self.bounds, position, side="right")) - 1
        return self.hits[h], position - int(self.bounds[h])


@dataclass(frozen=True)
class Plan:
    """What the reader should read for one question: every candidate sentence's prior and
    key (flat, in the hits' order), and the positions chosen, best prior first."""

    prior: Any  # NDArray
    keys: tuple[SentenceKey, ...]
    chosen: tuple[int, ...]


def plan_reading(candidates: Candidates, model: AnswerModel) -> Plan:
    """The ``model.read`` sentences with the best priors, each sentence once (overlapping
    windows share sentences)."""
    rows = candidates.rows
    prior = model.sentence.logit(np.vstack(rows)) if rows else np.zeros(0)
    keys = tuple((h.passage.doc_id, s, e) for h in candidates.hits for s, e in h.passage.sentences)
    chosen: list[int] = []
    seen: set[SentenceKey] = set()
    for position in np.argsort(-prior, kind="stable"):
        key = keys[int(position)]
        if key not in seen:
            seen.add(key)
            chosen.append(int(position))
            if len(chosen) == model.read:
                break
    return Plan(prior, keys, tuple(chosen))


def judge(candidates: Candidates, model: AnswerModel, plan: Plan | None = None,
          readings: Mapping[SentenceKey, Reading] | None = None) -> Judged:
    """Every candidate passage scored by ``model``, best first (of overlapping windows, the
    better one), and the confidence that the first one answers. ``readings``: what the
    reader made of the sentences it read (none: each sentence judged on its prior)."""
    hits, rows = candidates.hits, candidates.rows
    plan = plan or plan_reading(candidates, model)
    readings = readings or {}
    found = [readings.get(k) for k in plan.keys]
    reader = np.array([r.logit if r is not None else 0.0 for r in found])
    unread = np.array([r is None for r in found], dtype=np.float64)
    # One product for every sentence of every candidate, split back per candidate.
    every = (model.reading.logit(np.column_stack([plan.prior, reader, unread]))
             if len(found) else np.zeros(0))
    bounds = candidates.bounds
    logits = [every[a:b] for a, b in itertools.pairwise(bounds)]
    ranked: list[Scored] = []
    strongest = [float(x.max()) if len(x) else -np.inf for x in logits]
    for i in sorted(range(len(hits)), key=lambda i: -strongest[i]):
        if not any(overlaps(hits[i].passage, s.hit.passage) for s in ranked):
            ranked.append(Scored(hits[i], rows[i], logits[i],
                                 tuple(found[bounds[i] : bounds[i + 1]])))
    if not ranked:
        return Judged(candidates.question, (), 0.0, 0.0)
    best = ranked[0].logit
    rival = max((s.logit for s in ranked[1:]), default=best - RIVAL_ABSENT)
    strongest_reading = max((r.logit for r in readings.values()), default=0.0)
    row = answer_row(candidates.question, best, rival, strongest_reading)
    topic = topic_row(candidates.question, rows, strongest_reading)
    return Judged(candidates.question, tuple(ranked),
                  float(sigmoid(model.answer.logit(row[None])[0])),
                  float(sigmoid(model.topic.logit(topic[None])[0])), row, topic)
