"""Reading a topic back in tests: per-partition counts, every value, committed offsets."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, TopicPartition


def read_all(
    bootstrap: str, topic: str, expected: int, partitions: int, timeout: float = 30
) -> dict[int, list[bytes]]:
    """Every value of the topic by partition, read until `expected` are in (watermarks are
    unreliable on the test broker) or `timeout` passes."""
    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"read-{topic}", "enable.auto.commit": False}
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values: dict[int, list[bytes]] = {}
    deadline = time.monotonic() + timeout
    try:
        while sum(map(len, values.values())) < expected and time.monotonic() < deadline:
            for m in c.consume(1000, 0.5):
                if m.error() is None:
                    values.setdefault(m.partition(), []).append(m.value())
    finally:
        c.close()
    return values


def per_partition(bootstrap: str, topic: str, expected: int, partitions: int) -> dict[int, int]:
    """How many records each partition holds (the next offset, as offsets start at 0)."""
    return {p: len(v) for p, v in read_all(bootstrap, topic, expected, partitions).items()}


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()
