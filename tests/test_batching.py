"""Micro-batching with the real model: concurrent questions share encodes, answers match."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.answer import Answerer
from bot.batching import MicroBatcher
from bot.errors import InvalidQuestion


async def test_concurrent_questions_share_a_batch_and_get_their_own_answers(
    answerer: Answerer,
) -> None:
    batcher = MicroBatcher(lambda: answerer, max_wait=0.02)
    questions = ["What is Lasso?", "Who leaked the recordings?", "What is the best pizza?"] * 8
    try:
        answers = await asyncio.gather(*(batcher.ask(q) for q in questions))
    finally:
        await batcher.close()
    assert [a.question for a in answers] == questions
    assert max(batcher.batches) > 1 and sum(batcher.batches) == len(questions)
    for answer in answers:  # the same as answering alone (scores up to float noise)
        alone = answerer.ask(answer.question)
        assert answer.answered == alone.answered
        assert [(e.passage_id, e.highlight) for e in answer.excerpts] == [
            (e.passage_id, e.highlight) for e in alone.excerpts]
        assert all(abs(a.score - b.score) < 1e-3
                   for a, b in zip(answer.excerpts, alone.excerpts, strict=True))


@pytest.mark.any_outcome("times a lone question, whatever its answer")
async def test_a_lone_question_is_not_held_back(answerer: Answerer) -> None:
    batcher = MicroBatcher(lambda: answerer, max_wait=0.003)
    try:
        await batcher.ask("What is Lasso?")  # warm up
        started = time.perf_counter()
        await batcher.ask("Who built TikTok?")
        waited = time.perf_counter() - started
    finally:
        await batcher.close()
    assert batcher.batches == [1, 1]
    assert waited < 5.0  # generous: the point is it returns, alone, without a partner


async def test_bad_question_fails_alone(answerer: Answerer) -> None:
    batcher = MicroBatcher(lambda: answerer)
    try:
        good = asyncio.create_task(batcher.ask("What is Lasso?"))
        with pytest.raises(InvalidQuestion):
            await batcher.ask("   ")
        assert (await good).answered
    finally:
        await batcher.close()
