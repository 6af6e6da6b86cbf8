"""The feature stage and the trainer reading its batches, against the real broker and S3 API:
the same counts and held-out slice as reading `transactions` directly, exact counts through a
stage replay, oversized dead letters stored whole, and broker outages as one line."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from infra.names import TOPIC_DLQ
from tests.moto_server import free_port
from workloads.common import dlq, featurebatch, schema
from workloads.common.objectstore import ObjectStore
from workloads.common.settings import KafkaSettings
from workloads.producer import ensure_topic

from .test_training import PARTITIONS, _args, _env, _produce, _summary, _train


def _stage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "workloads.training.features", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def _stage_args(source: str, features: str, dlq_topic: str = TOPIC_DLQ) -> list[str]:
    return [
        "--source-topic", source, "--topic", features, "--dlq-topic", dlq_topic,
        "--idle-timeout-s", "2",
    ]  # fmt: skip


def _batches(bootstrap: str, topic: str) -> list[featurebatch.FeatureBatch]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "read", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    out, empty = [], 0
    try:
        while empty < 4:
            got = [m for m in c.consume(500, 0.5) if m.error() is None]
            empty = 0 if got else empty + 1
            out += [featurebatch.decode(m.value(), m.headers() or []) for m in got]
    finally:
        c.close()
    return out


def _dead_letters(bootstrap: str, topic: str, expected: int) -> list[Any]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "read", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    out: list[Any] = []
    try:
        for _ in range(60):
            out += [m for m in c.consume(100, 0.5) if m.error() is None]
            if len(out) >= expected:
                break
    finally:
        c.close()
    return out


def test_trainer_on_features_matches_the_trainer_on_records(kafka_bootstrap, s3_env, unique):
    tx, feats, dlq_topic = f"tx-{unique}", f"feat-{unique}", f"dlq-{unique}"
    _produce(kafka_bootstrap, tx, 12_000, malformed_every=97)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    ensure_topic(kafka, feats, PARTITIONS)
    ensure_topic(kafka, dlq_topic, 1)
    env = _env(kafka_bootstrap, s3_env, f"features-{unique}")
    stage = _stage(env, *_stage_args(tx, feats, dlq_topic))
    assert stage.returncode == 0, stage.stderr[-3000:]

    batches = _batches(kafka_bootstrap, feats)
    rows = sum(len(b.offsets) for b in batches)
    dead = sum(len(b.dead_letters) for b in batches)
    assert rows + dead == 12_000 and dead > 0
    assert {b.partition for b in batches} == set(range(PARTITIONS))
    for b in batches:  # each batch covers its range exactly once
        covered = sorted([*b.offsets.tolist(), *b.dead_letters.tolist()])
        assert covered == list(range(b.start, b.end))
    assert len(_dead_letters(kafka_bootstrap, dlq_topic, dead)) == dead

    via_features = _summary(
        _train(
            _env(kafka_bootstrap, s3_env, f"trainer-f-{unique}"),
            *_args(feats, f"f-{unique}", "--input", "features"),
        )
    )
    via_records = _summary(
        _train(_env(kafka_bootstrap, s3_env, f"trainer-r-{unique}"), *_args(tx, f"r-{unique}"))
    )
    for key in ("trained", "held_out", "dead_lettered", "eval_records", "positives"):
        assert via_features[key] == via_records[key], key
    assert via_features["trained"] + via_features["held_out"] + via_features["dead_lettered"] == (
        12_000
    )
    assert via_features["roc_auc"] >= 0.9


def test_a_stage_replay_adds_no_duplicates(kafka_bootstrap, s3_env, unique):
    """A stage that dies after producing and before committing produces those offsets again:
    here its group is rewound to mid-stream (partition 0 to the start) and it runs again."""
    tx, feats = f"tx-{unique}", f"feat-{unique}"
    _produce(kafka_bootstrap, tx, 8_000, malformed_every=50)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    ensure_topic(kafka, feats, PARTITIONS)
    group = f"features-{unique}"
    env = _env(kafka_bootstrap, s3_env, group)
    assert _stage(env, *_stage_args(tx, feats)).returncode == 0
    rewind = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group})
    rewind.commit(
        offsets=[TopicPartition(tx, p, 0 if p == 0 else 333 * p) for p in range(PARTITIONS)],
        asynchronous=False,
    )
    rewind.close()
    assert _stage(env, *_stage_args(tx, feats)).returncode == 0
    batches = _batches(kafka_bootstrap, feats)
    assert sum(len(b.offsets) + len(b.dead_letters) for b in batches) > 8_000  # replayed

    summary = _summary(
        _train(
            _env(kafka_bootstrap, s3_env, f"trainer-{unique}"),
            *_args(feats, unique, "--input", "features"),
        )
    )
    assert summary["trained"] + summary["held_out"] + summary["dead_lettered"] == 8_000
    assert summary["dead_lettered"] == 8_000 // 50


def _oversized_record(unique: str) -> bytes:
    record = schema.encode(next(iter(schema.generate(1, seed=5))))
    return record[:-1] + b',"note":"' + b"x" * 900_000 + b'"'  # ~0.9 MB, broken JSON


def test_an_oversized_bad_record_is_stored_whole_and_training_goes_on(
    kafka_bootstrap, s3_env, unique
):
    from confluent_kafka import Producer

    tx, dlq_topic = f"tx-{unique}", f"dlq-{unique}"
    _produce(kafka_bootstrap, tx, 4_000)
    ensure_topic(KafkaSettings(bootstrap_servers=kafka_bootstrap), dlq_topic, 1)
    big = _oversized_record(unique)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 2_000_000})
    producer.produce(tx, value=big, key=b"card-big", partition=1)
    good = schema.encode(next(iter(schema.generate(1, seed=6))))
    producer.produce(tx, value=good, key=b"another-card", partition=2)  # routed as another card
    assert producer.flush(10) == 0

    env = _env(kafka_bootstrap, s3_env, f"trainer-{unique}")
    summary = _summary(_train(env, *_args(tx, unique, "--dlq-topic", dlq_topic)))
    assert summary["dead_lettered"] == 2
    assert summary["trained"] + summary["held_out"] == 4_000
    letters = {m.key(): m for m in _dead_letters(kafka_bootstrap, dlq_topic, 2)}
    misrouted = {k: v.decode() for k, v in letters[b"another-card"].headers()}
    assert misrouted[dlq.REASON].startswith("key: b'another-card' does not match card_id")
    assert letters[b"another-card"].value() == good
    letter = letters[b"card-big"]
    headers = {k: v.decode() for k, v in letter.headers()}
    assert letter.value() in (None, b"") and letter.key() == b"card-big"
    assert headers[dlq.PAYLOAD_SIZE] == str(len(big))
    assert headers[dlq.PAYLOAD_SHA256] == hashlib.sha256(big).hexdigest()
    assert headers[dlq.SOURCE_PARTITION] == "1" and headers[dlq.REASON].startswith("malformed")
    stored = ObjectStore.from_url(s3_env).get_bytes(headers[dlq.PAYLOAD_KEY])
    assert stored == big


def _one_line_failure(proc: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert proc.returncode == code, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) <= 4, lines  # librdkafka's repeats held back; no traceback
    assert "Traceback" not in proc.stderr
    assert all(w in lines[-1] for w in words), lines[-1]


def test_broker_down_at_start_is_one_line_and_exit_75(s3_env, unique):
    down = f"127.0.0.1:{free_port()}"
    env = {**_env(down, s3_env, unique)}
    trainer = _train(env, *_args(f"tx-{unique}", unique), timeout=60)
    _one_line_failure(trainer, 75, down, "unreachable", "exit 75")
    stage = _stage(env, *_stage_args(f"tx-{unique}", f"feat-{unique}"), timeout=60)
    _one_line_failure(stage, 75, down, "unreachable", "exit 75")
