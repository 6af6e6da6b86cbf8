"""The trainer: Kafka -> tensors -> (DDP) steps -> checkpoints -> a published, gated model.

Delivery semantics (at-least-once, with a bounded replay):
- offsets advance in memory as records are decoded (trained, held out, or dead-lettered);
- every `checkpoint_every` steps or `checkpoint_interval_s` seconds (whichever comes first), on
  SIGTERM and at the end, the ranks stop polling and train what they have buffered; then global
  rank 0 writes a checkpoint (model, optimizer, step, counts, the held-out rows new since the
  last one, the next offset of every partition and, reading features, the next source offset of
  every source partition) and moves `latest.json` to it; only after that (a barrier) do the
  ranks commit those offsets to Kafka;
- after a SIGKILL the trainer restarts from `latest.json` and seeks to its offsets: nothing is
  lost, and at most the records consumed since that checkpoint (one interval) are trained again;
- it never starts over silently: checkpoints without a pointer, or offsets committed in its
  group without a checkpoint, are an error unless `--fresh` is given; a corrupt newest
  checkpoint falls back to an older kept one, with a warning (see checkpoint.py).
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import asdict, dataclass, field
from types import FrameType
from typing import Any

import numpy as np
import torch
from confluent_kafka import Producer
from torch import nn

from workloads.common import schema
from workloads.common.model import Arch, FraudModel, optimizer, to_bytes
from workloads.common.objectstore import ObjectStore
from workloads.common.registry import ModelRegistry
from workloads.common.settings import KafkaSettings
from workloads.training.checkpoint import CheckpointError, Checkpoints
from workloads.training.distributed import DistContext
from workloads.training.feed import Counts, Feed, held_out_mask
from workloads.training.report import manifest, training_curve
from workloads.training.settings import TrainerSettings
from workloads.training.source import PartitionSource

__all__ = ["TrainResult", "Trainer", "held_out_mask"]
log = logging.getLogger("workloads.training")


@dataclass
class TrainResult:
    steps: int = 0
    trained: int = 0
    held_out: int = 0
    dead_lettered: int = 0
    seconds: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    version: str | None = None
    promoted: bool = False


class Trainer:
    def __init__(
        self, settings: TrainerSettings, kafka: KafkaSettings, store: ObjectStore, ctx: DistContext
    ):
        self.s, self.kafka, self.store, self.ctx = settings, kafka, store, ctx
        if settings.threads and ctx.device.type == "cpu":
            torch.set_num_threads(settings.threads)
        torch.manual_seed(settings.seed)
        self.arch = Arch(inputs=schema.FEATURE_DIM, width=settings.width, depth=settings.depth)
        self.model = FraudModel(self.arch).to(ctx.device)
        self.ddp: nn.Module = self.model
        if ctx.distributed:
            ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            self.ddp = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = optimizer(self.model, settings.learning_rate)
        self.loss_fn = nn.BCEWithLogitsLoss(
            pos_weight=torch.tensor(settings.pos_weight, device=ctx.device), reduction="sum"
        )
        self.checkpoints = Checkpoints(store, settings.run_id, settings.keep_checkpoints)
        self.step = 0
        self.rows_trained = 0  # on this rank, for progress lines (`make pipeline`)
        self.losses: list[float] = []
        self.eval_points: list[tuple[int, float]] = []  # (step, held-out ROC AUC)
        self.result = TrainResult()
        self._restored: dict[str, Any] | None = None
        self._stopping = False

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        log.info("stop requested", extra={"signal": signum})
        self._stopping = True

    # --- the run ------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        signal.signal(signal.SIGTERM, self.request_stop)
        start = self._load_snapshot()
        source = PartitionSource(
            self.kafka, self.s.topic, self.s.group_id, self.ctx.rank, self.ctx.world, start
        )
        if start is None and source.committed and not self.s.fresh:
            source.close()
            raise CheckpointError(
                f"consumer group {self.s.group_id!r} has offsets committed on {self.s.topic!r} "
                f"but run {self.s.run_id!r} has no checkpoint: the model they belong to is gone. "
                "--fresh trains a new model from those offsets"
            )
        producer = Producer({**self.kafka.client_config(), "enable.idempotence": True})
        try:
            source.require_topic(self.s.dlq_topic)
            feed = Feed(
                source,
                producer,
                self.s.dlq_topic,
                self.s.eval_every,
                self.s.eval_cap,
                self.ctx.device,
                store=self.store,
                input_kind=self.s.input,
            )
            if self._restored is not None:
                marks = self._restored.get("watermarks", {})
                feed.watermarks = {int(p): int(o) for p, o in marks.items()}
            if self._restored is not None and self.ctx.is_primary:
                feed.restore_held_out(self._restored["eval_x"], self._restored["eval_y"])
                feed.counts = Counts(*(int(v) for v in self._restored["counts"].tolist()))
            began = time.monotonic()
            self._loop(feed)
            self._save_snapshot(feed)  # final: every record taken is committed
            self.result.seconds = time.monotonic() - began
        finally:
            producer.flush(10)
            source.close()
        self.result.steps = self.step
        self._finish(feed)
        return self.result

    def _loop(self, feed: Feed) -> None:
        idle_since = window_start = saved_at = time.monotonic()
        window_rows, draining, unsaved_rows = 0, False, 0
        next_checkpoint = self.step + self.s.checkpoint_every
        while True:
            if not draining:
                feed.refill(
                    self.s.batch_size,
                    self.s.poll_records,
                    self.s.poll_timeout_s,
                    lambda: self._limit_reached(feed),
                )
            x, y = feed.take(self.s.batch_size)
            stop_vote = float(self._stopping or self._limit_reached(feed))
            # rank 0's clock decides when a checkpoint is due, so every rank drains together
            late = (
                self.ctx.is_primary and time.monotonic() - saved_at >= self.s.checkpoint_interval_s
            )
            rows, stops, left, due_by_time = self.ctx.sum(
                len(y), stop_vote, feed.pending(), float(late)
            )
            if rows:
                idle_since = time.monotonic()
                loss = self._run_batch(x, y, rows)
                window_rows += int(rows)
                self.rows_trained += int(rows)
                if self.ctx.is_primary and self.step % self.s.log_every == 0:
                    rate = window_rows / max(time.monotonic() - window_start, 1e-9)
                    log.info(
                        "train",
                        extra={
                            "step": self.step,
                            "loss": round(loss, 5),
                            "samples_per_s": round(rate, 1),
                        },
                    )
                    window_start, window_rows = time.monotonic(), 0
            unsaved_rows += int(rows)
            if stops or (due_by_time and unsaved_rows) or self.step >= next_checkpoint:
                draining = True  # train what is buffered before saving offsets past it
            if draining and left == 0:
                if stops:
                    return
                self._save_snapshot(feed)
                next_checkpoint, draining = self.step + self.s.checkpoint_every, False
                saved_at, unsaved_rows = time.monotonic(), 0
            elif not rows and time.monotonic() - idle_since >= self.s.idle_timeout_s:
                return

    def _limit_reached(self, feed: Feed | None = None) -> bool:
        if not self.s.max_records or feed is None:
            return False
        return feed.counts.total() >= self.s.max_records

    def _run_batch(self, x: torch.Tensor, y: torch.Tensor, global_rows: float) -> float:
        """One optimizer step over every rank's rows; a rank with none still joins the gradient
        all-reduce (its loss is zero) so DDP stays in lockstep."""
        self.ddp.train()
        self.optimizer.zero_grad(set_to_none=True)
        # a sum-reduced loss scaled by the global batch: DDP averages gradients over ranks
        loss = self.loss_fn(self.ddp(x), y) * (self.ctx.world / global_rows)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        value = float(loss.detach()) / self.ctx.world
        self.losses.append(self.ctx.sum(value)[0] if self.ctx.distributed else value)
        return self.losses[-1]

    # --- snapshots ----------------------------------------------------------------------------
    def _gather_rows(
        self, rows: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every rank's rows, concatenated in rank order (meaningful on rank 0)."""
        shards = [s for s in self.ctx.gather(rows) if len(s[1])]
        if not shards:
            return torch.empty(0, schema.FEATURE_DIM), torch.empty(0)
        return torch.cat([s[0] for s in shards]), torch.cat([s[1] for s in shards])

    def _gather_feed(self, feed: Feed) -> tuple[torch.Tensor, torch.Tensor, Counts]:
        """Every rank's held-out rows and counts, merged (meaningful on rank 0)."""
        x, y = self._gather_rows(feed.held_out())
        counts = self.ctx.gather(feed.counts.as_list())
        return x, y, Counts(*(int(v) for v in np.sum(counts, axis=0)))

    def _save_snapshot(self, feed: Feed) -> None:
        """Checkpoint, then (once it is durable, a barrier) commit its offsets."""
        feed.dead_letters_durable()
        offsets: dict[int, int] = {}
        watermarks: dict[int, int] = {}
        for part, marks in self.ctx.gather((dict(feed.offsets), dict(feed.watermarks))):
            offsets.update(part)
            watermarks.update(marks)
        new_x, new_y = self._gather_rows(feed.new_held_out())
        eval_x, eval_y, counts = self._gather_feed(feed)
        if self.ctx.is_primary:
            self._track_eval(eval_x, eval_y)
            state = {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "losses": torch.tensor(self.losses),
                "eval_points": torch.tensor(self.eval_points, dtype=torch.float64),
                "counts": torch.tensor(counts.as_list()),
                "watermarks": watermarks,
            }
            self.checkpoints.save(self.step, state, offsets, held_out_new=(new_x, new_y))
        feed.mark_saved()
        self.ctx.barrier()  # durable before anyone commits
        feed.source.commit(feed.offsets)

    def _load_snapshot(self) -> dict[int, int] | None:
        state = self.checkpoints.load(fresh=self.s.fresh)
        if state is None:
            if self.s.fresh:
                log.warning("starting a new model (--fresh)", extra={"run": self.s.run_id})
            return None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.losses = [float(v) for v in state["losses"].tolist()]
        self.eval_points = [(int(a), float(b)) for a, b in state["eval_points"].tolist()]
        self._restored = state  # rank 0 takes over the merged held-out slice and counts
        offsets = {int(p): int(o) for p, o in state["offsets"].items()}
        log.info("resumed", extra={"step": self.step, "offsets": offsets})
        return offsets

    # --- evaluation and publishing --------------------------------------------------------------
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        self.model.eval()
        with torch.inference_mode():
            scores = torch.sigmoid(self.model(x.to(self.ctx.device))).cpu().numpy()
        labels = y.numpy()
        precision, recall = schema.precision_recall_at(scores, labels, self.s.threshold)
        return {
            "roc_auc": schema.roc_auc(scores, labels),
            "precision": precision,
            "recall": recall,
            "threshold": self.s.threshold,
            "eval_records": float(len(labels)),
            "positives": float(labels.sum()),
        }

    def _track_eval(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """The held-out ROC AUC at this step, for the training curve."""
        fresh = not self.eval_points or self.eval_points[-1][0] != self.step
        if fresh and 0 < float(y.sum()) < len(y):
            self.eval_points.append((self.step, self.evaluate(x, y)["roc_auc"]))

    def _finish(self, feed: Feed) -> None:
        eval_x, eval_y, counts = self._gather_feed(feed)
        try:
            if self.ctx.is_primary:
                self.result.trained = counts.trained
                self.result.held_out = counts.held_out
                self.result.dead_lettered = counts.dead_lettered
                self._publish(eval_x, eval_y)
        finally:
            self.ctx.barrier()  # every rank leaves together, after the model is published

    def _publish(self, eval_x: torch.Tensor, eval_y: torch.Tensor) -> None:
        if not (0 < float(eval_y.sum()) < len(eval_y)):
            log.warning("the held-out slice lacks both classes: nothing to gate, nothing published")
            return
        metrics = {**self.evaluate(eval_x, eval_y), "train_records": float(self.result.trained)}
        self.result.metrics = metrics
        passed = bool(metrics["roc_auc"] >= self.s.min_auc)
        self._track_eval(eval_x, eval_y)
        registry = ModelRegistry(self.store, self.s.model_name)
        version = registry.new_version()
        pointer = self.store.get_json(self.checkpoints.pointer)
        doc = manifest(
            name=self.s.model_name,
            version=version,
            metrics=metrics,
            input_schema=schema.input_schema(),
            topic=self.s.topic,
            offsets={int(p): o for p, o in pointer["offsets"].items()},
            arch=asdict(self.arch),
            gate={"min_auc": self.s.min_auc, "passed": passed},
        )
        files = {
            "model.pt": to_bytes(self.model),
            "training_curve.png": training_curve(self.losses, self.eval_points),
        }
        registry.publish(version, files, doc, promote=passed)
        self.result.version, self.result.promoted = version, passed
        log.info("published", extra={"version": version, "promoted": passed, **metrics})
