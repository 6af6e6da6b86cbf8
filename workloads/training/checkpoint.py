"""Checkpoints in object storage: `checkpoints/<run>/step-<n>.pt` plus an atomic `latest.json`.

A checkpoint holds the model, the optimizer, the step, the training curve, the held-out slice
and, per partition, the next Kafka offset it has consumed. It is durable once `latest.json`
points at it; only then are those offsets committed to Kafka.
"""

from __future__ import annotations

import io
from typing import Any

import torch

from workloads.common.objectstore import ObjectStore


class Checkpoints:
    def __init__(self, store: ObjectStore, run_id: str, keep: int = 3):
        self.store, self.prefix, self.keep = store, f"checkpoints/{run_id}/", keep

    @property
    def pointer(self) -> str:
        return self.prefix + "latest.json"

    def save(self, step: int, state: dict[str, Any], offsets: dict[int, int]) -> str:
        buf = io.BytesIO()
        torch.save({**state, "step": step, "offsets": offsets}, buf)
        key = f"{self.prefix}step-{step:09d}.pt"
        self.store.put_bytes(key, buf.getvalue())
        self.store.put_json(
            self.pointer,
            {"step": step, "key": key, "offsets": {str(p): o for p, o in offsets.items()}},
        )
        self._prune(keep_key=key)
        return key

    def load(self) -> dict[str, Any] | None:
        if not self.store.exists(self.pointer):
            return None
        pointer = self.store.get_json(self.pointer)
        state: dict[str, Any] = torch.load(
            io.BytesIO(self.store.get_bytes(pointer["key"])), map_location="cpu", weights_only=True
        )
        return state

    def _prune(self, keep_key: str) -> None:
        saved = [k for k in self.store.list(self.prefix) if k.endswith(".pt")]
        for key in sorted(saved)[: -self.keep]:
            if key != keep_key:
                self.store.delete(key)
