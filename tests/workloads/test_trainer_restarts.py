"""The trainer never starts over silently, against the real broker and S3 API: a lost pointer or
a group with offsets but no checkpoint is one line and exit 1 unless `--fresh`; a corrupt newest
checkpoint falls back to the one before it, loudly; checkpoints are also taken by time."""

from __future__ import annotations

from workloads.common.objectstore import ObjectStore

from .test_training import _args, _env, _produce, _summary, _train


def _last_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    return stderr.strip().splitlines()[-1]


def test_a_lost_pointer_is_an_error_unless_fresh(kafka_bootstrap, s3_env, unique):
    topic = f"tx-{unique}"
    _produce(kafka_bootstrap, topic, 3_000)
    env = _env(kafka_bootstrap, s3_env, f"trainer-{unique}")
    args = _args(topic, unique, "--checkpoint-every", "3")
    _summary(_train(env, *args))
    store = ObjectStore.from_url(s3_env)
    store.delete(f"checkpoints/{unique}/latest.json")

    lost = _train(env, *args)
    assert lost.returncode == 1
    line = _last_line(lost.stderr)
    assert "latest.json is missing" in line and "--fresh" in line and unique in line

    _produce(kafka_bootstrap, topic, 1_000)  # more data: the fresh model trains on it
    fresh = _summary(_train(env, *args, "--fresh"))
    assert fresh["trained"] + fresh["held_out"] == 1_000  # from the group's committed offsets
    assert store.exists(f"checkpoints/{unique}/latest.json")


def test_offsets_without_a_checkpoint_are_an_error_unless_fresh(kafka_bootstrap, s3_env, unique):
    topic, group = f"tx-{unique}", f"trainer-{unique}"
    _produce(kafka_bootstrap, topic, 2_000)
    env = _env(kafka_bootstrap, s3_env, group)
    _summary(_train(env, *_args(topic, unique)))
    other_run = _train(env, *_args(topic, f"{unique}-b"))  # same group, a run with no state
    assert other_run.returncode == 1
    line = _last_line(other_run.stderr)
    assert group in line and "no checkpoint" in line and "--fresh" in line


def test_a_corrupt_newest_checkpoint_falls_back_loudly(kafka_bootstrap, s3_env, unique):
    topic = f"tx-{unique}"
    _produce(kafka_bootstrap, topic, 4_000)
    env = _env(kafka_bootstrap, s3_env, f"trainer-{unique}")
    args = _args(
        topic, unique, "--checkpoint-every", "4", "--batch-size", "64", "--poll-records", "64"
    )
    first = _summary(_train(env, *args))
    store = ObjectStore.from_url(s3_env)
    pointer = store.get_json(f"checkpoints/{unique}/latest.json")
    store.put_bytes(pointer["key"], b"not a checkpoint")

    second = _train(env, *args)
    summary = _summary(second)
    assert "resumed from an older checkpoint" in second.stderr
    assert pointer["key"] in second.stderr
    # the older checkpoint's offsets are replayed: every record is accounted for again
    total = summary["trained"] + summary["held_out"] + summary["dead_lettered"]
    assert total == first["trained"] + first["held_out"] + first["dead_lettered"] == 4_000


def test_checkpoints_are_taken_by_time_too(kafka_bootstrap, s3_env, unique):
    topic = f"tx-{unique}"
    _produce(kafka_bootstrap, topic, 3_000)
    env = _env(kafka_bootstrap, s3_env, f"trainer-{unique}")
    args = _args(
        topic,
        unique,
        "--batch-size",
        "16",
        "--poll-records",
        "64",
        "--checkpoint-interval-s",
        "0.05",
        "--keep-checkpoints",
        "1000",
    )
    _summary(_train(env, *args))  # default checkpoint_every (2000 steps) is never reached
    store = ObjectStore.from_url(s3_env)
    saved = [k for k in store.list(f"checkpoints/{unique}/") if "/step-" in k]
    assert len(saved) >= 3  # by time: 169 steps are far from checkpoint_every
    segments = store.list(f"checkpoints/{unique}/held-out/")
    assert 2 <= len(segments) <= len(saved)  # held-out rows stored once, not per checkpoint
