"""Lexical top-k from postings gives bm25s's own ``retrieve`` rankings, ids and scores, bit
for bit: on the article with every question set we have, and on a synthetic corpus with
Zipf-distributed words, repeated query terms and many ties."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot import lexical
from bot.config import PROJECT_ROOT
from bot.index import Index, _lexical
from bot.text import normalize
from tests.conftest import DEV_SET

QUESTION_SETS = [p for p in (DEV_SET, *sorted((PROJECT_ROOT / "bench").glob("*.jsonl")))
                 if p.is_file()]


def _questions(path: Path) -> list[str]:
    return [json.loads(line)["q"] for line in path.read_text().splitlines() if line.strip()]


def _term_ids(tokenizer: Any, question: str) -> list[int]:
    tokens = tokenizer.tokenize([normalize(question)], update_vocab=False, return_as="ids",
                                show_progress=False)
    return [int(t) for t in tokens[0]]


def _assert_same(bm25: Any, ids: list[int], k: int) -> None:
    """Same scores in the same order; within a score, the same passages (bm25s breaks
    ties arbitrarily), except for the tie cut by the k-th place, where ours must be a
    subset of the passages holding that score."""
    expected_ids, expected = (a[0] for a in bm25.retrieve([ids], k=k, show_progress=False))
    found_ids, found = lexical.top_k(bm25.scores, ids, k)
    keep = expected > 0
    expected_ids, expected = expected_ids[keep], expected[keep]
    assert found.dtype == expected.dtype
    assert np.array_equal(found, expected), (ids, found[:5], expected[:5])
    every = bm25.get_scores(ids)
    for value in np.unique(found):
        ours, theirs = set(found_ids[found == value]), set(expected_ids[expected == value])
        if value == found[-1] and len(found) == k:
            assert ours <= set(np.flatnonzero(every == value))
        else:
            assert ours == theirs
    # Ties in order of passage id, so the ranking does not depend on the postings' order.
    for a, b in zip(range(len(found) - 1), range(1, len(found)), strict=True):
        assert found[a] > found[b] or found_ids[a] < found_ids[b]


@pytest.mark.parametrize("path", QUESTION_SETS, ids=lambda p: p.name)
def test_same_rankings_as_bm25s_on_the_article(index: Index, path: Path) -> None:
    questions = _questions(path)
    assert questions
    for question in questions:
        ids = _term_ids(index.tokenizer, question)
        for k in (1, 3, len(index.passages)):
            _assert_same(index.bm25, ids, k)


def test_same_rankings_as_bm25s_on_a_synthetic_corpus() -> None:
    rng = np.random.default_rng(11)
    vocab = np.array([f"w{i}x" for i in range(3000)])
    zipf = 1.0 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    # Short documents of Zipf-distributed words: long postings for common words, and many
    # documents with exactly the same score.
    texts = [" ".join(rng.choice(vocab, size=int(rng.integers(1, 30)), p=zipf))
             for _ in range(20_000)]
    bm25, tokenizer = _lexical(texts)
    checked = 0
    for _ in range(300):
        words = rng.choice(vocab, size=int(rng.integers(1, 9)), p=zipf)
        query = " ".join([*words, *words[: int(rng.integers(0, 3))]])  # repeats count twice
        ids = _term_ids(tokenizer, query)
        if not any(ids):
            continue
        for k in (1, 10, 20, 1000):
            _assert_same(bm25, ids, k)
        checked += 1
    assert checked > 250


def test_no_term_in_the_vocabulary_finds_nothing() -> None:
    bm25, tokenizer = _lexical(["alpha beta", "gamma delta"])
    for ids in ([], _term_ids(tokenizer, "zeta"), [10**6, -1]):
        found, scores = lexical.top_k(bm25.scores, ids, 5)
        assert len(found) == len(scores) == 0


def test_threads_do_not_share_scores() -> None:
    """Questions are answered from worker threads; each uses its own buffer, and a buffer is
    left clean after every question."""
    rng = np.random.default_rng(5)
    vocab = [f"t{i}y" for i in range(200)]
    texts = [" ".join(rng.choice(vocab, size=12)) for _ in range(5_000)]
    bm25, tokenizer = _lexical(texts)
    queries = [_term_ids(tokenizer, " ".join(rng.choice(vocab, size=4))) for _ in range(40)]
    expected = [lexical.top_k(bm25.scores, q, 20) for q in queries]
    failures: list[int] = []

    def work() -> None:
        for _ in range(20):
            for i, q in enumerate(queries):
                ids, scores = lexical.top_k(bm25.scores, q, 20)
                if not (np.array_equal(ids, expected[i][0])
                        and np.array_equal(scores, expected[i][1])):
                    failures.append(i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
