"""Checkpoints against real stores (a temp directory and a moto S3 server): held-out segments
written once, pruning, and what a lost pointer or a broken checkpoint does."""

from __future__ import annotations

import io
import json
import logging
import random
from typing import Any

import pytest
import torch
from torch import nn

from workloads.common.objectstore import ObjectStore
from workloads.training.checkpoint import CheckpointError, Checkpoints

RUN = "checkpoints/run-1/"
DIM = 3


@pytest.fixture
def store(store_url: str) -> ObjectStore:  # file:// and s3:// (conftest)
    return ObjectStore.from_url(store_url)


def _state(step: int) -> dict[str, Any]:
    """A real model and Adam state (weights_only must load them), marked with the step."""
    torch.manual_seed(step)
    model = nn.Linear(DIM, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, DIM)).sum().backward()
    opt.step()
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "losses": torch.ones(2)}


def _rows(step: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(n * DIM, dtype=torch.float32).reshape(n, DIM) + step * 1000
    return x, (torch.arange(n) % 2).float()


def _history(store: ObjectStore, steps=(10, 20, 30), keep: int = 3) -> Checkpoints:
    ckpt = Checkpoints(store, "run-1", keep=keep)
    for i, step in enumerate(steps):
        ckpt.save(step, _state(step), {0: step * 10, 1: step}, _rows(step, i + 2))
    return ckpt


def _steps(store: ObjectStore) -> list[str]:
    return [k for k in store.list(RUN) if k.startswith(RUN + "step-")]


def _segments(store: ObjectStore) -> list[str]:
    return store.list(RUN + "held-out/")


def _torch_bytes(value: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(value, buf)
    return buf.getvalue()


def test_first_run_loads_nothing_and_writes_nothing(store):
    assert Checkpoints(store, "run-1").load() is None
    assert store.list(RUN) == []


def test_round_trip_stores_each_held_out_segment_once(store, monkeypatch):
    puts: list[str] = []
    real_put = store.put_bytes

    def put_bytes(key: str, data: bytes) -> None:
        puts.append(key)
        real_put(key, data)

    monkeypatch.setattr(store, "put_bytes", put_bytes)
    ckpt = Checkpoints(store, "run-1")
    assert ckpt.load() is None
    written: dict[str, bytes] = {}
    for i, step in enumerate((10, 20, 30)):
        ckpt.save(step, _state(step), {0: step * 10, 1: step}, _rows(step, i + 2))
        seg = f"{RUN}held-out/{step:09d}.pt"
        written[seg] = store.get_bytes(seg)
    segs = list(written)
    assert _segments(store) == segs
    assert [k for k in puts if "/held-out/" in k] == segs  # each written exactly once
    for seg, data in written.items():  # and never rewritten by a later save
        assert store.get_bytes(seg) == data
    # the checkpoint itself carries keys, not rows
    doc = torch.load(io.BytesIO(store.get_bytes(RUN + "step-000000030.pt")), weights_only=True)
    assert doc["held_out_segments"] == segs and doc["held_out_dim"] == DIM
    assert "eval_x" not in doc and "eval_y" not in doc
    pointer = store.get_json(RUN + "latest.json")
    assert pointer == {
        "step": 30,
        "key": RUN + "step-000000030.pt",
        "offsets": {"0": 300, "1": 30},
        "held_out": segs,
    }

    again = Checkpoints(store, "run-1")
    state = again.load()
    assert state is not None and state["step"] == 30 and state["offsets"] == {0: 300, 1: 30}
    expected = _state(30)
    assert all(torch.equal(state["model"][k], v) for k, v in expected["model"].items())
    assert state["optimizer"]["param_groups"] == expected["optimizer"]["param_groups"]
    parts = [_rows(10, 2), _rows(20, 3), _rows(30, 4)]
    assert torch.equal(state["eval_x"], torch.cat([p[0] for p in parts]))
    assert torch.equal(state["eval_y"], torch.cat([p[1] for p in parts]))

    # the reloaded object extends the list: one new segment, the old ones untouched
    puts.clear()
    again.save(40, _state(40), {0: 400}, _rows(40, 1))
    again.save(50, _state(50), {0: 500})  # no new rows: no segment
    assert [k for k in puts if "/held-out/" in k] == [f"{RUN}held-out/000000040.pt"]
    reloaded = Checkpoints(store, "run-1").load()
    assert reloaded is not None and len(reloaded["eval_y"]) == 2 + 3 + 4 + 1
    assert torch.equal(reloaded["eval_x"][-1:], _rows(40, 1)[0])
    for seg, data in written.items():
        assert store.get_bytes(seg) == data


def test_held_out_without_rows_keeps_the_feature_dim(store):
    ckpt = Checkpoints(store, "run-1")
    ckpt.save(5, _state(5), {0: 1}, (torch.empty(0, DIM), torch.empty(0)))
    assert _segments(store) == []
    state = Checkpoints(store, "run-1").load()
    assert state is not None
    assert state["eval_x"].shape == (0, DIM) and state["eval_y"].shape == (0,)


def test_a_segment_holds_only_its_rows_not_the_tensor_they_are_a_view_of(store):
    big_x, big_y = torch.zeros(100_000, DIM), torch.zeros(100_000)
    Checkpoints(store, "run-1").save(1, _state(1), {0: 1}, (big_x[:2], big_y[:2]))
    assert len(store.get_bytes(RUN + "held-out/000000001.pt")) < 10_000  # not 1.6 MB


def test_a_second_save_at_the_same_step_keeps_both_segments(store):
    ckpt = Checkpoints(store, "run-1")
    ckpt.save(10, _state(10), {0: 1}, _rows(10, 2))
    ckpt.save(10, _state(10), {0: 2}, _rows(11, 3))  # the final save, no step in between
    assert len(_segments(store)) == 2
    state = Checkpoints(store, "run-1").load()
    assert state is not None and state["offsets"] == {0: 2}
    assert torch.equal(state["eval_x"], torch.cat([_rows(10, 2)[0], _rows(11, 3)[0]]))


def test_save_refuses_inline_held_out_and_mismatched_rows(store):
    ckpt = Checkpoints(store, "run-1")
    with pytest.raises(ValueError, match="held_out_new"):
        ckpt.save(1, {**_state(1), "eval_x": torch.zeros(1, DIM)}, {0: 1})
    with pytest.raises(ValueError, match="do not pair"):
        ckpt.save(1, _state(1), {0: 1}, (torch.zeros(2, DIM), torch.zeros(3)))
    ckpt.save(1, _state(1), {0: 1}, _rows(1, 2))
    with pytest.raises(ValueError, match="columns"):
        ckpt.save(2, _state(2), {0: 2}, (torch.zeros(1, DIM + 1), torch.zeros(1)))


def test_prune_keeps_the_newest_and_referenced_segments_and_removes_orphans(store):
    ckpt = _history(store, steps=(10, 20, 30), keep=2)
    assert _steps(store) == [RUN + "step-000000020.pt", RUN + "step-000000030.pt"]
    # step-30 references every segment of its history, so none is pruned with step-10
    assert _segments(store) == [f"{RUN}held-out/{s:09d}.pt" for s in (10, 20, 30)]
    orphan = RUN + "held-out/000000035.pt"  # a crash between a segment and its pointer
    store.put_bytes(orphan, _torch_bytes({"x": torch.zeros(1, DIM), "y": torch.zeros(1)}))
    ckpt.save(40, _state(40), {0: 400}, _rows(40, 1))
    assert orphan not in _segments(store)
    assert _segments(store) == [f"{RUN}held-out/{s:09d}.pt" for s in (10, 20, 30, 40)]
    assert _steps(store) == [RUN + "step-000000030.pt", RUN + "step-000000040.pt"]


def test_after_a_fallback_the_abandoned_history_is_pruned(store):
    _history(store)
    store.put_bytes(RUN + "step-000000030.pt", b"garbage")
    ckpt = Checkpoints(store, "run-1")
    state = ckpt.load()
    assert state is not None and state["step"] == 20
    ckpt.save(25, _state(25), {0: 250}, _rows(25, 1))
    assert _steps(store) == [RUN + f"step-{s:09d}.pt" for s in (10, 20, 25)]
    assert _segments(store) == [f"{RUN}held-out/{s:09d}.pt" for s in (10, 20, 25)]


def test_fresh_reads_nothing_and_its_first_save_replaces_the_old_run(store, monkeypatch):
    _history(store)
    ckpt = Checkpoints(store, "run-1")

    def no_reads(*_args: Any) -> None:
        raise AssertionError("fresh=True must not read the store")

    with monkeypatch.context() as m:
        for name in ("get_bytes", "get_json", "exists", "list"):
            m.setattr(store, name, no_reads)
        assert ckpt.load(fresh=True) is None
    ckpt.save(15, _state(15), {0: 15}, _rows(15, 1))  # old step-10 is below it: gone too
    assert _steps(store) == [RUN + "step-000000015.pt"]
    assert _segments(store) == [RUN + "held-out/000000015.pt"]
    state = Checkpoints(store, "run-1").load()
    assert state is not None and state["step"] == 15 and len(state["eval_y"]) == 1


def test_a_lost_pointer_with_checkpoints_left_is_an_error(store):
    _history(store)
    store.delete(RUN + "latest.json")
    with pytest.raises(CheckpointError) as err:
        Checkpoints(store, "run-1").load()
    message = str(err.value)
    assert message.startswith(RUN + ": latest.json is missing but 3 checkpoints exist")
    assert "step-000000010.pt .. step-000000030.pt" in message and "--fresh" in message
    assert "\n" not in message
    assert Checkpoints(store, "run-1").load(fresh=True) is None


def _assert_fell_back(caplog, state, step: int, skipped: list[str]) -> None:
    assert state is not None and state["step"] == step
    assert state["offsets"] == {0: step * 10, 1: step}  # the checkpoint's own offsets
    model = _state(step)["model"]
    assert all(torch.equal(state["model"][k], v) for k, v in model.items())
    rows = [_rows(s, i + 2) for i, s in enumerate((10, 20, 30)) if s <= step]
    assert torch.equal(state["eval_x"], torch.cat([r[0] for r in rows]))
    warned = [r for r in caplog.records if r.name == "workloads.training"]
    assert all(r.levelno == logging.WARNING for r in warned)
    for key in skipped:
        assert any(getattr(r, "key", None) == key and getattr(r, "error", "") for r in warned)
    resumed = [r for r in warned if r.getMessage() == "resumed from an older checkpoint"]
    assert len(resumed) == 1
    assert resumed[0].step == step and resumed[0].key == f"{RUN}step-{step:09d}.pt"
    assert resumed[0].skipped == skipped


_KEY30 = RUN + "step-000000030.pt"
BAD_POINTERS = {
    "not json": b"{not json",
    "not utf-8": b"\xff\xfe",
    "a list": b"[1, 2]",
    "no step": json.dumps({"key": _KEY30, "offsets": {"0": 1}}).encode(),
    "string step": json.dumps({"step": "30", "key": _KEY30, "offsets": {}}).encode(),
    "bool step": json.dumps(
        {"step": True, "key": RUN + "step-000000001.pt", "offsets": {}}
    ).encode(),
    "int key": json.dumps({"step": 30, "key": 7, "offsets": {}}).encode(),
    "other run": json.dumps(
        {"step": 30, "key": "checkpoints/x/step-000000030.pt", "offsets": {}}
    ).encode(),
    "key of another step": json.dumps(
        {"step": 30, "key": RUN + "step-000000020.pt", "offsets": {}}
    ).encode(),
    "no offsets": json.dumps({"step": 30, "key": _KEY30}).encode(),
    "list offsets": json.dumps({"step": 30, "key": _KEY30, "offsets": [1]}).encode(),
    "string offset": json.dumps({"step": 30, "key": _KEY30, "offsets": {"0": "5"}}).encode(),
    "bad partition": json.dumps({"step": 30, "key": _KEY30, "offsets": {"a": 1}}).encode(),
}


@pytest.mark.parametrize("pointer", sorted(BAD_POINTERS))
def test_a_malformed_pointer_falls_back_to_the_newest_that_loads(store, caplog, pointer):
    _history(store)
    store.put_bytes(RUN + "latest.json", BAD_POINTERS[pointer])
    store.put_bytes(RUN + "step-000000030.pt", b"\x00" * 64)  # the newest is broken too
    with caplog.at_level(logging.WARNING, logger="workloads.training"):
        state = Checkpoints(store, "run-1").load()
    _assert_fell_back(caplog, state, 20, [RUN + "latest.json", RUN + "step-000000030.pt"])


def test_a_malformed_pointer_with_intact_checkpoints_uses_the_newest(store, caplog):
    _history(store)
    store.put_bytes(RUN + "latest.json", b"garbage")
    with caplog.at_level(logging.WARNING, logger="workloads.training"):
        state = Checkpoints(store, "run-1").load()
    _assert_fell_back(caplog, state, 30, [RUN + "latest.json"])


def _truncate(store: ObjectStore, key: str) -> None:
    data = store.get_bytes(key)
    store.put_bytes(key, data[: len(data) // 2])


BREAKAGES = {
    "deleted": lambda store, key: store.delete(key),
    "truncated": _truncate,
    "random bytes": lambda store, key: store.put_bytes(key, random.Random(key).randbytes(4096)),
    "not a dict": lambda store, key: store.put_bytes(key, _torch_bytes([1, 2, 3])),
    "lacks the optimizer": lambda store, key: store.put_bytes(
        key, _torch_bytes({"model": {}, "step": 30, "offsets": {0: 1}})
    ),
    "step mismatch": lambda store, key: store.put_bytes(
        key, _torch_bytes({**_state(30), "step": 99, "offsets": {0: 1}, "held_out_segments": []})
    ),
    "not weights-only": lambda store, key: store.put_bytes(key, _torch_bytes({"f": nn.Linear})),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_newest_checkpoint_falls_back_to_the_previous(store, caplog, breakage):
    _history(store)
    BREAKAGES[breakage](store, RUN + "step-000000030.pt")
    with caplog.at_level(logging.WARNING, logger="workloads.training"):
        state = Checkpoints(store, "run-1").load()
    _assert_fell_back(caplog, state, 20, [RUN + "step-000000030.pt"])


@pytest.mark.parametrize("breakage", ["deleted", "random bytes"])
def test_a_broken_newest_segment_falls_back_to_the_checkpoint_before_it(store, caplog, breakage):
    _history(store)
    BREAKAGES[breakage](store, RUN + "held-out/000000030.pt")
    with caplog.at_level(logging.WARNING, logger="workloads.training"):
        state = Checkpoints(store, "run-1").load()
    _assert_fell_back(caplog, state, 20, [RUN + "step-000000030.pt"])
    errors = [getattr(r, "error", "") for r in caplog.records]
    assert any("held-out segment " + RUN + "held-out/000000030.pt" in e for e in errors)


def test_nothing_loading_is_an_error_naming_every_key_tried(store, caplog):
    _history(store)
    store.put_bytes(RUN + "step-000000030.pt", b"junk")
    store.delete(RUN + "step-000000020.pt")
    store.put_bytes(RUN + "step-000000010.pt", _torch_bytes({"model": {}}))
    with pytest.raises(CheckpointError) as err:
        Checkpoints(store, "run-1").load()
    message = str(err.value)
    assert "\n" not in message and message.startswith(RUN + ": no checkpoint loads")
    assert f"{RUN}step-000000030.pt: unreadable" in message
    assert f"{RUN}step-000000010.pt: lacks optimizer, step, offsets" in message
    assert "--fresh" in message
    # step-20 is gone from the listing, so it is not tried, but the pointer named step-30 only
    assert "step-000000020.pt" not in message
    assert not any(r.getMessage() == "resumed from an older checkpoint" for r in caplog.records)


def test_a_pointer_to_a_missing_checkpoint_with_nothing_older_is_an_error(store):
    ckpt = Checkpoints(store, "run-1")
    ckpt.save(10, _state(10), {0: 1}, _rows(10, 1))
    store.delete(RUN + "step-000000010.pt")
    with pytest.raises(CheckpointError, match=r"step-000000010\.pt: missing"):
        Checkpoints(store, "run-1").load()


def test_a_checkpoint_from_before_segments_keeps_its_inline_rows(store):
    """One written by the previous version (rows inline, no segment list) loads, and the next
    save stores those rows once as a segment."""
    x, y = _rows(7, 3)
    old = {**_state(7), "step": 7, "offsets": {0: 70}, "eval_x": x, "eval_y": y}
    store.put_bytes(RUN + "step-000000007.pt", _torch_bytes(old))
    store.put_json(
        RUN + "latest.json", {"step": 7, "key": RUN + "step-000000007.pt", "offsets": {"0": 70}}
    )
    ckpt = Checkpoints(store, "run-1")
    state = ckpt.load()
    assert state is not None and torch.equal(state["eval_x"], x)
    ckpt.save(8, _state(8), {0: 80}, _rows(8, 1))
    assert _segments(store) == [RUN + "held-out/000000007.pt", RUN + "held-out/000000008.pt"]
    state = Checkpoints(store, "run-1").load()
    assert state is not None
    assert torch.equal(state["eval_x"], torch.cat([x, _rows(8, 1)[0]]))
