"""Dynamic batching: concurrent requests coalesced into one forward pass.

Requests queue their feature rows; one worker task takes the queue when it holds
`max_batch_size` rows or when its oldest request has waited `max_delay_s`, runs the batch in
a single model thread (off the event loop), and hands each request its own slice of the result.
While a batch runs, the next one fills, so under load batches grow without any added delay.
A request larger than `max_batch_size` runs alone; rows of one request are never split.

A batch that ran in under `inline_below_s` (a small model on CPU: ~0.1 ms) runs the next one on
the event loop itself: handing it to the model thread costs more than the forward pass, and the
two threads then take turns on the GIL, which shows up as tail latency. Slower batches (big
models, GPUs) go back to the model thread so the loop keeps accepting requests meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch

T = TypeVar("T")  # what the batch function returns alongside the scores (the model version)


@dataclass
class _Pending:
    x: torch.Tensor
    rows: int  # len(x), kept: Tensor.__len__ costs a microsecond a call
    future: asyncio.Future[Any]
    queued_at: float


class DynamicBatcher(Generic[T]):
    def __init__(
        self,
        run: Callable[[torch.Tensor], tuple[Any, T]],
        max_batch_size: int,
        max_delay_s: float,
        on_batch: Callable[[int], None] = lambda _rows: None,
        inline_below_s: float = 0.001,
    ) -> None:
        self.run, self.max_batch_size, self.max_delay_s = run, max_batch_size, max_delay_s
        self.inline_below_s = inline_below_s
        self._last_run_s = float("inf")  # the first batch goes to the model thread
        self.on_batch = on_batch
        self._queue: deque[_Pending] = deque()
        self._rows = 0
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._worker: asyncio.Task[None] | None = None

    def depth(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._loop(), name="batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for item in self._queue:
            if not item.future.done():
                item.future.set_exception(RuntimeError("server shutting down"))
        self._executor.shutdown(wait=True)

    async def submit(self, x: torch.Tensor) -> tuple[Any, T]:
        """Scores for the rows of `x` (and the batch's tag), once its batch has run."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        rows = len(x)
        self._queue.append(_Pending(x, rows, future, time.monotonic()))
        self._rows += rows
        if len(self._queue) == 1 or self._rows >= self.max_batch_size:
            self._wake.set()  # the worker is idle, or its batch is full
        result: tuple[Any, T] = await future
        return result

    async def run_alone(self, x: torch.Tensor) -> tuple[Any, T]:
        """One forward pass for this request only, on the same model thread (no batching)."""
        self.on_batch(len(x))
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.run, x)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            wait = self._queue[0].queued_at + self.max_delay_s - time.monotonic()
            if self._rows < self.max_batch_size and wait > 0:
                self._wake.clear()  # set again by a full batch, or by the timer
                timer = loop.call_later(wait, self._wake.set)
                await self._wake.wait()
                timer.cancel()
            batch, rows = self._take()
            self.on_batch(rows)
            x = batch[0].x if len(batch) == 1 else torch.cat([item.x for item in batch])
            try:
                start = time.perf_counter()
                if self._last_run_s < self.inline_below_s:
                    scores, tag = self.run(x)
                else:
                    scores, tag = await loop.run_in_executor(self._executor, self.run, x)
                self._last_run_s = time.perf_counter() - start
            except Exception as exc:  # the model failed: every request of the batch learns why
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            start = 0
            for item in batch:
                end = start + item.rows
                if not item.future.done():  # its client may have gone away
                    item.future.set_result((scores[start:end], tag))
                start = end

    def _take(self) -> tuple[list[_Pending], int]:
        """The next batch and its row count."""
        batch = [self._queue.popleft()]
        rows = batch[0].rows
        while self._queue and rows + self._queue[0].rows <= self.max_batch_size:
            item = self._queue.popleft()
            rows += item.rows
            batch.append(item)
        self._rows -= rows
        return batch, rows
