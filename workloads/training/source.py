"""The trainer's view of Kafka: its share of the topic's partitions, read from where it left off.

Partitions are assigned, not subscribed: rank r of w takes the partitions p with p % w == r, so
every rank knows its share without a group rebalance. Offsets are committed in the `trainer`
group only after the checkpoint holding them is durable (see trainer.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from workloads.common.kafka import consume
from workloads.common.settings import KafkaSettings

log = logging.getLogger(__name__)

COMMIT_TIMEOUT_S = 60.0
COMMIT_ATTEMPTS = 4  # a commit the broker refuses is retried after 1, 2, 4 s
EXIT_BROKER_UNAVAILABLE = 75  # EX_TEMPFAIL: the Job retries the pod; the checkpoint is the truth


class BrokerUnavailable(RuntimeError):
    """Kafka is unreachable or did not take the offsets in time. A synchronous commit has no
    timeout of its own (librdkafka waits for the coordinator for ever, and so does `close`), so
    the workload gives up and exits; nothing was committed past the last durable checkpoint,
    which the next pod resumes from. `wedged`: a commit is still stuck inside librdkafka."""

    def __init__(self, message: str, wedged: bool = False):
        super().__init__(message)
        self.wedged = wedged


def commit_within(
    consumer: Consumer,
    offsets: list[TopicPartition],
    timeout_s: float = COMMIT_TIMEOUT_S,
    attempts: int = COMMIT_ATTEMPTS,
) -> None:
    """Commit `offsets` synchronously within `timeout_s`; a refused commit is retried with
    backoff. BrokerUnavailable when Kafka does not take them. Not while another thread is
    inside the consumer's `poll`."""
    error: list[KafkaException] = []
    for attempt in range(attempts if offsets else 0):
        error = []
        done = threading.Event()

        def run(error: list[KafkaException] = error, done: threading.Event = done) -> None:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                error.append(exc)
            finally:
                done.set()

        threading.Thread(target=run, name="offset-commit", daemon=True).start()
        if not done.wait(timeout_s):  # that commit is still inside librdkafka: no retry
            raise BrokerUnavailable(
                f"Kafka took no offset commit in {timeout_s:g} s (broker unreachable?)",
                wedged=True,
            )
        if not error:
            return
        log.warning("offset commit refused", extra={"error": str(error[0]), "attempt": attempt + 1})
        if attempt + 1 < attempts:
            time.sleep(2**attempt)
    if offsets:
        raise BrokerUnavailable(f"Kafka refused the offset commit {attempts} times: {error[0]}")


_ABANDONED: list[Consumer] = []
# delivery errors that mean "Kafka is not there" rather than "this record is refused":
# librdkafka does not call a message timeout retriable, but a broker outage ends in one
_UNAVAILABLE = {
    KafkaError._MSG_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
}


def undelivered(remaining: int, failures: list[KafkaError], what: str) -> RuntimeError:
    """The error for produces not acknowledged: BrokerUnavailable (the Job retries, exit 75)
    when Kafka was unreachable, RuntimeError (exit 1) when a record was refused."""
    first = failures[0] if failures else None
    message = (
        f"{remaining} {what} unacknowledged, {len(failures)} failed (first: {first})"
        if remaining
        else f"{len(failures)} {what} failed (first: {first})"
    )
    if remaining or (first is not None and (first.retriable() or first.code() in _UNAVAILABLE)):
        return BrokerUnavailable(message)
    return RuntimeError(message)


def partitions_for(rank: int, world: int, partitions: list[int]) -> list[int]:
    return [p for p in sorted(partitions) if p % world == rank]


class PartitionSource:
    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        group: str,
        rank: int = 0,
        world: int = 1,
        start: Mapping[int, int] | None = None,
    ):
        self.topic = topic
        self.consumer = Consumer(
            {
                **settings.client_config(),
                "group.id": group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
            }
        )
        try:
            meta = self.consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                self.consumer.close()
                raise RuntimeError(
                    f"topic {topic!r} does not exist on {settings.bootstrap_servers}"
                )
            self.partitions = partitions_for(rank, world, list(meta.partitions))
            self.committed = {
                tp.partition: tp.offset
                for tp in self.consumer.committed(
                    [TopicPartition(topic, p) for p in self.partitions], timeout=10
                )
                if tp.offset >= 0
            }
        except KafkaException as exc:
            _ABANDONED.append(self.consumer)  # its teardown would wait for the broker
            raise BrokerUnavailable(
                f"Kafka at {settings.bootstrap_servers} unreachable: {exc.args[0].str()}"
            ) from None
        self.position: dict[int, int] = {}
        for p in self.partitions:
            if start and p in start:
                self.position[p] = start[p]  # the checkpoint is the source of truth
            elif p in self.committed:
                self.position[p] = self.committed[p]
            else:
                self.position[p] = OFFSET_BEGINNING
        self.consumer.assign([TopicPartition(topic, p, o) for p, o in self.position.items()])
        log.info("assigned partitions", extra={"partitions": self.partitions, "start": start})

    def require_topic(self, topic: str) -> None:
        meta = self.consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise RuntimeError(f"topic {topic!r} does not exist: create it before training")

    def poll(self, max_records: int, timeout: float) -> list[Message]:
        if not self.partitions:
            return []
        return consume(self.consumer, max_records, timeout)

    def commit(
        self,
        offsets: Mapping[int, int],
        timeout_s: float = COMMIT_TIMEOUT_S,
        attempts: int = COMMIT_ATTEMPTS,
    ) -> None:
        """Commit the next offsets of this source's partitions (see `commit_within`)."""
        mine = [
            TopicPartition(self.topic, p, o) for p, o in offsets.items() if p in self.partitions
        ]
        try:
            commit_within(self.consumer, mine, timeout_s, attempts)
        except BrokerUnavailable as exc:
            self._wedged = exc.wedged
            raise

    _wedged = False

    def close(self) -> None:
        if self._wedged:  # closing would wait for the stuck commit, for ever
            log.warning("consumer left open: a commit never returned")
            return
        self.consumer.close()
