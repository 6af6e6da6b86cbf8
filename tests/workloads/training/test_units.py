"""The trainer's small parts: held-out split, partition shares, settings, model, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workloads.common.model import Arch, FraudModel, from_bytes, to_bytes
from workloads.common.objectstore import ObjectStore
from workloads.training.checkpoint import Checkpoints
from workloads.training.feed import held_out_mask
from workloads.training.settings import parse_settings
from workloads.training.source import partitions_for


def test_held_out_slice_is_stable_and_about_one_in_n():
    parts = np.repeat(np.arange(4), 10_000)
    offs = np.tile(np.arange(10_000), 4)
    mask = held_out_mask(parts, offs, 10)
    assert abs(mask.mean() - 0.1) < 0.01
    assert np.array_equal(mask, held_out_mask(parts, offs, 10))  # same records every run
    assert np.array_equal(mask[:5000], held_out_mask(parts[:5000], offs[:5000], 10))


@pytest.mark.parametrize(
    ("rank", "world", "expected"),
    [(0, 1, [0, 1, 2, 3, 4, 5]), (0, 2, [0, 2, 4]), (1, 2, [1, 3, 5]), (2, 4, [2]), (3, 8, [3])],
)
def test_each_rank_takes_its_own_partitions(rank, world, expected):
    assert partitions_for(rank, world, [5, 4, 3, 2, 1, 0]) == expected


def test_every_partition_has_exactly_one_rank():
    for world in (1, 2, 3, 4):
        owned = sorted(p for r in range(world) for p in partitions_for(r, world, list(range(6))))
        assert owned == list(range(6))


def test_flags_override_the_environment(monkeypatch):
    monkeypatch.setenv("TRAIN_BATCH_SIZE", "128")
    monkeypatch.setenv("KAFKA_GROUP_ID", "nightly")
    assert parse_settings([]).batch_size == 128
    settings = parse_settings(["--batch-size", "512", "--fail-on-gate"])
    assert (settings.batch_size, settings.fail_on_gate, settings.group_id) == (512, True, "nightly")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--batch-size", "0"], "batch_size"),
        (["--min-auc", "2"], "min_auc"),
        (["--run-id", "a/b"], "run_id"),
        (["--learning-rate", "fast"], "learning_rate"),
    ],
)
def test_bad_settings_name_the_setting(argv, named):
    with pytest.raises(SystemExit, match=named):
        parse_settings(argv)


def test_model_round_trip_and_refusal_of_garbage():
    torch.manual_seed(0)
    model = FraudModel(Arch(inputs=7, width=16, depth=3))
    again = from_bytes(to_bytes(model))
    x = torch.randn(5, 7)
    assert torch.equal(model.eval()(x), again(x))
    assert again.arch == Arch(inputs=7, width=16, depth=3)
    with pytest.raises(ValueError, match="not a loadable fraud model"):
        from_bytes(b"\x00not a model")
    with pytest.raises(ValueError, match="positive"):
        Arch(inputs=0)


def test_checkpoints_round_trip_point_at_the_newest_and_prune(tmp_path):
    store = ObjectStore.from_url(f"file://{tmp_path}")
    ckpt = Checkpoints(store, "run-1", keep=2)
    assert ckpt.load() is None
    for step in (10, 20, 30):
        state = {"model": {"w": torch.full((2,), float(step))}, "optimizer": {}}
        ckpt.save(step, state, {0: step * 10, 1: step})
    state = ckpt.load()
    assert state is not None
    assert state["step"] == 30 and torch.equal(state["model"]["w"], torch.full((2,), 30.0))
    assert state["offsets"] == {0: 300, 1: 30}
    assert store.get_json("checkpoints/run-1/latest.json")["offsets"] == {"0": 300, "1": 30}
    kept = [k for k in store.list("checkpoints/run-1/") if k.endswith(".pt")]
    assert kept == ["checkpoints/run-1/step-000000020.pt", "checkpoints/run-1/step-000000030.pt"]


def test_an_unacknowledged_dead_letter_blocks_the_checkpoint():
    """librdkafka's own producer, with no broker behind it: the dead letter times out, and the
    feed refuses to let a checkpoint (and so a commit) skip its record."""
    from confluent_kafka import Producer

    from tests.moto_server import free_port
    from workloads.common.logs import kafka_logger
    from workloads.training.feed import Feed
    from workloads.training.source import BrokerUnavailable

    producer = Producer(
        {
            "bootstrap.servers": f"127.0.0.1:{free_port()}",
            "message.timeout.ms": 1000,
            "logger": kafka_logger(),
            "log_level": 4,
        }
    )
    feed = Feed(None, producer, "dlq", 10, 100, torch.device("cpu"))  # type: ignore[arg-type]
    producer.produce("dlq", value=b"bad record", on_delivery=feed._on_dead_letter)
    with pytest.raises(RuntimeError, match="not checkpointing past them") as exc:
        feed.dead_letters_durable()
    assert isinstance(exc.value, BrokerUnavailable)  # retried by the Job, exit 75
