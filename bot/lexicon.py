"""How rare each term is among the index's sentences: the weights of term coverage (the
IDF-weighted share of a question's words a sentence holds, ``bot.answerability.features``).
A sentence that repeats a question's rare words ("growing really quickly") is evidence even
when its embedding is far from the question's because it leans on a pronoun ("It's growing
really quickly in India")."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Lexicon:
    sentences: int
    df: Mapping[str, int]  # stemmed term → how many sentences hold it

    @classmethod
    def of(cls, sentence_terms: Iterable[frozenset[str]]) -> Lexicon:
        df: Counter[str] = Counter()
        n = 0
        for found in sentence_terms:
            df.update(found)
            n += 1
        return cls(n, dict(df))

    def idf(self, term: str) -> float:
        """BM25's IDF, never negative; a term no sentence holds gets the highest weight."""
        df = self.df.get(term, 0)
        return math.log((self.sentences - df + 0.5) / (df + 0.5) + 1.0)
