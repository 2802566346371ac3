"""The index's words, and the words people ask with that mean them.

A question rarely uses the article's words: "FB" for Facebook, "Indian" for India,
"America" for the US, "knockoff" for copycat, "revenu" for revenue. ``Vocabulary`` is built
with the index from the corpus's own words and stored beside it, so answering a question
needs no dictionary: a question word is looked up, and matches corpus terms (stems) by

- ``exact``: the same stem;
- ``alias``: a WordNet synonym, or the country of a demonym ("indian" → india, "prc" →
  china, "america" → us), including phrases ("united states"), and irregular forms
  ("media" → medium);
- ``spelling``: a typo of a corpus word (Damerau-Levenshtein, one edit in five letters),
  two question words written apart ("tik tok"), a short form of a name ("Zuck",
  "Insta"), or an abbreviation whose letters spell a name in order ("FB" → Facebook).

Each match says how it was made; the answerability model weighs the kinds separately."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bot.text import fold, split_hashtags, stemmer

_WORD = re.compile(r"[\w&'’.-]*\w")
EXACT, ALIAS, SPELLING = "exact", "alias", "spelling"


@dataclass(frozen=True)
class Vocabulary:
    forms: Mapping[str, str]  # a word of the corpus, case-folded → its stem
    aliases: Mapping[str, tuple[str, ...]]  # a stem (or stemmed phrase) → corpus stems
    names: tuple[str, ...] = ()  # corpus words written with a capital, case-folded
    _cache: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"forms": dict(self.forms), "aliases": {k: list(v) for k, v in
                                                       self.aliases.items()},
                "names": list(self.names)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Vocabulary:
        return cls({str(k): str(v) for k, v in data["forms"].items()},
                   {str(k): tuple(v) for k, v in data["aliases"].items()},
                   tuple(data.get("names", ())))

    @cached_property
    def stems(self) -> frozenset[str]:
        return frozenset(self.forms.values())

    def matches(self, word: str, following: str = "") -> dict[str, str]:
        """Corpus stems that ``word`` (as typed, case kept) can mean → how each matched.
        ``following`` is the next question word, for phrases and words written apart."""
        key = f"{word} {following}"
        if key not in self._cache:
            self._cache[key] = self._matches(word, following)
        return self._cache[key]

    def _matches(self, word: str, following: str) -> dict[str, str]:
        folded = fold(word).strip("'’.")
        stem = stemmer().stemWord(folded)
        found: dict[str, str] = {}
        for alias in self.aliases.get(stem, ()):
            found[alias] = ALIAS
        if following:
            pair = f"{stem} {stemmer().stemWord(fold(following))}"
            for alias in self.aliases.get(pair, ()):
                found[alias] = ALIAS
            joined = self.forms.get(folded + fold(following))
            if joined:
                found[joined] = SPELLING
        for corpus_stem in self._spellings(folded):
            found.setdefault(corpus_stem, SPELLING)
        if stem in self.stems:
            found[stem] = EXACT
        return found

    def _spellings(self, folded: str) -> Iterable[str]:
        if folded in self.forms or len(folded) < 2:
            return
        if len(folded) >= 5:
            from rapidfuzz.distance import DamerauLevenshtein
            from rapidfuzz.process import extract

            cutoff = 1 if len(folded) < 10 else 2
            for form, _, _ in extract(folded, list(self.forms), limit=3,
                                      scorer=DamerauLevenshtein.distance,
                                      score_cutoff=cutoff):
                yield self.forms[form]
        for name in self.names:
            if _shortens(folded, name):
                yield self.forms[name]


def _shortens(word: str, name: str) -> bool:
    """"zuck" for zuckerberg, "insta" for instagram (a prefix of four letters or more);
    "fb" for facebook, "tt" for tiktok (two to four letters spelling the name in order,
    from its first letter, in a name at least twice as long)."""
    if len(word) >= 4 and len(name) > len(word) and name.startswith(word):
        return True
    if not (2 <= len(word) <= 4 and word.isalpha() and len(name) >= 2 * len(word)):
        return False
    if word[0] != name[0]:
        return False
    rest = iter(name[1:])
    return all(letter in rest for letter in word[1:])


def corpus_words(texts: Iterable[str]) -> tuple[dict[str, str], set[str]]:
    """Every word of ``texts``, case-folded, with its stem; and those written capitalised
    (names: the material for short forms and abbreviations)."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    forms: dict[str, str] = {}
    capitalised: set[str] = set()
    lower: set[str] = set()
    stem = stemmer().stemWord
    for text in texts:
        for word in _WORD.findall(split_hashtags(text)):
            folded = fold(word).strip("'’.")
            if len(folded) < 2 or folded.isdigit():
                continue
            if folded not in forms:
                forms[folded] = stem(folded)
            (capitalised if word[0].isupper() else lower).add(folded)
    # A capitalised word never written in lower case: "Lots" opening a sentence is not one.
    names = {w for w in capitalised - lower
             if len(w) >= 3 and w not in STOPWORDS_EN_PLUS and "'" not in w}
    return forms, names


def build_vocabulary(texts: Iterable[str], cache_dir: Path | None = None) -> Vocabulary:
    """The corpus's words, and WordNet's synonyms of them, keyed by what a question may say.
    ``cache_dir`` keeps WordNet's table between builds (reading it takes seconds)."""
    from bot.answerability.wordnet import stemmed_synonyms

    forms, names = corpus_words(texts)
    stems = set(forms.values())
    aliases = {}
    for key, related in stemmed_synonyms(cache_dir).items():
        targets = tuple(r for r in related if r in stems)
        if targets:
            aliases[key] = targets
    return Vocabulary(forms, aliases, tuple(sorted(names)))
