"""Documents → passages: one per paragraph, an introducing paragraph joined to the one it
introduces, long paragraphs split into overlapping sentence windows."""

from __future__ import annotations

import bisect
import hashlib
from collections import Counter
from dataclasses import asdict, dataclass

from bot.ingest import Document
from bot.text import normalize, sentence_spans


@dataclass(frozen=True)
class ChunkParams:
    """A paragraph longer than ``max_chars`` becomes windows of at most ``window_chars``
    (a single longer sentence is a window of its own); consecutive windows share a sentence.
    A paragraph of at most ``intro_max_chars`` ending in a colon joins the next one."""

    max_chars: int = 450
    window_chars: int = 320
    intro_max_chars: int = 300

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    id: str
    doc_id: str
    paragraph: int
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    # Where the passage's block starts: its paragraph, or the paragraph introducing it.
    # The windows of one long paragraph share it.
    block: int

    @property
    def search_text(self) -> str:
        return normalize(self.text)


def split_passages(doc: Document, params: ChunkParams | None = None) -> list[Passage]:
    params = params or ChunkParams()
    passages: list[Passage] = []
    seen: Counter[str] = Counter()
    for start, end in _blocks(doc, params):
        sentences = sentence_spans(doc.text, start, end)
        for window in _windows(sentences, params):
            w_start, w_end = window[0][0], window[-1][1]
            number = _paragraph_number(doc, w_start)
            text = doc.text[w_start:w_end]
            key = normalize(text)
            seen[key] += 1
            passages.append(
                Passage(
                    id=_passage_id(doc.id, key, seen[key]),
                    doc_id=doc.id,
                    paragraph=number,
                    start=w_start,
                    end=w_end,
                    text=text,
                    sentences=tuple(window),
                    block=start,
                )
            )
    return passages


def _blocks(doc: Document, params: ChunkParams) -> list[tuple[int, int]]:
    """Paragraph spans, an introducing paragraph merged into the one it introduces."""
    blocks: list[tuple[int, int]] = []
    intro_start: int | None = None
    for number, (start, end) in enumerate(doc.paragraphs, start=1):
        if intro_start is not None:
            blocks.append((intro_start, end))
            intro_start = None
            continue
        text = doc.text[start:end]
        is_intro = text.endswith(":") and len(text) <= params.intro_max_chars
        if is_intro and number < len(doc.paragraphs):
            intro_start = start
        else:
            blocks.append((start, end))
    return blocks


def _paragraph_number(doc: Document, offset: int) -> int:
    """1-based number of the article paragraph holding ``offset``."""
    return bisect.bisect_right([start for start, _ in doc.paragraphs], offset)


def _windows(
    sentences: list[tuple[int, int]], params: ChunkParams
) -> list[list[tuple[int, int]]]:
    if not sentences:
        return []
    if sentences[-1][1] - sentences[0][0] <= params.max_chars:
        return [sentences]
    windows: list[list[tuple[int, int]]] = []
    i = 0
    while True:
        j = i + 1
        while j < len(sentences) and sentences[j][1] - sentences[i][0] <= params.window_chars:
            j += 1
        windows.append(sentences[i:j])
        if j >= len(sentences):
            return windows
        # Overlap by one sentence only when the next window then reaches past this one.
        overlap = j - 1
        fits = sentences[j][1] - sentences[overlap][0] <= params.window_chars
        i = overlap if overlap > i and fits else j


def _passage_id(doc_id: str, text: str, occurrence: int) -> str:
    digest = hashlib.sha1(f"{doc_id}\0{text}\0{occurrence}".encode()).hexdigest()[:12]
    return f"{doc_id}:{digest}"
