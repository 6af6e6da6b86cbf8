"""#19 item 1: a broker outage while committing no longer hangs the trainer for ever (a GPU node
held to the 24 h deadline): the commit gives up in bounded time with a named error, the consumer
is left rather than closed (closing waits for the stuck commit too), and the trainer exits 75,
which the Job's pod failure policy retries. Against a real broker (Tansu) stopped mid-run."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Producer, TopicPartition

from infra.k8s.training import APP_ERROR_EXIT_CODES
from workloads.common.embedded import embedded_broker
from workloads.common.settings import KafkaSettings
from workloads.topics import ensure_topics
from workloads.training.source import EXIT_BROKER_UNAVAILABLE, BrokerUnavailable, PartitionSource

pytestmark = pytest.mark.timeout(60)


def test_a_commit_during_an_outage_fails_in_bounded_time_and_close_does_not_hang():
    topic, group = f"t-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    broker = embedded_broker()
    bootstrap = broker.__enter__()
    try:
        settings = KafkaSettings(bootstrap_servers=bootstrap)
        ensure_topics(settings, {topic: 1})
        producer = Producer(settings.client_config())
        for i in range(20):
            producer.produce(topic, value=b"x", key=str(i).encode())
        assert producer.flush(10) == 0
        source = PartitionSource(settings, topic, group)
        taken: list = []
        deadline = time.monotonic() + 10
        while len(taken) < 20 and time.monotonic() < deadline:
            taken += source.poll(20, 1.0)
        assert len(taken) == 20
        source.commit({0: 10}, timeout_s=5)  # the broker is up: committed
        (committed,) = source.consumer.committed([TopicPartition(topic, 0)], timeout=5)
        assert committed.offset == 10
    finally:
        broker.__exit__(None, None, None)  # the outage

    began = time.monotonic()
    with pytest.raises(BrokerUnavailable, match=r"took no offset commit in 3 s"):
        source.commit({0: 20}, timeout_s=3)
    assert time.monotonic() - began < 6
    began = time.monotonic()
    source.close()  # returns: the stuck commit is left to the process's exit
    assert time.monotonic() - began < 1


def test_the_outage_exit_code_is_retried_by_the_job_not_failed():
    assert EXIT_BROKER_UNAVAILABLE not in APP_ERROR_EXIT_CODES  # FailJob only on app errors
