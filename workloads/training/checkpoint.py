"""Checkpoints in object storage, under `checkpoints/<run>/`:

    step-<step:09d>.pt       torch.save of a dict: the caller's state (model, optimizer, ...)
                             plus "step", "offsets" ({partition: next offset}), "held_out_segments"
                             (the ordered segment keys so far) and "held_out_dim" (feature columns)
    held-out/<step:09d>.pt   a segment: {"x", "y"}, the held-out rows first seen in that interval;
                             written once, shared by every later checkpoint
    latest.json              the atomic pointer {"step", "key", "offsets", "held_out"}

A checkpoint is durable once `latest.json` points at it; only then are its offsets committed to
Kafka. The newest `keep` checkpoints are kept, and every segment one of them references.

API (the trainer's whole contract):

    ckpt = Checkpoints(store, run_id, keep=3)
    ckpt.load(fresh=False) -> dict | None
        The state saved, with "eval_x"/"eval_y" rebuilt from the segments ([0, dim] / [0] when
        there are none). None on a first run (no pointer and no step-*.pt), or at once, without
        reading anything, when `fresh` (the next save then deletes the old run's objects).
        A malformed pointer or a missing/corrupt checkpoint (or segment) is logged as a WARNING
        and the newest older checkpoint that loads is used, logged as "resumed from an older
        checkpoint"; its own "offsets" are where to resume. Raises CheckpointError when the
        pointer is missing but checkpoints exist, or when no checkpoint loads.
    ckpt.save(step, state, offsets, held_out_new=None) -> str (the checkpoint's key)
        `held_out_new` = (x, y): the held-out rows taken since the last save, stored as one new
        segment; `state` must not carry "eval_x"/"eval_y". It continues the history that the
        last load() or save() of this object left (a new object that loaded nothing starts one).

Pruning: after a save, the checkpoint just written and the `keep - 1` newest ones below its step
stay; the rest go, including any ahead of it (a history abandoned by a fallback or --fresh).
Segments no kept checkpoint references (a crash between a segment and its pointer, an abandoned
history) are deleted at the same time.
"""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import torch

from workloads.common.objectstore import ObjectNotFound, ObjectStore

log = logging.getLogger("workloads.training")

REQUIRED = ("model", "optimizer", "step", "offsets")
RESERVED = ("eval_x", "eval_y", "step", "offsets", "held_out_segments", "held_out_dim")


class CheckpointError(RuntimeError):
    """No usable checkpoint where one is expected; the message says which keys and what to do."""


class _Unusable(Exception):
    """One checkpoint object (or one of its segments) cannot be resumed from; the reason."""


