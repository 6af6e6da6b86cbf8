"""The trainer against a real broker (Tansu) and a real S3 API (moto): train, resume after a
SIGKILL, dead-letter, torchrun, gate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from infra.names import TOPIC_DLQ
from workloads.common.objectstore import ObjectStore
from workloads.common.registry import ModelRegistry
from workloads.common.settings import KafkaSettings
from workloads.producer import ensure_topic, produce

from .kafka_checks import committed, per_partition

PARTITIONS = 4
VENV_BIN = Path(sys.executable).parent


def _produce(bootstrap: str, topic: str, count: int, **kw: Any) -> dict[str, Any]:
    summary = produce(
        KafkaSettings(bootstrap_servers=bootstrap),
        count,
        seed=7,
        topic=topic,
        partitions=PARTITIONS,
        **kw,
    )
    assert summary["produced"] == count and summary["failed"] == 0
    ensure_topic(KafkaSettings(bootstrap_servers=bootstrap), TOPIC_DLQ, 1)
    return summary


def _env(bootstrap: str, store_url: str, group: str) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "OBJECT_STORE_URL": store_url,
        "KAFKA_GROUP_ID": group,
        "OMP_NUM_THREADS": "1",
    }


def _train(
    env: dict[str, str], *args: str, runner: list[str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    cmd = (runner or [sys.executable]) + ["-m", "workloads.training", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def _args(topic: str, run_id: str, *extra: str) -> list[str]:
    """The flags every test passes: its own topic and run, a short idle timeout, then `extra`."""
    return ["--topic", topic, "--run-id", run_id, "--idle-timeout-s", "2", *extra]


def _summary(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('{"steps"')]
    assert len(lines) == 1, proc.stdout  # printed once, by global rank 0
    return json.loads(lines[0])


def _committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    return committed(bootstrap, group, topic, PARTITIONS)


def _per_partition(bootstrap: str, topic: str, expected: int) -> dict[int, int]:
    return per_partition(bootstrap, topic, expected, PARTITIONS)


def test_trains_to_the_bar_and_publishes(kafka_bootstrap, s3_env, unique):
    topic, group = f"tx-{unique}", f"trainer-{unique}"
    _produce(kafka_bootstrap, topic, 20_000)
    proc = _train(_env(kafka_bootstrap, s3_env, group), *_args(topic, unique))
    summary = _summary(proc)
    assert summary["roc_auc"] >= 0.9
    assert summary["trained"] + summary["held_out"] == 20_000
    registry = ModelRegistry(ObjectStore.from_url(s3_env), "fraud-detector")
    latest = registry.latest()
    assert latest is not None and latest["version"] == summary["version"]
    manifest = registry.manifest(summary["version"])
    assert manifest["metrics"]["roc_auc"] == summary["roc_auc"]
    assert manifest["gate"] == {"min_auc": 0.85, "passed": True}
    assert {"version", "metrics", "input_schema", "data", "code_version", "created_at"} <= set(
        manifest
    )
    assert registry.read(summary["version"], "training_curve.png").startswith(b"\x89PNG")
    counts = _per_partition(kafka_bootstrap, topic, 20_000)
    assert {int(p): o for p, o in manifest["data"]["offsets"].items()} == counts
    assert _committed(kafka_bootstrap, group, topic) == counts


def test_resumes_after_sigkill_and_accounts_for_every_record(kafka_bootstrap, s3_env, unique):
    topic, group = f"tx-{unique}", f"trainer-{unique}"
    _produce(kafka_bootstrap, topic, 20_000)
    env = _env(kafka_bootstrap, s3_env, group)
    args = _args(topic, unique, "--batch-size", "32", "--checkpoint-every", "10")
    store = ObjectStore.from_url(s3_env)
    pointer = f"checkpoints/{unique}/latest.json"
    first = subprocess.Popen(
        [sys.executable, "-m", "workloads.training", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if store.exists(pointer) and store.get_json(pointer)["step"] >= 100:
            break
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    killed_at = store.get_json(pointer)
    assert ModelRegistry(store, "fraud-detector").versions() == []  # it died mid-run
    committed = _committed(kafka_bootstrap, group, topic)
    # committed offsets never run ahead of the durable checkpoint
    assert all(committed.get(int(p), -1) <= o for p, o in killed_at["offsets"].items())

    second = _train(env, *args)
    summary = _summary(second)
    assert f'"step": {killed_at["step"]}' in second.stderr  # resumed from that checkpoint
    counts = _per_partition(kafka_bootstrap, topic, 20_000)
    final = store.get_json(pointer)
    assert {int(p): o for p, o in final["offsets"].items()} == counts
    assert _committed(kafka_bootstrap, group, topic) == counts
    assert summary["trained"] + summary["held_out"] + summary["dead_lettered"] == 20_000


def test_malformed_records_are_dead_lettered_and_training_goes_on(kafka_bootstrap, s3_env, unique):
    topic, group = f"tx-{unique}", f"trainer-{unique}"
    _produce(kafka_bootstrap, topic, 5_000, malformed_every=100)
    ensure_topic(KafkaSettings(bootstrap_servers=kafka_bootstrap), f"dlq-{unique}", 1)
    proc = _train(
        _env(kafka_bootstrap, s3_env, group),
        *_args(topic, unique, "--dlq-topic", f"dlq-{unique}", "--min-auc", "0"),
    )
    summary = _summary(proc)
    assert summary["dead_lettered"] == 50
    assert summary["trained"] + summary["held_out"] == 4_950
    c = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"dlq-reader-{unique}",
            "auto.offset.reset": "earliest",
        }
    )
    c.assign([TopicPartition(f"dlq-{unique}", 0, 0)])
    dead: list[Any] = []
    deadline = time.monotonic() + 30
    while len(dead) < 50 and time.monotonic() < deadline:
        dead += [m for m in c.consume(100, 0.5) if m.error() is None]
    c.close()
    assert len(dead) == 50
    assert all(dict(m.headers())["x-ascent-reason"] for m in dead)


def test_torchrun_two_ranks_train_and_publish_one_model(kafka_bootstrap, tmp_path, unique):
    topic, group = f"tx-{unique}", f"trainer-{unique}"
    _produce(kafka_bootstrap, topic, 8_000)
    url = f"file://{tmp_path}/store"
    runner = [str(VENV_BIN / "torchrun"), "--standalone", "--nproc-per-node", "2"]
    proc = _train(
        _env(kafka_bootstrap, url, group),
        *_args(topic, unique, "--min-auc", "0"),
        runner=runner,
        timeout=180,
    )
    summary = _summary(proc)
    assert summary["trained"] + summary["held_out"] == 8_000
    registry = ModelRegistry(ObjectStore.from_url(url), "fraud-detector")
    assert registry.versions() == [summary["version"]]
    assert _committed(kafka_bootstrap, group, topic) == _per_partition(
        kafka_bootstrap, topic, 8_000
    )


def test_a_missing_dead_letter_topic_is_a_clear_error(kafka_bootstrap, tmp_path, unique):
    topic = f"tx-{unique}"
    _produce(kafka_bootstrap, topic, 100)
    proc = _train(
        _env(kafka_bootstrap, f"file://{tmp_path}", f"g-{unique}"),
        "--topic",
        topic,
        "--dlq-topic",
        f"missing-{unique}",
    )
    assert proc.returncode != 0
    assert f"topic 'missing-{unique}' does not exist" in proc.stderr


def test_gate_keeps_latest_where_it_was(kafka_bootstrap, s3_env, unique):
    topic = f"tx-{unique}"
    _produce(kafka_bootstrap, topic, 5_000)
    first = _summary(
        _train(
            _env(kafka_bootstrap, s3_env, f"a-{unique}"),
            *_args(topic, f"a-{unique}", "--min-auc", "0"),
        )
    )
    blocked = _train(
        _env(kafka_bootstrap, s3_env, f"b-{unique}"),
        *_args(topic, f"b-{unique}", "--min-auc", "1", "--fail-on-gate"),
    )
    assert blocked.returncode == 3, blocked.stderr[-2000:]
    registry = ModelRegistry(ObjectStore.from_url(s3_env), "fraud-detector")
    assert len(registry.versions()) == 2
    latest = registry.latest()
    assert latest is not None and latest["version"] == first["version"]
    second = next(v for v in registry.versions() if v != first["version"])
    assert registry.manifest(second)["gate"] == {"min_auc": 1.0, "passed": False}


def test_sigterm_checkpoints_commits_and_exits_cleanly(kafka_bootstrap, tmp_path, unique):
    topic, group = f"tx-{unique}", f"trainer-{unique}"
    _produce(kafka_bootstrap, topic, 3_000)
    url, env = f"file://{tmp_path}", _env(kafka_bootstrap, f"file://{tmp_path}", group)
    args = [
        "--topic",
        topic,
        "--run-id",
        unique,
        "--checkpoint-every",
        "1000",
        "--log-every",
        "1",
        "--batch-size",
        "64",
        "--idle-timeout-s",
        "120",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "workloads.training", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until it is training
        if '"message": "train"' in line:
            break
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert time.monotonic() - started < 15  # well inside a pod's grace period
    assert "stop requested" in err
    store = ObjectStore.from_url(url)
    pointer = store.get_json(f"checkpoints/{unique}/latest.json")
    saved = {int(p): o for p, o in pointer["offsets"].items()}
    assert saved and _committed(kafka_bootstrap, group, topic) == {
        p: saved.get(p, -1001) for p in range(PARTITIONS)
    }
    # and the next run picks up exactly there, to the end of the topic
    rest = _summary(_train(env, *args[:-1], "2"))
    counts = _per_partition(kafka_bootstrap, topic, 3_000)
    assert _committed(kafka_bootstrap, group, topic) == counts
    assert rest["trained"] + rest["held_out"] == 3_000
