"""Kafka records to training batches, from one of two inputs:

- `features` (the platform's default): Arrow batches the feature stage made from
  `transactions` (`workloads/training/features.py`); the trainer only slices arrays. Per source
  partition it keeps the next source offset it needs (`watermarks`, saved in checkpoints) and
  drops rows below it: a stage that replays after a crash adds no duplicates.
- `records`: `transactions` itself; each poll of a few thousand records is decoded in one
  vectorised pass and what fails the schema is dead-lettered here.

Either way 1 record in N is held out for evaluation by (source partition, source offset), the
same records in both modes, and the rest is buffered for the optimizer. Offsets advance as
records are taken; the trainer only checkpoints (and so commits) when the buffer is empty, so
every committed record has been trained, held out or dead-lettered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from confluent_kafka import KafkaError, Message, Producer

from workloads.common import featurebatch, schema
from workloads.common.dlq import PayloadStore, dead_letter
from workloads.training.source import PartitionSource, undelivered


def held_out_mask(partitions: np.ndarray, offsets: np.ndarray, every: int) -> np.ndarray:
    """A stable 1-in-`every` slice by (partition, offset): the same records on every run."""
    return ((partitions.astype(np.int64) * 1_000_003 + offsets.astype(np.int64)) % every) == 0


@dataclass
class Counts:
    trained: int = 0
    held_out: int = 0
    dead_lettered: int = 0

    def total(self) -> int:
        return self.trained + self.held_out + self.dead_lettered

    def as_list(self) -> list[int]:
        return [self.trained, self.held_out, self.dead_lettered]


class Feed:
    """The trainer's buffer over its source: `records` (JSON transactions, decoded here) or
    `features` (Arrow batches from the feature stage, `workloads/training/features.py`)."""

    def __init__(
        self,
        source: PartitionSource,
        producer: Producer,
        dlq_topic: str,
        eval_every: int,
        eval_cap: int,
        device: torch.device,
        store: PayloadStore | None = None,
        input_kind: str = "records",
    ):
        self.source, self.producer, self.dlq_topic = source, producer, dlq_topic
        self.eval_every, self.eval_cap, self.device = eval_every, eval_cap, device
        self.store, self.input_kind = store, input_kind
        self.offsets: dict[int, int] = {}  # next offset of each partition read
        self.watermarks: dict[int, int] = {}  # features: next source offset still needed
        self.counts = Counts()
        self.replayed = 0  # features: rows dropped as already taken (a stage's replay)
        self.eval_x: list[torch.Tensor] = []
        self.eval_y: list[torch.Tensor] = []
        self.eval_rows = self.eval_saved = 0
        self._chunks: deque[tuple[torch.Tensor, torch.Tensor]] = deque()
        self._pending = 0
        self._failures: list[KafkaError] = []

    # --- buffer ---------------------------------------------------------------------------
    def pending(self) -> int:
        return self._pending

    def refill(
        self, want: int, poll_records: int, timeout: float, enough: Callable[[], bool]
    ) -> None:
        """Poll until `want` rows are buffered, the topic goes quiet, or `enough()`."""
        while self.pending() < want and not enough():
            messages = self.source.poll(self._messages_per_poll(poll_records), timeout)
            if not messages:
                return
            self.ingest(messages)

    def _messages_per_poll(self, rows: int) -> int:
        """A feature batch holds up to MAX_BATCH_ROWS rows: asking for `rows` messages would
        wait out the poll timeout for messages that are not there yet."""
        if self.input_kind == "features":
            return max(1, -(-rows // featurebatch.MAX_BATCH_ROWS))
        return rows

    def take(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys, got = [], [], 0
        while self._chunks and got < n:
            x, y = self._chunks.popleft()
            if got + len(y) > n:
                cut = n - got
                self._chunks.appendleft((x[cut:], y[cut:]))
                x, y = x[:cut], y[:cut]
            xs.append(x)
            ys.append(y)
            got += len(y)
        self._pending -= got
        if not xs:
            return torch.empty(0, schema.FEATURE_DIM, device=self.device), torch.empty(0)
        x = xs[0] if len(xs) == 1 else torch.cat(xs)
        y = ys[0] if len(ys) == 1 else torch.cat(ys)
        return x.to(self.device), y.to(self.device)

    # --- decoding -------------------------------------------------------------------------
    def ingest(self, messages: list[Message]) -> None:
        if self.input_kind == "features":
            for m in messages:
                self._ingest_batch(m)
        else:
            self._ingest_records(messages)
        for m in messages:
            p, after = m.partition() or 0, (m.offset() or 0) + 1
            self.offsets[p] = max(self.offsets.get(p, 0), after)
        self.producer.poll(0)

    def _ingest_records(self, messages: list[Message]) -> None:
        batch = schema.decode_batch(
            [v or b"" for v in map(Message.value, messages)], keys=list(map(Message.key, messages))
        )
        for index, reason in batch.rejects:
            dead_letter(
                self.producer,
                messages[index],
                reason,
                self.dlq_topic,
                self._on_dead_letter,
                self.store,
            )
        self.counts.dead_lettered += len(batch.rejects)
        valid = [messages[i] for i in batch.valid.tolist()]
        where = np.empty((len(valid), 2), dtype=np.int64)
        where[:, 0] = np.fromiter(map(Message.partition, valid), np.int64, len(valid))
        where[:, 1] = np.fromiter(map(Message.offset, valid), np.int64, len(valid))
        self._add(where, batch.features.numpy(), batch.labels.numpy())

    def _ingest_batch(self, message: Message) -> None:
        try:
            raw = message.headers() or []
            found = list(raw.items()) if isinstance(raw, dict) else raw
            fb = featurebatch.decode(message.value() or b"", found)
        except featurebatch.FeatureBatchError as exc:
            raise RuntimeError(
                f"{message.topic()}[{message.partition()}]@{message.offset()}: {exc}"
            ) from None
        need = self.watermarks.get(fb.partition, -1)
        keep = fb.offsets >= need
        self.replayed += int(len(keep) - keep.sum())
        self.counts.dead_lettered += int((fb.dead_letters >= need).sum())
        self.watermarks[fb.partition] = max(need, fb.end)
        where = np.empty((int(keep.sum()), 2), dtype=np.int64)
        where[:, 0], where[:, 1] = fb.partition, fb.offsets[keep]
        self._add(where, fb.features[keep], fb.labels[keep])

    def _add(self, where: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Hold out 1 in `eval_every` by (partition, offset); buffer the rest for training.
        (numpy indexing: torch's boolean indexing costs ~10 ms on 4096 rows.)"""
        hold = held_out_mask(where[:, 0], where[:, 1], self.eval_every)
        held = int(hold.sum())
        if held and self.eval_rows < self.eval_cap:
            self.eval_x.append(torch.from_numpy(x[hold]))
            self.eval_y.append(torch.from_numpy(y[hold]))
            self.eval_rows += held
        self.counts.held_out += held
        self.counts.trained += len(hold) - held
        if held:
            keep = ~hold
            x, y = x[keep], y[keep]
        if len(y):
            self._chunks.append((torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)))
            self._pending += len(y)

    def held_out(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.eval_y:
            return torch.empty(0, schema.FEATURE_DIM), torch.empty(0)
        return torch.cat(self.eval_x), torch.cat(self.eval_y)

    def new_held_out(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Held-out rows not in a checkpoint yet (each is stored once); `mark_saved` after."""
        x, y = self.held_out()
        return x[self.eval_saved :], y[self.eval_saved :]

    def mark_saved(self) -> None:
        self.eval_saved = self.eval_rows

    def restore_held_out(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.eval_x, self.eval_y = [x], [y]
        self.eval_rows = self.eval_saved = len(y)

    # --- dead letters ---------------------------------------------------------------------
    def _on_dead_letter(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._failures.append(err)

    def dead_letters_durable(self) -> None:
        """Every dead letter acknowledged before offsets that skip its record are saved:
        BrokerUnavailable (retried) when Kafka did not take them, RuntimeError otherwise."""
        remaining = self.producer.flush(30)
        if remaining or self._failures:
            error = undelivered(remaining, self._failures, "dead letter(s)")
            raise type(error)(f"{error}: not checkpointing past them")
