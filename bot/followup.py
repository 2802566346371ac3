"""Follow-up questions in a conversation: "and how much of it came from China?" after a
revenue question is searched together with the question it follows.

A question is a follow-up when it leans on what came before: it opens with a connective
("and", "what about") or refers back with a pronoun ("it", "they", "that") and names
nothing new of its own. Its search text is then the previous question plus itself; the
question itself still decides what kind of answer is wanted."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.text import fold

_CONNECTIVE = re.compile(
    r"^(and|but|also|so|then|or|plus|what about|how about|and what about|what else|why|how come)"
    r"\b"
)
_BACK_REFERENCE = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|that|this|those|these|he|him|his|she|her|there"
    r"|the same|the company|the app)\b"
)
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w'’-]+")


def is_followup(question: str) -> bool:
    folded = fold(question)
    if _CONNECTIVE.match(folded):
        return True
    return bool(_BACK_REFERENCE.search(folded)) and not _NAME.search(question.strip())


def search_text(question: str, history: Sequence[str]) -> str:
    """What to search for: the question alone, or after the last question it follows."""
    if history and is_followup(question):
        return f"{history[-1]} {question}"
    return question
