"""The trainer's view of Kafka: its share of the topic's partitions, read from where it left off.

Partitions are assigned, not subscribed: rank r of w takes the partitions p with p % w == r, so
every rank knows its share without a group rebalance. Offsets are committed in the `trainer`
group only after the checkpoint holding them is durable (see trainer.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from workloads.common.settings import KafkaSettings

log = logging.getLogger(__name__)


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
        meta = self.consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            self.consumer.close()
            raise RuntimeError(f"topic {topic!r} does not exist on {settings.bootstrap_servers}")
        self.partitions = partitions_for(rank, world, list(meta.partitions))
        committed = {
            tp.partition: tp.offset
            for tp in self.consumer.committed(
                [TopicPartition(topic, p) for p in self.partitions], timeout=10
            )
        }
        self.position: dict[int, int] = {}
        for p in self.partitions:
            if start and p in start:
                self.position[p] = start[p]  # the checkpoint is the source of truth
            elif committed.get(p, -1) >= 0:
                self.position[p] = committed[p]
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
        messages = self.consumer.consume(num_messages=max_records, timeout=timeout)
        good = []
        for m in messages:
            err = m.error()
            if err is None:
                good.append(m)
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("consume error", extra={"error": str(err)})
        return good

    def commit(self, offsets: Mapping[int, int]) -> None:
        """Commit the next offsets of this source's partitions, synchronously. Not while another
        thread is inside `poll` (see feed.Prefetcher.commit)."""
        mine = [
            TopicPartition(self.topic, p, o) for p, o in offsets.items() if p in self.partitions
        ]
        if mine:
            self.consumer.commit(offsets=mine, asynchronous=False)

    def close(self) -> None:
        self.consumer.close()
