"""`python -m workloads.topics` against a real Kafka-protocol broker (embedded Tansu): creates the
platform's topics with the promised partitions, is idempotent, and names a topic it cannot grow.
Tansu does not implement CreatePartitions, so growing is tested only as a named failure here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient

from infra.names import TOPIC_FEATURES, TOPIC_TRANSACTIONS, TOPICS
from workloads.common.embedded import embedded_broker
from workloads.topics import EXIT_FAILED, EXIT_OK, PLATFORM_TOPICS, main

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with embedded_broker() as servers:
        yield servers


def _partitions(bootstrap: str, topic: str) -> int:
    meta = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    return len(meta.topics[topic].partitions)


def test_creates_each_topic_with_the_partitions_and_is_idempotent(bootstrap, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    names = [f"t-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    assert main(["--partitions", "4", *names]) == EXIT_OK
    assert [_partitions(bootstrap, n) for n in names] == [4, 4, 4]
    assert capsys.readouterr().out.count(" created ") == 3
    assert main(["--partitions", "4", *names]) == EXIT_OK  # again: nothing to do
    assert capsys.readouterr().out.count(" ready ") == 3


def test_by_default_every_platform_topic_gets_one_count_features_included(
    bootstrap, monkeypatch, capsys
):
    """The feature stage writes each partition of `features` from the same partition of
    `transactions`: the default topics are all of the platform's, with one partition count."""
    assert PLATFORM_TOPICS == TOPICS and TOPIC_FEATURES in PLATFORM_TOPICS
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    assert main(["--partitions", "3"]) == EXIT_OK
    assert {t: _partitions(bootstrap, t) for t in TOPICS} == dict.fromkeys(TOPICS, 3)
    assert _partitions(bootstrap, TOPIC_FEATURES) == _partitions(bootstrap, TOPIC_TRANSACTIONS)
    assert f"topics: {TOPIC_FEATURES} created" in capsys.readouterr().out


def test_a_topic_with_too_few_partitions_is_grown_or_named(bootstrap, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    name = f"small-{uuid.uuid4().hex[:6]}"
    assert main(["--partitions", "1", name]) == EXIT_OK
    code = main(["--partitions", "3", name])
    if code == EXIT_OK:  # a broker with CreatePartitions
        assert _partitions(bootstrap, name) == 3
    else:
        assert code == EXIT_FAILED
        assert f"{name}: has 1 partitions, needs 3" in capsys.readouterr().err


def test_bad_settings_are_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_AUTH", "aws-iam")
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert main(["--partitions", "2"]) == 2
    assert "needs AWS_REGION" in capsys.readouterr().err
