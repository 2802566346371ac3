"""What speaks for and against an answer, as numbers.

Two levels, one per model (``bot.answerability.model``):

- ``SENTENCE_FEATURES``, one row per candidate sentence: does this sentence answer the
  question? Similarity and term coverage speak for it; a kind of answer it lacks, a name or a
  time its paragraph never mentions speak against it. The sentence model ranks sentences,
  and a passage by its best sentence.
- ``READING_FEATURES``, one row per candidate sentence: its prior (the sentence model's
  log-odds) beside what the reader (``bot.reader``) made of it, when it was read.
- ``ANSWER_FEATURES``, one row per question, from the best sentence and the field it beat:
  is that best sentence really an answer? Its score, its lead over the best other passage,
  how much of the question the corpus knows at all, and the reader's strongest reading.

Nothing here decides: a name the passage lacks or a year it doesn't mention is a feature
with a fitted weight, not a veto."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from bot.answerability.vocabulary import ALIAS, EXACT, Vocabulary
from bot.lexicon import Lexicon
from bot.qtype import AnswerType, expected_type, role_word, supplies
from bot.text import fold, split_hashtags, stemmer

SENTENCE_FEATURES = (
    "similarity",  # cosine of the sentence (late-chunked) and the question
    "similarity_gap",  # minus the best similarity among the candidates (≤ 0)
    "centred",  # the same cosine with the document's mean vector taken out of both
    "centred_gap",  # minus the best centred similarity among the candidates (≤ 0)
    "coverage",  # share of the question's words in the sentence, same stem, weighted by
    # their IDF in the sentence's own document
    "coverage_expanded",  # ... counting synonyms, demonyms, typos and short forms too
    "coverage_gap",  # expanded coverage minus the best among the candidates (≤ 0)
    "block_coverage",  # expanded coverage by the sentence's whole paragraph
    "lexical",  # the passage's BM25 score over the best candidate's (0..1)
    "type_missing",  # the question asks for a number/time/name the sentence lacks
    "names_missing",  # share of the question's names its paragraph never mentions
    "time_conflict",  # the question gives a time its paragraph doesn't
    "role_missing",  # "who is the CEO of X" and the passage never says CEO
    "introduces",  # the sentence ends in a colon: it introduces what follows
)
# A sentence's prior (the sentence model's log-odds), beside what the reader made of it.
READING_FEATURES = (
    "prior",  # the sentence model's log-odds
    "reader",  # the reader's log-odds that it answers; 0 when it was not read
    "unread",  # 1 when the sentence was not among those read (its prior was too low)
)
ANSWER_FEATURES = (
    "sentence_logit",  # the reading model's log-odds for the best sentence
    "margin",  # ... minus those of the best sentence in another passage
    "known",  # share of the question's words (IDF-weighted) the corpus has, or a synonym
    "reader",  # the reader's highest log-odds for any sentence read
)
# Is the question about the corpus's subject at all? Off-topic questions (the weather,
# arithmetic) are never quoted, not even tentatively.
TOPIC_FEATURES = (
    "best_similarity",  # the highest cosine any candidate sentence reaches
    "known",
    "best_coverage",  # the highest expanded coverage any candidate sentence reaches
    "names_unknown",  # share of the question's names the corpus never mentions
    "reader",  # the reader's highest log-odds for any sentence read
)

T = TypeVar("T")
_WORD = re.compile(r"[\w&'’.-]*\w")
_NAME_RUN = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w’'&.-]*(?: [A-Z][\w’'&.-]*)*")
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november"
           "|december")
_TIME = re.compile(
    rf"\b(1[5-9]\d\d|20\d\d)s?\b|\b({_MONTHS})\b|\b[hq][1-4]\b"
    r"|\b(first|second|third|fourth|last|next|this|previous|past|coming) "
    r"(half|quarter|year|month|week|decade)\b"
)


@dataclass(frozen=True)
class Word:
    """A content word of the question: its IDF weight and the corpus stems it can mean."""

    weight: float  # over the whole corpus; ``Question.weights_in`` gives it in one document
    stem: str
    exact: frozenset[str]  # its own stem, when the corpus has it
    expanded: frozenset[str]  # with synonyms, typos and short forms
    known: bool  # the corpus has it or a synonym of it (typos aside: too loose to count)


@dataclass(frozen=True)
class Question:
    """What a question asks, analysed once against the corpus's vocabulary."""

    text: str
    kind: AnswerType
    words: tuple[Word, ...]
    names: tuple[frozenset[str], ...]  # per name it gives, the corpus stems it can mean
    role: frozenset[str] | None  # "who is the CEO of X": the stems "CEO" can mean
    times: frozenset[str]  # the time expressions it gives ("2018", "second half")

    def weights_in(self, lexicon: Lexicon) -> tuple[float, ...]:
        """Each word's weight by its rarity in ``lexicon`` (a document's term counts)."""
        return tuple(_weight(w.stem, w.expanded, lexicon) for w in self.words)


