"""Plain-text rendering of an ``Answer`` for the terminal (CLI and REPL)."""

from __future__ import annotations

import textwrap

from bot.answer import Answer, Excerpt

NOT_COVERED = "The article doesn't say."
UNSURE = "I'm not sure the article answers this. The closest passage is:"
TAUGHT = "(A taught answer: an operator, or readers who agreed, chose these passages.)"
INDENT = "    "
PLAIN_MARKS = ("**", "**")
BOLD_MARKS = ("\x1b[1m", "\x1b[22m")


def render_answer(answer: Answer, bold: bool = False, width: int = 88,
                  first_number: int = 1) -> str:
    """Each excerpt's citation, then the quote with its answering sentence marked (bold on
    a terminal, **starred** elsewhere). A tentative answer says first that it is unsure;
    without excerpts, a plain "the article doesn't say"."""
    if not answer.excerpts:
        return NOT_COVERED
    quotes = "\n\n".join(render_excerpt(n, e, bold, width)
                          for n, e in enumerate(answer.excerpts, start=first_number))
    if answer.tentative and first_number == 1:
        return f"{UNSURE}\n\n{quotes}"
    return f"{quotes}\n{TAUGHT}" if answer.taught else quotes



def render_excerpt(number: int, excerpt: Excerpt, bold: bool = False, width: int = 88) -> str:
    before, sentence, after = (" ".join(part.split()) for part in excerpt.parts())
    # Wrap with ** around the sentence, then swap in escape codes, so widths stay right.
    marked = f"**{sentence}**" if sentence else ""
    quote = "“" + " ".join(p for p in (before, marked, after) if p) + "”"
    body = textwrap.fill(quote, width=width, initial_indent=INDENT, subsequent_indent=INDENT,
                         break_long_words=False, break_on_hyphens=False)
    if bold and sentence:
        body = body.replace("**", BOLD_MARKS[0], 1).replace("**", BOLD_MARKS[1], 1)
    source = f" <{excerpt.url}>" if excerpt.url else ""
    return f"[{number}] {excerpt.citation}{source}\n{body}"