class Checkpoints:
    def __init__(self, store: ObjectStore, run_id: str, keep: int = 3):
        if keep < 1:
            raise ValueError(f"keep={keep}: keep at least one checkpoint")
        self.store, self.prefix, self.keep = store, f"checkpoints/{run_id}/", keep
        self._step_key = re.compile(re.escape(self.prefix) + r"step-(\d+)\.pt")
        self._reset()

    def _reset(self, fresh: bool = False) -> None:
        self._segments: list[str] = []  # the latest checkpoint's, extended by the next save
        self._dim = 0
        self._legacy: tuple[int, torch.Tensor, torch.Tensor] | None = None  # inline held-out
        self._known: dict[str, list[str]] = {}  # checkpoint key -> its segments (for pruning)
        self._fresh = fresh

    @property
    def pointer(self) -> str:
        return self.prefix + "latest.json"

    def key(self, step: int) -> str:
        return f"{self.prefix}step-{step:09d}.pt"

    # --- saving -------------------------------------------------------------------------------
    def save(
        self,
        step: int,
        state: dict[str, Any],
        offsets: dict[int, int],
        held_out_new: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> str:
        if clash := sorted(set(RESERVED) & state.keys()):
            raise ValueError(
                f"state must not carry {clash}: pass new held-out rows as held_out_new"
            )
        segments, dim = list(self._segments), self._dim
        if self._legacy is not None:  # rows a pre-segment checkpoint held inline: store them once
            segments.append(self._put_segment(self._legacy[0], *self._legacy[1:], segments))
        if held_out_new is not None:
            x, y = held_out_new
            if x.dim() != 2 or y.dim() != 1 or len(x) != len(y):
                raise ValueError(f"held_out_new: x {list(x.shape)}, y {list(y.shape)} do not pair")
            if segments and x.shape[1] != dim:
                raise ValueError(f"held_out_new has {x.shape[1]} columns, the segments {dim}")
            dim = int(x.shape[1])
            if len(y):
                segments.append(self._put_segment(step, x, y, segments))
        key = self.key(step)
        doc = {
            **state,
            "step": step,
            "offsets": dict(offsets),
            "held_out_segments": segments,
            "held_out_dim": dim,
        }
        self.store.put_bytes(key, _to_bytes(doc))
        self.store.put_json(
            self.pointer,
            {
                "step": step,
                "key": key,
                "offsets": {str(p): o for p, o in offsets.items()},
                "held_out": segments,
            },
        )
        self._segments, self._dim, self._legacy, self._known[key] = segments, dim, None, segments
        self._prune(step, key)
        return key

    def _put_segment(self, step: int, x: torch.Tensor, y: torch.Tensor, taken: list[str]) -> str:
        key, n = f"{self.prefix}held-out/{step:09d}.pt", 0
        while key in taken:  # a second save at the same step (e.g. the final one)
            n += 1
            key = f"{self.prefix}held-out/{step:09d}-{n}.pt"
        # clone: saving a view would write the whole storage it is a view of
        rows = {"x": x.detach().cpu().clone(), "y": y.detach().cpu().clone()}
        self.store.put_bytes(key, _to_bytes(rows))
        return key

    def _prune(self, step: int, key: str) -> None:
        older = [k for s, k in self._steps() if s < step]
        kept = [key] if self._fresh or self.keep == 1 else [*older[-(self.keep - 1) :], key]
        for _, k in self._steps():
            if k not in kept:
                self.store.delete(k)
                self._known.pop(k, None)
        referenced = {seg for k in kept for seg in self._segments_of(k)}
        for seg in self.store.list(self.prefix + "held-out/"):
            if seg not in referenced:
                self.store.delete(seg)
        self._fresh = False

    def _segments_of(self, key: str) -> list[str]:
        if key not in self._known:
            try:  # one that cannot be read can never be resumed from: its segments are garbage
                segments = self._get(key).get("held_out_segments", [])
            except _Unusable:
                segments = []
            self._known[key] = [s for s in segments if isinstance(s, str)]
        return self._known[key]

    # --- loading ------------------------------------------------------------------------------
    def load(self, fresh: bool = False) -> dict[str, Any] | None:
        self._reset(fresh)
        if fresh:
            return None
        steps = self._steps()
        try:
            raw = self.store.get_bytes(self.pointer)
        except ObjectNotFound:
            if not steps:
                return None
            names = " .. ".join(dict.fromkeys([_name(steps[0][1]), _name(steps[-1][1])]))
            raise CheckpointError(
                f"{self.prefix}: latest.json is missing but {_count(len(steps))} exist "
                f"({names}); restore the pointer or start over with --fresh"
            ) from None
        tried: list[tuple[str, str]] = []
        try:
            at = self._parse_pointer(raw)
            candidates = [(self.key(at), at)] + [(k, s) for s, k in reversed(steps) if s < at]
        except _Unusable as exc:
            log.warning(
                "checkpoint pointer unusable", extra={"key": self.pointer, "error": str(exc)}
            )
            tried.append((self.pointer, str(exc)))
            candidates = [(k, s) for s, k in reversed(steps)]
        for key, step in candidates:
            try:
                state, segments, dim = self._read(key, step)
            except _Unusable as exc:
                log.warning("checkpoint unusable", extra={"key": key, "error": str(exc)})
                tried.append((key, str(exc)))
                continue
            if tried:
                skipped = [k for k, _ in tried]
                log.warning(
                    "resumed from an older checkpoint",
                    extra={"step": step, "key": key, "skipped": skipped},
                )
            self._segments, self._dim, self._known[key] = segments, dim, segments
            if not segments and len(state["eval_y"]):
                self._legacy = (step, state["eval_x"], state["eval_y"])
            return state
        why = "; ".join(f"{k}: {reason}" for k, reason in tried)
        raise CheckpointError(
            f"{self.prefix}: no checkpoint loads ({why}); "
            "restore one of them or start over with --fresh"
        )

    def _steps(self) -> list[tuple[int, str]]:
        """The step-*.pt objects as (step, key), oldest first."""
        found = [(self._step_key.fullmatch(k), k) for k in self.store.list(self.prefix)]
        return sorted((int(m[1]), k) for m, k in found if m)

    def _parse_pointer(self, raw: bytes) -> int:
        """The step latest.json points at, or _Unusable saying what is wrong with it."""
        try:
            doc = json.loads(raw)
        except ValueError:
            raise _Unusable("not JSON") from None
        if not isinstance(doc, dict):
            raise _Unusable(f"not a JSON object but {type(doc).__name__}")
        step, key, offsets = doc.get("step"), doc.get("key"), doc.get("offsets")
        if type(step) is not int or step < 0:
            raise _Unusable(f"'step' is {step!r}, not a step number")
        if key != self.key(step):
            raise _Unusable(f"'key' is {key!r}, not {self.key(step)!r}")
        if not isinstance(offsets, dict) or not all(
            isinstance(p, str) and p.isdigit() and type(o) is int for p, o in offsets.items()
        ):
            raise _Unusable(f"'offsets' is {offsets!r}, not {{partition: offset}}")
        return step

    def _read(self, key: str, step: int) -> tuple[dict[str, Any], list[str], int]:
        """The state at `key` (checked against `step`) with its held-out rows, its segment list
        and feature dim; _Unusable if it is missing or corrupt."""
        state = self._get(key)
        if missing := [name for name in REQUIRED if name not in state]:
            raise _Unusable(f"lacks {', '.join(missing)}")
        if not (type(state["step"]) is int and state["step"] == step):
            raise _Unusable(f"holds step {state['step']!r}, expected {step}")
        if not isinstance(state["offsets"], dict):
            raise _Unusable(f"'offsets' is a {type(state['offsets']).__name__}, not a dict")
        segments, dim = state.get("held_out_segments", []), state.get("held_out_dim", 0)
        if not (isinstance(segments, list) and all(isinstance(s, str) for s in segments)):
            raise _Unusable(f"'held_out_segments' is {segments!r:.60}, not a list of keys")
        if type(dim) is not int or dim < 0:
            raise _Unusable(f"'held_out_dim' is {dim!r:.60}, not a column count")
        if "held_out_segments" not in state:  # written before segments: rows inline, if any
            x, y = state.get("eval_x"), state.get("eval_y")
            if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and x.dim() == 2:
                state["eval_x"], state["eval_y"] = x, y
                return state, [], int(x.shape[1])
        xs, ys = [], []
        for seg in segments:
            try:
                rows = self._get(seg)
            except _Unusable as exc:
                raise _Unusable(f"held-out segment {seg}: {exc}") from None
            x, y = rows.get("x"), rows.get("y")
            if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)) or (
                x.dim() != 2 or x.shape[1] != dim or y.shape != (len(x),)
            ):
                raise _Unusable(f"held-out segment {seg}: not {dim}-column rows and labels")
            xs.append(x)
            ys.append(y)
        state["eval_x"] = torch.cat(xs) if xs else torch.empty(0, dim)
        state["eval_y"] = torch.cat(ys) if ys else torch.empty(0)
        return state, segments, dim

    def _get(self, key: str) -> dict[str, Any]:
        """A torch-saved dict; _Unusable when it is missing or not one (other errors, such as a
        store outage, propagate: they say nothing about the checkpoint)."""
        try:
            data = self.store.get_bytes(key)
        except ObjectNotFound:
            raise _Unusable("missing") from None
        try:
            value = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # any decoding failure: truncated, random, not weights-only
            first = (str(exc).strip().splitlines() or [""])[0][:120]
            raise _Unusable(f"unreadable ({type(exc).__name__}: {first})") from None
        if not isinstance(value, dict):
            raise _Unusable(f"holds a {type(value).__name__}, not a dict")
        return value


def _to_bytes(value: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(value, buf)
    return buf.getvalue()


def _count(n: int) -> str:
    return f"{n} checkpoint{'s' if n != 1 else ''}"


def _name(key: str) -> str:
    return key.rpartition("/")[2]
