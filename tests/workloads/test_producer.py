"""The producer and the dead-letter queue against a real Kafka-protocol broker (embedded Tansu)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from workloads import producer as producer_module
from workloads.common.dlq import dead_letter
from workloads.common.embedded import embedded_broker, free_port
from workloads.common.schema import decode_batch, generate
from workloads.common.settings import KafkaSettings

pytestmark = pytest.mark.timeout(20)


@pytest.fixture(scope="module")
def settings() -> Iterator[KafkaSettings]:
    with embedded_broker() as bootstrap:
        yield KafkaSettings(bootstrap_servers=bootstrap)


def _topic(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def _consume(settings: KafkaSettings, topic: str, partitions: int, count: int) -> list[Message]:
    """Every message of `topic` from offset 0 until `count` arrived (bounded: 10 s)."""
    consumer = Consumer(
        {**settings.client_config(), "group.id": _topic("reader"), "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    messages: list[Message] = []
    deadline = time.monotonic() + 10
    try:
        while len(messages) < count and time.monotonic() < deadline:
            for m in consumer.consume(1000, timeout=0.5):
                assert m.error() is None, m.error()
                messages.append(m)
    finally:
        consumer.close()
    return messages


def test_produce_keys_by_card_and_counts_every_record(settings):
    topic = _topic("transactions")
    summary = producer_module.produce(
        settings, 5000, seed=11, topic=topic, partitions=4, malformed_every=500
    )
    assert summary["produced"] == 5000 and summary["failed"] == 0
    assert summary["malformed"] == 10 and summary["records_per_s"] > 0

    messages = _consume(settings, topic, 4, 5000)
    assert len(messages) == 5000
    partitions_of: dict[bytes, set[int]] = defaultdict(set)
    for m in messages:
        partitions_of[m.key() or b""].add(m.partition())
    assert all(re.fullmatch(rb"card-\d{5}", key) for key in partitions_of)
    assert all(len(parts) == 1 for parts in partitions_of.values())
    assert len({m.partition() for m in messages}) == 4

    batch = decode_batch([m.value() or b"" for m in messages])
    assert len(batch.rejects) == 10 and len(batch.valid) == 4990
    expected = {r["card_id"] for r in generate(5000, seed=11)}
    assert {k.decode() for k in partitions_of} == expected
    for i in batch.valid[:50].tolist():
        assert (
            json.loads(messages[i].value() or b"")["card_id"] == (messages[i].key() or b"").decode()
        )


def test_dead_letter_keeps_the_record_and_names_its_source(settings):
    source, dlq = _topic("source"), _topic("dlq")
    producer_module.ensure_topic(settings, source, 1)
    producer_module.ensure_topic(settings, dlq, 1)
    producer = Producer(settings.client_config())
    producer.produce(source, key=b"card-00042", value=b"{broken", headers=[("trace", b"t-1")])
    producer.flush(5)
    (original,) = _consume(settings, source, 1, 1)

    dead_letter(producer, original, "malformed JSON: unexpected end", topic=dlq)
    assert producer.flush(5) == 0
    (dead,) = _consume(settings, dlq, 1, 1)
    assert dead.key() == b"card-00042" and dead.value() == b"{broken"
    headers = {k: v.decode() for k, v in dead.headers() or [] if v is not None}
    assert headers == {
        "trace": "t-1",
        "x-ascent-reason": "malformed JSON: unexpected end",
        "x-ascent-source-topic": source,
        "x-ascent-source-partition": "0",
        "x-ascent-source-offset": str(original.offset()),
    }


def test_cli_creates_the_topic_and_prints_a_summary(settings, capsys):
    topic = _topic("cli")
    argv = ["--bootstrap-servers", settings.bootstrap_servers, "--count", "300", "--seed", "3"]
    assert producer_module.main([*argv, "--topic", topic, "--partitions", "2"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["produced"] == 300 and summary["failed"] == 0 and summary["topic"] == topic
    assert len(_consume(settings, topic, 2, 300)) == 300


def test_failed_deliveries_are_counted_and_fail_the_run(monkeypatch, capsys):
    dead = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")  # nothing listens
    summary = producer_module.produce(
        dead, 20, topic="nowhere", partitions=0, config={"message.timeout.ms": 1000}
    )
    assert summary["produced"] == 0 and summary["failed"] == 20 and summary["errors"]

    monkeypatch.setattr(producer_module, "produce", lambda *a, **k: summary)
    assert producer_module.main(["--count", "20"]) == 1
    assert json.loads(capsys.readouterr().out)["failed"] == 20
