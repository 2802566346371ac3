"""Text helpers. Segmentation always runs on the source text, so every span is an exact
source offset; normalisation is applied to a segment only when it is matched or embedded."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import Any

import sentencex

# Characters that carry no text: zero-width and bidi controls, BOM, soft hyphen.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    ),
    None,
)
# Typographic quotes fold to ASCII for matching (NFKC keeps them): "TikTok’s" ~ "TikTok's".
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"',
                         "″": '"'})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# A terminal's escape sequences (colours, cursor moves, titles) pasted into a question.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_SPACE_RUN = re.compile(r"\s+")
_WORD = re.compile(r"\w")
_TERM = re.compile(r"\w\w+")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def undecodable(text: str) -> bool:
    """True for text holding bytes that were not UTF-8: Python keeps them as lone
    surrogates (command-line arguments, a terminal's input), which nothing can store."""
    return _SURROGATE.search(text) is not None


def normalize(text: str) -> str:
    """NFKC (non-breaking spaces become spaces, ligatures and full-width forms fold), curly
    quotes straightened, terminal escapes, invisible and control characters dropped,
    whitespace folded."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_QUOTES)
    return _SPACE_RUN.sub(" ", _CONTROL.sub(" ", _ANSI.sub("", text))).strip()


def tidy(text: str) -> str:
    """For display: NFKC and whitespace folded (no non-breaking spaces), quotes kept."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return _SPACE_RUN.sub(" ", _CONTROL.sub(" ", text)).strip()


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Normalised and case-folded: for comparing strings, e.g. gold answers. Memoised: the
    same article sentences are folded for question after question."""
    return normalize(text).casefold()


def has_word(text: str) -> bool:
    return _WORD.search(text) is not None


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]`` as absolute offsets, whitespace trimmed."""
    end = len(text) if end is None else end
    chunk = text[start:end]
    spans = []
    for boundary in sentencex.get_sentence_boundaries("en", chunk):
        s, e = trim(chunk, boundary["start_index"], boundary["end_index"])
        if s < e:
            spans.append((start + s, start + e))
    if not spans:
        s, e = trim(chunk, 0, len(chunk))
        if s < e:
            spans.append((start + s, start + e))
    return spans


@lru_cache(maxsize=16384)
def terms(text: str) -> frozenset[str]:
    """Stemmed content words: BM25's stemmer, and the fuller English stopword list bm25s
    ships (NLTK's), so question words such as "which" or "did" are not counted. A hashtag
    counts as itself and as the words it joins."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    words = [w for w in _TERM.findall(fold(split_hashtags(text))) if w not in STOPWORDS_EN_PLUS]
    return frozenset(stemmer().stemWords(words))


def split_hashtags(text: str) -> str:
    """A hashtag also counts as the words it joins: "#BreakUpBigTech" → "#BreakUpBigTech
    Break Up Big Tech"."""
    return _HASHTAG.sub(lambda m: f"{m[0]} {' '.join(_CAMEL_PART.findall(m[1]))}", text)


@cache
def stemmer() -> Any:
    """The Snowball English stemmer shared by BM25 and the answer-type rules."""
    import Stemmer

    return Stemmer.Stemmer("english")
