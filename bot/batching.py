"""Micro-batching: questions that arrive together (concurrent Discord interactions) are
encoded in one call, which costs far less per question than one call each. A question
waits at most ``max_wait`` seconds for company, so a lone question is not held back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.answer import Answer, Answerer, clean_question

logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    question: str
    history: Sequence[str]
    future: asyncio.Future[Answer]


class MicroBatcher:
    """``await batcher.ask(question)`` from any number of tasks on one event loop."""

    def __init__(self, answerer: Callable[[], Answerer], max_wait: float = 0.003,
                 max_batch: int = 64) -> None:
        self._answerer = answerer  # a callable, so a rebuilt index is picked up
        self.max_wait = max_wait
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.batches: list[int] = []  # sizes of the batches run (for the benchmark)

    async def ask(self, question: str, history: Sequence[str] = ()) -> Answer:
        # Reject a bad question at once, before it can delay the others.
        clean_question(question, self._answerer().max_question_chars)
        if self._queue is None or self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(self._queue), name="micro-batcher")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(question, history, future))
        return await future

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def _run(self, queue: asyncio.Queue[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), timeout))
                except TimeoutError:
                    break
            self.batches.append(len(batch))
            await self._answer(batch)

    async def _answer(self, batch: list[_Pending]) -> None:
        answerer = self._answerer()
        try:
            answers = await asyncio.to_thread(
                answerer.ask_many, [p.question for p in batch], 0, None,
                [p.history for p in batch])
        except Exception as err:  # hand the failure to every waiting caller
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(err)
            return
        for pending, answer in zip(batch, answers, strict=True):
            if not pending.future.done():
                pending.future.set_result(answer)
