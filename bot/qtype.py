"""The kind of answer a question asks for, and whether a sentence can supply it.

Classic answer typing: a "how many" question is answered by a number, a "when" question by
a time, a "who" question by a name. A sentence that is similar to the question but holds no
answer of that kind is less likely to answer it ("What year did X launch?" and a sentence
about X that names no year): the answerability model weighs this with the rest of the
evidence (``bot.answerability.features``). Questions of no clear type accept any sentence."""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

from bot.text import fold


class AnswerType(Enum):
    ANY = "any"
    NUMBER = "number"
    TIME = "time"
    YEAR = "year"
    NAME = "name"


_QUANTITY_NOUNS = (
    "population|number|amount|price|cost|revenue|income|profit|size|percentage|percent|share"
    "|age|height|weight|length|distance|value|worth|total|count|salary|budget|valuation|rate"
)
_RULES: list[tuple[re.Pattern[str], AnswerType]] = [
    (re.compile(r"\b(what|which|in what|in which) year\b"), AnswerType.YEAR),
    (re.compile(r"^(since )?when\b|\bwhat (date|time|day|month)\b|\bhow long ago\b"),
     AnswerType.TIME),
    (re.compile(r"^how (many|much|old|big|large|long|far|tall|often)\b"), AnswerType.NUMBER),
    (re.compile(rf"^(what|which)('s| is| was| are| were) ((the|its|their|his|her) )?"
                rf"([\w.&-]+'s )?(\w+ )?({_QUANTITY_NOUNS})\b"), AnswerType.NUMBER),
    (re.compile(r"^(who|whom|whose|where)\b"), AnswerType.NAME),
]

_NUMBER_WORDS = (
    "two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty"
    "|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion"
    "|dozen|dozens|half|quarter|double|triple|twice"
)
_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b")
# "What year" asks for a year by number; "this year" does not say which one.
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b")
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
)
_TIME = re.compile(
    rf"\b(1[5-9]\d\d|20\d\d)s?\b|\b({_MONTHS}|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday|yesterday|today|tomorrow|recently|ago|decade|century|spring|summer"
    r"|autumn|fall|winter)\b|\b(last|this|next|that|the same) (week|month|year|quarter)\b"
)
# A capitalised word that is not the sentence's first word: a name, an organisation, a place.
_CAPITALISED = re.compile(r"(?<=[\s(\"“‘'-])([A-Z][\w’'&.-]*[\w])")
_WORD = re.compile(r"\w+")
_KIND_PATTERNS = {AnswerType.NUMBER: _NUMBER, AnswerType.YEAR: _YEAR, AnswerType.TIME: _TIME}


# "Who is the CEO of X?", "Who is X's founder?": the role asked about.
_ROLE = re.compile(
    r"^(who|whom) (is|was|are|were) (the |a |an )?([\w.&-]+('s|’s) )?(?P<role>[\w -]+?)"
    r"( of .*| at .*| for .*| in .*)?\W*$"
)


def role_word(question: str) -> str | None:
    """The head word of the role a "who is the N of X" question asks about, if any."""
    match = _ROLE.match(fold(question))
    return match.group("role").split()[-1] if match else None


def expected_type(question: str) -> AnswerType:
    folded = fold(question)
    for pattern, kind in _RULES:
        if pattern.search(folded):
            return kind
    return AnswerType.ANY


def supplies(sentence: str, kind: AnswerType, question: str) -> bool:
    """True when ``sentence`` holds an answer of ``kind`` that the question does not."""
    if kind is AnswerType.ANY:
        return True
    if kind is AnswerType.NAME:
        asked = _words(question)
        return any(name - asked for name in _names_in(sentence))
    return _holds(sentence, kind)


# Every candidate sentence is checked for every question: what depends on the sentence
# alone is worked out once per sentence.
@lru_cache(maxsize=16384)
def _holds(sentence: str, kind: AnswerType) -> bool:
    return _KIND_PATTERNS[kind].search(fold(sentence)) is not None


@lru_cache(maxsize=16384)
def _names_in(sentence: str) -> tuple[frozenset[str], ...]:
    """The words of each capitalised name in ``sentence``, folded."""
    return tuple(_words(m) for m in _CAPITALISED.findall(sentence))


@lru_cache(maxsize=1024)
def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(fold(text)))
