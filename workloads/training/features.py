"""`python -m workloads.training.features`: the feature stage, transactions in, Arrow batches out.

The GPU trainer should spend its time on steps, not on JSON. This stage runs on CPU nodes (KEDA
scales it with its group's lag, up to one replica per partition): it consumes `transactions`
in the `features` group, decodes and validates each poll in one vectorised pass
(`schema.decode_batch`), dead-letters what fails (large payloads to the object store, see
`dlq.py`), and produces the valid rows of each source partition as Arrow record batches
(`featurebatch.py`) to the same partition of `features`, with the source offsets they cover.

Offsets are committed only after every batch and dead letter of the poll is acknowledged, so
nothing is lost; a stage killed before its commit produces those offsets again, and the trainer
drops rows it already has (per source partition, by offset): counts stay exact. Exit codes: 0
done (idle or `--max-records`), 1 a failure named in one line, 2 bad settings, 75 Kafka
unreachable (the Deployment restarts it).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import numpy as np
import torch
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.names import GROUP_FEATURES, TOPIC_DLQ, TOPIC_FEATURES, TOPIC_TRANSACTIONS
from workloads.common import featurebatch, schema
from workloads.common.dlq import dead_letter
from workloads.common.flags import parse_flags
from workloads.common.kafka import consume
from workloads.common.logs import configure_logging
from workloads.common.objectstore import ObjectStore
from workloads.common.settings import KafkaSettings, StoreSettings
from workloads.training.source import (
    EXIT_BROKER_UNAVAILABLE,
    BrokerUnavailable,
    commit_within,
    undelivered,
)

log = logging.getLogger("workloads.training.features")
MAX_BATCH_ROWS = featurebatch.MAX_BATCH_ROWS


class FeatureSettings(BaseSettings):
    """The feature stage (`FEATURES_*`): transactions in, Arrow feature batches out."""

    model_config = SettingsConfigDict(env_prefix="FEATURES_", extra="forbid", populate_by_name=True)

    source_topic: str = TOPIC_TRANSACTIONS
    topic: str = TOPIC_FEATURES
    dlq_topic: str = TOPIC_DLQ
    group_id: str = Field(default=GROUP_FEATURES, validation_alias="KAFKA_GROUP_ID")
    poll_records: int = Field(default=4096, ge=1, le=100000, description="records per poll")
    batch_rows: int = Field(default=MAX_BATCH_ROWS, ge=1, le=MAX_BATCH_ROWS)
    poll_timeout_s: float = Field(default=0.5, gt=0)
    idle_timeout_s: float = Field(default=0.0, ge=0, description="exit when idle (0: never)")
    max_records: int = Field(default=0, ge=0, description="exit after this many (0: never)")
    threads: int = Field(default=1, ge=0, description="torch CPU threads (0: torch's default)")
    heartbeat_file: str = Field(default="", description="touched every loop (liveness probe)")
    log_level: str = "INFO"


@dataclass
class StageResult:
    consumed: int = 0
    rows: int = 0
    batches: int = 0
    dead_lettered: int = 0
    seconds: float = 0.0
    busy_seconds: float = 0.0  # from the first record to the last commit (no join, no idle)


class FeatureStage:
    def __init__(self, settings: FeatureSettings, kafka: KafkaSettings, store: ObjectStore):
        self.s, self.kafka, self.store = settings, kafka, store
        self.result = StageResult()
        self._failures: list[KafkaError] = []
        self._stopping = False

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        log.info("stop requested", extra={"signal": signum})
        self._stopping = True

    def _delivered(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._failures.append(err)

    def run(self) -> StageResult:
        signal.signal(signal.SIGTERM, self.request_stop)
        consumer = Consumer(
            {
                **self.kafka.client_config(),
                "group.id": self.s.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "partition.assignment.strategy": "cooperative-sticky",
                "session.timeout.ms": 10_000,  # a dead replica's partitions move in 10 s
            }
        )
        producer = Producer(
            {
                **self.kafka.client_config(),
                "enable.idempotence": True,
                "compression.type": "lz4",
                "linger.ms": 5,
            }
        )
        began = idle_since = time.monotonic()
        first, left_open = 0.0, False
        try:
            self._require_topics(consumer)
            consumer.subscribe([self.s.source_topic], on_assign=self._assigned)
            while not self._stopping and not self._limit_reached():
                if self.s.heartbeat_file:
                    Path(self.s.heartbeat_file).touch()
                messages = self._poll(consumer)
                if messages:
                    first = first or time.monotonic()
                    self.process(messages, producer)
                    self._commit(consumer, messages)
                    idle_since = time.monotonic()
                    self.result.busy_seconds = idle_since - first
                elif not self._has_partitions:  # idle time counts from the group join
                    idle_since = time.monotonic()
                elif self._idle(idle_since):
                    break
        except BrokerUnavailable:
            left_open = True  # closing would wait for the broker (or a stuck commit) for ever
            raise
        finally:
            self.result.seconds = time.monotonic() - began
            if not left_open:
                producer.flush(10)
                consumer.close()
        return self.result

    def _require_topics(self, consumer: Consumer) -> None:
        try:
            topics = consumer.list_topics(timeout=10).topics
        except KafkaException as exc:
            raise BrokerUnavailable(
                f"Kafka at {self.kafka.bootstrap_servers} unreachable: {exc.args[0].str()}"
            ) from None
        for topic in (self.s.source_topic, self.s.topic, self.s.dlq_topic):
            meta = topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                raise RuntimeError(f"topic {topic!r} does not exist: create it first")

    _has_partitions = False

    def _assigned(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._has_partitions = self._has_partitions or bool(partitions)

    def _idle(self, since: float) -> bool:
        return bool(self.s.idle_timeout_s) and time.monotonic() - since > self.s.idle_timeout_s

    def _limit_reached(self) -> bool:
        return bool(self.s.max_records) and self.result.consumed >= self.s.max_records

    def _poll(self, consumer: Consumer) -> list[Message]:
        return consume(consumer, self.s.poll_records, self.s.poll_timeout_s)

    def process(self, messages: list[Message], producer: Producer) -> None:
        """Dead letters and feature batches of one poll, all acknowledged before returning."""
        batch = schema.decode_batch(
            [m.value() or b"" for m in messages], keys=[m.key() for m in messages]
        )
        for index, reason in batch.rejects:
            dead_letter(
                producer, messages[index], reason, self.s.dlq_topic, self._delivered, self.store
            )
        n = len(messages)
        partitions = np.fromiter(map(Message.partition, messages), np.int64, n)
        offsets = np.fromiter(map(Message.offset, messages), np.int64, n)
        row = np.full(n, -1, dtype=np.int64)  # each message's row in batch.features, or -1
        row[batch.valid] = np.arange(len(batch.valid))
        features, labels = batch.features.numpy(), batch.labels.numpy()
        for p in np.unique(partitions).tolist():
            mine = np.flatnonzero(partitions == p)
            for at in range(0, len(mine), self.s.batch_rows):
                self._produce_batch(
                    producer, p, mine[at : at + self.s.batch_rows], row, offsets, features, labels
                )
        remaining = producer.flush(30)
        if remaining or self._failures:
            self._raise_undelivered(remaining)
        self.result.consumed += n
        self.result.rows += len(batch.valid)
        self.result.dead_lettered += len(batch.rejects)

    def _produce_batch(
        self,
        producer: Producer,
        partition: int,
        mine: np.ndarray,
        row: np.ndarray,
        offsets: np.ndarray,
        features: np.ndarray,
        labels: np.ndarray,
    ) -> None:
        rows, ok = row[mine], row[mine] >= 0
        value = featurebatch.encode(offsets[mine][ok], features[rows[ok]], labels[rows[ok]])
        headers = featurebatch.headers(
            self.s.source_topic,
            partition,
            int(offsets[mine[0]]),
            int(offsets[mine[-1]]) + 1,
            offsets[mine][~ok].tolist(),
        )
        while True:
            try:
                producer.produce(
                    self.s.topic,
                    value=value,
                    partition=partition,
                    headers=headers,
                    on_delivery=self._delivered,
                )
                break
            except BufferError:
                producer.poll(0.1)
        self.result.batches += 1

    def _raise_undelivered(self, remaining: int) -> None:
        error = undelivered(remaining, self._failures, "produce(s)")
        raise type(error)(f"{error}: not committing this poll")

    def _commit(self, consumer: Consumer, messages: list[Message]) -> None:
        last: dict[int, int] = {}
        for m in messages:
            p = m.partition() or 0
            last[p] = max(last.get(p, -1), m.offset() or 0)
        assigned = {tp.partition for tp in consumer.assignment()}  # a rebalance may revoke
        offsets = [
            TopicPartition(self.s.source_topic, p, o + 1) for p, o in last.items() if p in assigned
        ]
        commit_within(consumer, offsets)


def main(argv: list[str] | None = None) -> int:
    settings = parse_flags(FeatureSettings, "python -m workloads.training.features", argv)
    configure_logging(settings.log_level)
    try:
        kafka, store = KafkaSettings(), ObjectStore.from_settings(StoreSettings())
    except ValueError as exc:
        print(f"invalid environment: {exc}", file=sys.stderr)
        return 2
    if settings.threads:
        torch.set_num_threads(settings.threads)
    stage = FeatureStage(settings, kafka, store)
    try:
        result = stage.run()
    except BrokerUnavailable as exc:
        log.error("broker unavailable", extra={"error": str(exc)})
        print(f"feature stage stopped: {exc}; exit {EXIT_BROKER_UNAVAILABLE}", file=sys.stderr)
        return EXIT_BROKER_UNAVAILABLE
    except RuntimeError as exc:
        log.error("feature stage failed", extra={"error": str(exc)})
        print(f"feature stage failed: {exc}", file=sys.stderr)
        return 1
    log.info("done", extra={**vars(result), "seconds": round(result.seconds, 2)})
    return 0


if __name__ == "__main__":
    code = main()
    if code == EXIT_BROKER_UNAVAILABLE:  # librdkafka's teardown would wait for the broker
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
