"""How rare each term is among the index's sentences: the weights of term coverage (the
IDF-weighted share of a question's words a sentence holds, ``bot.answerability.features``).
A sentence that repeats a question's rare words ("growing really quickly") is evidence even
when its embedding is far from the question's because it leans on a pronoun ("It's growing
really quickly in India").

Terms are counted over the whole corpus and within each document. A sentence's words are
weighed by their rarity in its own document, so adding a document leaves the weights, and
so the answers, of the others as they were."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Lexicon:
    sentences: int
    df: Mapping[str, int]  # stemmed term → how many sentences hold it
    documents: Mapping[str, Lexicon] = field(default_factory=dict)  # the same, per document

    @classmethod
    def of(cls, sentence_terms: Iterable[frozenset[str]]) -> Lexicon:
        df: Counter[str] = Counter()
        n = 0
        for found in sentence_terms:
            df.update(found)
            n += 1
        return cls(n, dict(df))

    @classmethod
    def by_document(cls, sentence_terms: Iterable[tuple[str, frozenset[str]]]) -> Lexicon:
        """Counts over ``(document id, terms)`` sentences, whole and per document."""
        per: defaultdict[str, list[frozenset[str]]] = defaultdict(list)
        for doc, found in sentence_terms:
            per[doc].append(found)
        whole = cls.of(found for sentences in per.values() for found in sentences)
        return cls(whole.sentences, whole.df,
                   {doc: cls.of(sentences) for doc, sentences in per.items()})

    def of_document(self, doc_id: str) -> Lexicon:
        """The counts within one document; the corpus's when none are kept for it."""
        return self.documents.get(doc_id, self)

    def idf(self, term: str) -> float:
        """BM25's IDF, never negative; a term no sentence holds gets the highest weight."""
        df = self.df.get(term, 0)
        return math.log((self.sentences - df + 0.5) / (df + 0.5) + 1.0)

    def to_json(self) -> dict[str, Any]:
        return {"sentences": self.sentences, "df": self.df,
                "documents": {doc: {"sentences": d.sentences, "df": d.df}
                              for doc, d in self.documents.items()}}

    @classmethod
    def from_json(cls, table: Mapping[str, Any]) -> Lexicon:
        def counts(t: Mapping[str, Any]) -> Lexicon:
            return cls(int(t["sentences"]), {str(term): int(n) for term, n in t["df"].items()})

        whole = counts(table)
        return cls(whole.sentences, whole.df,
                   {str(doc): counts(t) for doc, t in table["documents"].items()})
