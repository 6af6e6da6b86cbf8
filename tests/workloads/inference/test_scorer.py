"""The stream scorer against a real broker (Tansu): every good record scored once with the
served version, offsets committed after the scores, malformed records dead-lettered."""

from __future__ import annotations

import orjson

from workloads.common.objectstore import ObjectStore
from workloads.common.settings import KafkaSettings
from workloads.inference.scorer import Scorer
from workloads.inference.settings import ScorerSettings
from workloads.producer import ensure_topic, produce

from ..kafka_checks import committed, per_partition, read_all
from .conftest import publish

PARTITIONS = 3


def test_scores_every_record_and_commits_after(kafka_bootstrap, file_store, unique):
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topic, scores, dlq, group = (f"{p}-{unique}" for p in ("tx", "scores", "dlq", "scorer"))
    total, malformed_every = 10_200, 51  # 200 malformed, 10 000 good
    summary = produce(
        kafka, total, seed=5, topic=topic, partitions=PARTITIONS, malformed_every=malformed_every
    )
    assert summary["produced"] == total
    ensure_topic(kafka, scores, PARTITIONS)
    ensure_topic(kafka, dlq, 1)
    publish(file_store, "v1", seed=1)
    settings = ScorerSettings(
        topic=topic,
        scores_topic=scores,
        dlq_topic=dlq,
        group_id=group,
        idle_timeout_s=2,
        model_wait_s=5,
    )
    quick_join = {"session.timeout.ms": 2000, "heartbeat.interval.ms": 500}
    result = Scorer(settings, kafka, ObjectStore.from_url(file_store), quick_join).run()

    bad = total // malformed_every
    assert (result.consumed, result.dead_lettered) == (total, bad)
    assert result.scored == total - bad == 10_000
    out = [
        orjson.loads(v)
        for vs in read_all(kafka_bootstrap, scores, 10_000, PARTITIONS).values()
        for v in vs
    ]
    assert len(out) == 10_000
    assert {r["model_version"] for r in out} == {"v1"}
    assert all(0.0 <= r["score"] <= 1.0 and r["card_id"].startswith("card-") for r in out)
    assert sum(map(len, read_all(kafka_bootstrap, dlq, bad, 1).values())) == bad
    assert committed(kafka_bootstrap, group, topic, PARTITIONS) == per_partition(
        kafka_bootstrap, topic, total, PARTITIONS
    )
