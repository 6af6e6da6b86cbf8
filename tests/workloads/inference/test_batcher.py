"""The batcher on its own: coalescing, the row cap, slices back to their requests, failures."""

from __future__ import annotations

import asyncio

import pytest
import torch

from workloads.inference.batcher import DynamicBatcher


def _run(batches: list[int]):
    def run(x: torch.Tensor) -> tuple[torch.Tensor, str]:
        batches.append(len(x))
        return x[:, 0] * 2, "tag"

    return run


def _rows(start: int, n: int) -> torch.Tensor:
    return torch.arange(start, start + n, dtype=torch.float32).reshape(n, 1)


@pytest.mark.parametrize("inline_below_s", [0.0, 1.0])  # model thread, event loop
def test_concurrent_requests_share_batches_up_to_the_cap(inline_below_s):
    batches: list[int] = []

    async def main() -> list[tuple[torch.Tensor, str]]:
        batcher = DynamicBatcher(_run(batches), 8, 0.05, inline_below_s=inline_below_s)
        batcher.start()
        try:
            sizes = [1, 2, 3, 1, 4, 2, 1, 10]
            starts = [sum(sizes[:i]) for i in range(len(sizes))]
            return await asyncio.gather(
                *(batcher.submit(_rows(s, n)) for s, n in zip(starts, sizes, strict=True))
            )
        finally:
            await batcher.stop()

    answers = asyncio.run(main())
    sizes = [1, 2, 3, 1, 4, 2, 1, 10]
    start = 0
    for (scores, tag), n in zip(answers, sizes, strict=True):
        assert tag == "tag" and scores.tolist() == [2.0 * v for v in range(start, start + n)]
        start += n
    assert sum(batches) == 24 and len(batches) < len(sizes)
    assert all(b <= 8 for b in batches if b != 10) and 10 in batches  # too big: runs alone


def test_a_failing_batch_fails_each_of_its_requests():
    def boom(_x: torch.Tensor) -> tuple[torch.Tensor, str]:
        raise RuntimeError("model exploded")

    async def main() -> list[object]:
        batcher = DynamicBatcher(boom, 8, 0.01)
        batcher.start()
        try:
            return await asyncio.gather(
                *(batcher.submit(_rows(i, 1)) for i in range(3)), return_exceptions=True
            )
        finally:
            await batcher.stop()

    results = asyncio.run(main())
    assert [str(r) for r in results] == ["model exploded"] * 3
