"""How a question and a candidate sentence become the reader's input, the same when training
(torch) and when answering (OpenVINO): one ``tokenizers`` pipeline, no model library.

The pair is ``[CLS] question [SEP] sentence [SEP] previous sentence [SEP]``: the sentence
to judge first, then the opening ``CONTEXT_WORDS`` words of the sentence before it in its
paragraph (where its subject usually is), so that "It's growing really quickly in India" can
be read as being about TikTok. The whole previous sentence would cost half as much again in
training and answering time for little more. Truncation (to ``MAX_TOKENS``) cuts the second
segment from its end, so the context goes before the sentence does. The answer's
words are marked as a span of the sentence's tokens (``answer_span``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_TOKENS = 128
MAX_ANSWER_TOKENS = 24
CONTEXT_WORDS = 12
SEPARATOR = " [SEP] "


@dataclass(frozen=True)
class Pair:
    question: str
    sentence: str
    before: str = ""  # the sentence before it in its paragraph, if any

    @property
    def second(self) -> str:
        if not self.before:
            return self.sentence
        return self.sentence + SEPARATOR + " ".join(self.before.split()[:CONTEXT_WORDS])


@dataclass(frozen=True)
class Batch:
    ids: NDArray[np.int64]
    mask: NDArray[np.int64]
    types: NDArray[np.int64]
    # Per pair, per token: its character span in the sentence, or (-1, -1) for a token that
    # is not part of the sentence (question, separators, context, padding).
    spans: list[list[tuple[int, int]]]


class PairTokenizer:
    def __init__(self, tokenizer_file: Path, max_tokens: int = MAX_TOKENS) -> None:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(max_length=max_tokens, strategy="only_second")
        tokenizer.no_padding()
        self._tokenizer: Any = tokenizer
        pad = tokenizer.token_to_id("[PAD]")
        self._pad = 0 if pad is None else pad

    def encode(self, pairs: Sequence[Pair]) -> list[Any]:
        return list(self._tokenizer.encode_batch([(p.question, p.second) for p in pairs]))

    def batch(self, pairs: Sequence[Pair], encodings: Sequence[Any] | None = None) -> Batch:
        """The pairs padded to the longest of them."""
        encodings = encodings if encodings is not None else self.encode(pairs)
        length = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), length), self._pad, dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        spans = []
        for row, (pair, e) in enumerate(zip(pairs, encodings, strict=True)):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
            limit = len(pair.sentence)
            spans.append([(a, b) if seq == 1 and b <= limit and b > a else (-1, -1)
                          for seq, (a, b) in zip(e.sequence_ids, e.offsets, strict=True)]
                         + [(-1, -1)] * (length - n))
        return Batch(ids, mask, types, spans)


def token_span(spans: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The first and last token of the sentence's characters ``start:end``."""
    inside = [i for i, (a, b) in enumerate(spans) if a >= 0 and a < end and b > start]
    return (inside[0], inside[-1]) if inside else None


def answer_span(spans: Sequence[tuple[int, int]], start_logits: NDArray[np.float32],
                end_logits: NDArray[np.float32]) -> tuple[int, int] | None:
    """The likeliest answer inside the sentence, as character offsets in it: the token pair
    (start ≤ end, at most ``MAX_ANSWER_TOKENS`` apart) with the highest start + end logit."""
    tokens = [i for i, (a, _) in enumerate(spans) if a >= 0]
    if not tokens:
        return None
    first, last = tokens[0], tokens[-1] + 1
    starts = start_logits[first:last]
    ends = end_logits[first:last]
    width = last - first
    score = starts[:, None] + ends[None, :]
    allowed = np.triu(np.ones((width, width), dtype=bool)) & ~np.triu(
        np.ones((width, width), dtype=bool), MAX_ANSWER_TOKENS)
    score = np.where(allowed, score, -np.inf)
    s, e = np.unravel_index(int(np.argmax(score)), score.shape)
    a, b = spans[first + int(s)], spans[first + int(e)]
    if a[0] < 0 or b[0] < 0:
        return None
    return a[0], b[1]