def analyse(question: str, vocabulary: Vocabulary, lexicon: Lexicon,
            searched: str | None = None) -> Question:
    """``question`` decides the kind of answer, names, role and time; ``searched`` (the
    question with the one it follows, for a follow-up) gives the words to cover."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    tokens = _WORD.findall(searched or question)
    words = []
    for i, token in enumerate(tokens):
        folded = fold(token).strip("'’.")
        if not folded or (folded in STOPWORDS_EN_PLUS and not _shouted(token)):
            continue
        matches = vocabulary.matches(token, tokens[i + 1] if i + 1 < len(tokens) else "")
        stem = stemmer().stemWord(folded)
        words.append(Word(
            _weight(stem, matches, lexicon),
            stem,
            frozenset(m for m, how in matches.items() if how == EXACT),
            frozenset(matches),
            any(how in (EXACT, ALIAS) for how in matches.values()),
        ))
    names = tuple(_name_stems(run, vocabulary) for run in _names(question))
    role = role_word(question)
    role_stems = None
    if role is not None:
        role_stems = frozenset(m for m, how in vocabulary.matches(role).items()
                               if how in (EXACT, ALIAS)) | {stemmer().stemWord(role)}
    return Question(question, expected_type(question), tuple(words), names, role_stems,
                    times_in(question))


def _weight(stem: str, matches: Iterable[str], lexicon: Lexicon) -> float:
    """A word the corpus lacks but matches through a synonym or typo weighs as what it
    matches; one that matches nothing weighs as the rarest word."""
    known = [m for m in matches if m in lexicon.df]
    return (lexicon.idf(stem) if stem in lexicon.df or not known
            else max(lexicon.idf(m) for m in known))


@dataclass(frozen=True)
class Candidate:
    """A passage to judge: its sentences with their similarities, its BM25 score, its
    whole paragraph (with the paragraph introducing it), and its document's term counts
    (None: the question's own weights, over the whole corpus)."""

    sentences: Sequence[str]
    similarity: Sequence[float]
    centred: Sequence[float]
    lexical: float
    block: str
    lexicon: Lexicon | None = None


def sentence_rows(question: Question, candidates: Sequence[Candidate]
                  ) -> list[NDArray[np.float64]]:
    """One matrix per candidate: a row of ``SENTENCE_FEATURES`` per sentence."""
    best_lexical = max((c.lexical for c in candidates), default=0.0)
    own = _Weights.of(question, tuple(w.weight for w in question.words))
    in_document: dict[int, _Weights] = {}  # by the id of a document's counts
    raw: list[list[float]] = []
    for c in candidates:
        if c.lexicon is None:
            weights = own
        else:
            if id(c.lexicon) not in in_document:
                in_document[id(c.lexicon)] = _Weights.of(question,
                                                         question.weights_in(c.lexicon))
            weights = in_document[id(c.lexicon)]
        block = stems_of(c.block)
        block_coverage = weights.coverage(block, expanded=True)
        names_missing = _share(question.names, _absent_from(block))
        time_conflict = float(bool(question.times) and not question.times & times_in(c.block))
        role_missing = float(question.role is not None
                             and not question.role & stems_of(" ".join(c.sentences)))
        lexical = c.lexical / best_lexical if best_lexical > 0 else 0.0
        for text, similarity, centred in zip(c.sentences, c.similarity, c.centred,
                                             strict=True):
            found = stems_of(text)
            raw.append([
                similarity, 0.0, centred, 0.0,
                weights.coverage(found, expanded=False),
                weights.coverage(found, expanded=True), 0.0,
                block_coverage, lexical,
                float(question.kind is not AnswerType.ANY
                      and not supplies(text, question.kind, question.text)),
                names_missing, time_conflict, role_missing,
                float(text.rstrip().endswith(":")),
            ])
    matrix = np.asarray(raw, dtype=np.float64).reshape(-1, len(SENTENCE_FEATURES))
    if len(matrix):
        for gap, of in ((1, 0), (3, 2), (6, 5)):
            matrix[:, gap] = matrix[:, of] - matrix[:, of].max()
    bounds = np.cumsum([0, *(len(c.sentences) for c in candidates)])
    return [matrix[a:b] for a, b in itertools.pairwise(bounds)]


def answer_row(question: Question, logit: float, rival: float, reader: float
               ) -> NDArray[np.float64]:
    """The row of ``ANSWER_FEATURES`` for the best sentence (log-odds ``logit``), the best in
    another passage (``rival``) and the reader's highest log-odds (``reader``)."""
    return np.array([logit, logit - rival, _known(question), reader], dtype=np.float64)


def topic_row(question: Question, rows: Sequence[NDArray[np.float64]], reader: float
              ) -> NDArray[np.float64]:
    """The row of ``TOPIC_FEATURES``, from every candidate sentence's row and the reader's
    highest log-odds."""
    every = np.vstack(rows) if rows else np.zeros((1, len(SENTENCE_FEATURES)))
    at = SENTENCE_FEATURES.index
    return np.array([every[:, at("similarity")].max(), _known(question),
                     every[:, at("coverage_expanded")].max(),
                     _share(question.names, lambda n: not n), reader], dtype=np.float64)


def _known(question: Question) -> float:
    return 1.0 - _share(question.words, lambda w: not w.known, weight=lambda w: w.weight)


def _absent_from(found: frozenset[str]) -> Callable[[frozenset[str]], bool]:
    return lambda name: not name & found


@dataclass(frozen=True)
class _Weights:
    """The question's words with their weights in one document, as every candidate
    sentence's coverage reads them: the stems each can match, exactly or expanded."""

    exact: tuple[tuple[frozenset[str], float], ...]
    expanded: tuple[tuple[frozenset[str], float], ...]
    total: float

    @classmethod
    def of(cls, question: Question, weights: Sequence[float]) -> _Weights:
        return cls(tuple(zip((w.exact for w in question.words), weights, strict=True)),
                   tuple(zip((w.expanded for w in question.words), weights, strict=True)),
                   sum(weights))

    def coverage(self, found: frozenset[str], expanded: bool) -> float:
        """The share of the question's words, by weight, that ``found`` holds."""
        if self.total <= 0:
            return 0.0
        held = 0.0
        for stems, weight in self.expanded if expanded else self.exact:
            if not stems.isdisjoint(found):
                held += weight
        return held / self.total


def _share(items: Sequence[T], missing: Callable[[T], bool],
              weight: Callable[[T], float] = lambda _: 1.0) -> float:
    """The (weighted) share of ``items`` that are ``missing``; 0 when there are none."""
    total = sum(weight(i) for i in items)
    return sum(weight(i) for i in items if missing(i)) / total if total > 0 else 0.0


def _shouted(token: str) -> bool:
    """"US", "FB", "PRC": capitals that are a name, even where the lower case is a stopword."""
    return len(token) >= 2 and token.isupper()


def _names(question: str) -> list[str]:
    """Runs of capitalised words that don't open the question, and words in capitals."""
    runs = _NAME_RUN.findall(question)
    joined = " ".join(runs)
    return runs + [t for t in _WORD.findall(question) if _shouted(t) and t not in joined]


def _name_stems(run: str, vocabulary: Vocabulary) -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    tokens = [t for t in _WORD.findall(run) if _shouted(t) or fold(t) not in STOPWORDS_EN_PLUS]
    found: set[str] = set()
    for i, token in enumerate(tokens):
        found.update(vocabulary.matches(token, tokens[i + 1] if i + 1 < len(tokens) else ""))
    return frozenset(found)


@lru_cache(maxsize=16384)
def stems_of(text: str) -> frozenset[str]:
    """Every word's stem, stopwords included (the question side drops its own); a hashtag
    also as the words it joins."""
    stem = stemmer().stemWord
    return frozenset(stem(fold(w).strip("'’.")) for w in _WORD.findall(split_hashtags(text)))


@lru_cache(maxsize=16384)
def times_in(text: str) -> frozenset[str]:
    return frozenset(m.group(0) for m in _TIME.finditer(fold(text)))
