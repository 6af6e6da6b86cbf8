"""`python -m workloads.inference.scorer`: score the transaction stream with the served model.

Consumes `transactions` in the `fraud-scores` consumer group (KEDA scales replicas on its lag),
decodes each poll in one vectorised pass, scores it with the same model code as the server,
produces `{card_id, score, model_version}` to `fraud-scores` keyed by card id, dead-letters
malformed records, and commits the poll's offsets only after every produce is acknowledged.

Delivery is at least once: a scorer killed between producing and committing scores those
records again after the restart (consumers of `fraud-scores` keep the latest score per card).
The model follows `latest` like the server, checked between polls.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import torch
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from workloads.common import schema
from workloads.common.dlq import dead_letter
from workloads.common.kafka import consume
from workloads.common.logs import configure_logging
from workloads.common.objectstore import ObjectStore
from workloads.common.registry import ModelRegistry
from workloads.common.settings import KafkaSettings, StoreSettings
from workloads.inference.models import LoadedModel, ModelWatcher, pick_device
from workloads.inference.settings import ScorerSettings, parse_scorer

log = logging.getLogger("workloads.inference.scorer")


@dataclass
class ScorerResult:
    consumed: int = 0
    scored: int = 0
    dead_lettered: int = 0
    seconds: float = 0.0
    model_version: str | None = None


class Scorer:
    def __init__(
        self,
        settings: ScorerSettings,
        kafka: KafkaSettings,
        store: ObjectStore,
        consumer_config: dict[str, Any] | None = None,
    ):
        self.s, self.kafka, self.consumer_config = settings, kafka, consumer_config or {}
        self.watcher = ModelWatcher(
            ModelRegistry(store, settings.model_name), pick_device(settings.device)
        )
        self.result = ScorerResult()
        self._failures: list[str] = []
        self._stopping = False

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        log.info("stop requested", extra={"signal": signum})
        self._stopping = True

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(f"{msg.topic()}: {err}")

    def beat(self) -> None:
        """Prove the loop is alive to the pod's liveness probe (see `heartbeat_file`)."""
        if self.s.heartbeat_file:
            Path(self.s.heartbeat_file).touch()

    def wait_for_model(self) -> LoadedModel:
        deadline = time.monotonic() + self.s.model_wait_s
        while not self._stopping:
            self.beat()
            self.watcher.check()
            if self.watcher.current is not None:
                return self.watcher.current
            if time.monotonic() > deadline:
                break
            time.sleep(1.0)
        raise RuntimeError(f"no version of {self.s.model_name!r} to score with")

    def run(self) -> ScorerResult:
        signal.signal(signal.SIGTERM, self.request_stop)
        self.wait_for_model()
        consumer = Consumer(
            {
                **self.kafka.client_config(),
                "group.id": self.s.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "partition.assignment.strategy": "cooperative-sticky",
                **self.consumer_config,
            }
        )
        producer = Producer(
            {**self.kafka.client_config(), "enable.idempotence": True, "linger.ms": 5}
        )
        consumer.subscribe([self.s.topic])
        began = idle_since = next_reload = time.monotonic()
        try:
            while not self._stopping and not self._limit_reached():
                self.beat()
                if time.monotonic() >= next_reload:
                    self.watcher.check()
                    next_reload = time.monotonic() + self.s.reload_interval_s
                messages = self._poll(consumer)
                if messages:
                    self._score(messages, producer)
                    self._commit(consumer, messages)
                    idle_since = time.monotonic()
                elif (
                    self.s.idle_timeout_s and time.monotonic() - idle_since > self.s.idle_timeout_s
                ):
                    break
        finally:
            producer.flush(10)
            consumer.close()
            self.result.seconds = time.monotonic() - began
        return self.result

    def _idle_for(self, since: float) -> bool:
        return bool(self.s.idle_timeout_s) and time.monotonic() - since > self.s.idle_timeout_s

    def _limit_reached(self) -> bool:
        return bool(self.s.max_records) and self.result.consumed >= self.s.max_records

    def _poll(self, consumer: Consumer) -> list[Message]:
        return consume(consumer, self.s.batch_records, self.s.poll_timeout_s)

    def _score(self, messages: list[Message], producer: Producer) -> None:
        batch = schema.decode_batch(
            [m.value() or b"" for m in messages],
            require_label=False,
            with_ids=True,
            keys=[m.key() for m in messages],
        )
        for index, reason in batch.rejects:
            dead_letter(
                producer, messages[index], reason, self.s.dlq_topic, on_delivery=self._delivered
            )
        model = self.watcher.current
        assert model is not None  # wait_for_model ran; a reload never unsets it
        scores = model.predict(batch.features).tolist() if len(batch.features) else []
        for card_id, score in zip(batch.card_ids or [], scores, strict=True):
            value = orjson.dumps(
                {"card_id": card_id, "score": score, "model_version": model.version}
            )
            _produce(producer, self.s.scores_topic, card_id.encode(), value, self._delivered)
        remaining = producer.flush(30)
        if remaining or self._failures:
            raise RuntimeError(
                f"{remaining} produce(s) unacknowledged, {len(self._failures)} failed "
                f"(first: {self._failures[:1]}): not committing this poll"
            )
        self.result.consumed += len(messages)
        self.result.scored += len(scores)
        self.result.dead_lettered += len(batch.rejects)
        self.result.model_version = model.version

    def _commit(self, consumer: Consumer, messages: list[Message]) -> None:
        last: dict[tuple[str, int], int] = {}
        for m in messages:
            key = (m.topic() or self.s.topic, m.partition() or 0)
            last[key] = max(last.get(key, -1), m.offset() or 0)
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
        consumer.commit(offsets=offsets, asynchronous=False)


def _produce(producer: Producer, topic: str, key: bytes, value: bytes, on_delivery: Any) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
            return
        except BufferError:  # the local queue is full: let deliveries drain
            producer.poll(0.05)


def main(argv: list[str] | None = None) -> int:
    settings = parse_scorer(argv)
    configure_logging(settings.log_level)
    try:
        kafka, store = KafkaSettings(), ObjectStore.from_settings(StoreSettings())
    except ValueError as exc:
        print(f"invalid environment: {exc}", file=sys.stderr)
        return 2
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        result = Scorer(settings, kafka, store).run()
    except RuntimeError as exc:
        log.error("scoring failed", extra={"error": str(exc)})
        print(f"scoring failed: {exc}", file=sys.stderr)
        return 1
    summary = {**vars(result), "seconds": round(result.seconds, 2)}
    log.info("done", extra=summary)
    print(orjson.dumps(summary).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
