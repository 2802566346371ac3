"""Questions about the article as a whole ("What is this article about?", "tl;dr"). The
article's own title is its summary, so such a question is searched as the titles: the
passages closest to them are the article's core, quoted and cited like any answer."""

from __future__ import annotations

import re

from bot.text import fold

_DOCUMENT = r"(article|post|blog post|blog|piece|story|text|page|essay|document)s?"
_THE_DOCUMENT = rf"(it|this|that|(this|the) {_DOCUMENT})"
_OVERVIEW = re.compile(
    rf"^(what('s| is| are)|whats) (this|the|these) {_DOCUMENT} (about|saying)\W*$"
    rf"|^what does {_THE_DOCUMENT} (say|talk about|cover|discuss)\W*$"
    rf"|^(please )?(summari[sz]e|sum up|recap)( {_THE_DOCUMENT})?( for me)?( please)?\W*$"
    rf"|^(give me |what('s| is) )?(the |a )?(summary|gist|tl;? ?dr|main points?|overview)"
    rf"( of {_THE_DOCUMENT})?( please)?\W*$"
)


def is_overview(question: str) -> bool:
    return _OVERVIEW.search(fold(question)) is not None
