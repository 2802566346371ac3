"""SQuAD 2.0's development set, as published on the SQuAD explorer's pages, → the reader's
training format (``bot.reader.data``).

The source is a copy of the public repository ``rajpurkar/SQuAD-explorer``: its ``gh-pages``
branch holds one page per article under ``explore/v2.0/dev/`` (read with ``git show``, so no
work tree is needed), or a folder holding those pages. Each paragraph is a ``<pre>``,
followed by its questions (``class="question"``) and the crowd's answers
(``class="answer"``), or ``class="no-answer"`` for the deliberately unanswerable ones.
Licence: CC BY-SA 4.0 (``training/NOTICE``)."""

from __future__ import annotations

import logging
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BotError
from bot.reader.data import KEPT, QA, Gold, Paragraph, roles
from bot.text import sentence_spans

logger = logging.getLogger(__name__)

PAGES = "explore/v2.0/dev"
BRANCH = "gh-pages"


@dataclass(frozen=True)
class Converted:
    paragraphs: list[Paragraph]
    questions: int
    unanswerable: int
    dropped: int  # answerable questions none of whose answers is found in the paragraph


def convert(source: Path, log: Callable[[str], None] = logger.info) -> Converted:
    """Every article of the SQuAD 2.0 dev pages at ``source`` except ``KEPT``."""
    pages = _pages(source)
    assigned = roles(pages)
    paragraphs: list[Paragraph] = []
    dropped = 0
    for article in sorted(assigned):
        found, lost = parse_page(article, pages[article](), assigned[article])
        paragraphs.extend(found)
        dropped += lost
        log(f"{article}: {len(found)} paragraphs, "
            f"{sum(len(p.questions) for p in found)} questions ({assigned[article]})")
    if not paragraphs:  # never write an empty file over the data there
        raise BotError(f"no SQuAD 2.0 paragraphs found in {source} ({len(pages)} pages): "
                       "give a copy of rajpurkar/SQuAD-explorer or a folder of its "
                       "explore/v2.0/dev pages")
    questions = [q for p in paragraphs for q in p.questions]
    return Converted(paragraphs, len(questions), sum(q.unanswerable for q in questions),
                     dropped)


def parse_page(article: str, html: bytes, role: str) -> tuple[list[Paragraph], int]:
    """One article's paragraphs, and how many answerable questions were dropped."""
    import lxml.html

    tree = lxml.html.fromstring(html)
    paragraphs, dropped = [], 0
    for number, wrap in enumerate(tree.xpath('//div[@class="para-wrap"]'), start=1):
        pre = wrap.xpath(".//pre")
        if not pre:
            continue
        text = pre[0].text_content().strip()
        questions = []
        for qa in wrap.xpath('.//div[@class="qa-wrap"]'):
            question = " ".join(qa.xpath('.//strong[@class="question"]')[0]
                                .text_content().split())
            unanswerable = bool(qa.xpath('.//span[@class="no-answer"]'))
            answers = () if unanswerable else _located(
                text, [a.text_content().strip() for a in qa.xpath('.//span[@class="answer"]')])
            if not unanswerable and not answers:
                dropped += 1
                continue
            questions.append(QA(str(qa.get("data-id")), question, unanswerable, answers))
        paragraphs.append(Paragraph(article, number, role,  # type: ignore[arg-type]
                                    text, tuple(sentence_spans(text)), tuple(questions)))
    return paragraphs, dropped


def _located(text: str, answers: list[str]) -> tuple[Gold, ...]:
    """The distinct answers, most given first, each at its first occurrence in ``text``
    (case-insensitively if it is not there as written); those not found are left out."""
    located = []
    folded = text.casefold()
    for answer, _ in Counter(a for a in answers if a).most_common():
        at = text.find(answer)
        if at < 0:
            at = folded.find(answer.casefold())
        if at >= 0:
            located.append(Gold(text[at : at + len(answer)], at))
    return tuple(located)


def _pages(source: Path) -> dict[str, Callable[[], bytes]]:
    """Article name → a function reading its page, from a git repository's ``gh-pages``
    branch or from a folder of ``.html`` pages."""
    if (source / ".git").exists() or (source / "HEAD").is_file():
        listing = _git(source, "ls-tree", "--name-only", f"{BRANCH}:{PAGES}/").decode()
        names = [n for n in listing.split() if n.endswith(".html") and n != "index.html"]
        return {n.removesuffix(".html"): _shown(source, f"{BRANCH}:{PAGES}/{n}")
                for n in names}
    if source.is_dir():
        return {p.stem: p.read_bytes for p in sorted(source.glob("*.html"))
                if p.name != "index.html"}
    raise BotError(f"{source} is neither a copy of rajpurkar/SQuAD-explorer nor a folder of "
                   "its explore/v2.0/dev pages")


def _shown(repo: Path, name: str) -> Callable[[], bytes]:
    return lambda: _git(repo, "show", name)


def _git(repo: Path, *args: str) -> bytes:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], check=True,
                              capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", b"") or b""
        raise BotError(f"cannot read the SQuAD pages from {repo} ({args[-1]}): "
                       f"{detail.decode(errors='replace').strip() or err}") from None


__all__ = ["KEPT", "Converted", "convert", "parse_page"]
