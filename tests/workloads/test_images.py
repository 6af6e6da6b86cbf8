"""The workload images: hadolint-clean Dockerfiles, non-root, and the trainer's entrypoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((ROOT / "workloads").glob("*/Dockerfile"))
HADOLINT = Path(sys.executable).parent / "hadolint"
ENTRYPOINT = ROOT / "workloads" / "training" / "entrypoint.sh"


def test_there_is_a_dockerfile_per_image():
    assert {p.parent.name for p in DOCKERFILES} >= {"training", "inference"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_finds_nothing(dockerfile):
    proc = subprocess.run(
        [str(HADOLINT), "--format", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout or "[]") == [], proc.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_multi_stage_pinned_base_non_root(dockerfile):
    text = dockerfile.read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2  # build stage + runtime stage
    base = re.search(r"^ARG BASE_IMAGE=(\S+)", text, re.M)
    assert base and ":" in base.group(1) and not base.group(1).endswith(":latest")
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in {"root", "0"}


def _fake_bin(tmp_path: Path) -> dict[str, str]:
    for name in ("python", "torchrun"):
        tool = tmp_path / name
        tool.write_text(f'#!/bin/sh\necho {name} "$@"\n')
        tool.chmod(0o755)
    return {"PATH": f"{tmp_path}:/usr/bin:/bin"}


def test_entrypoint_runs_the_trainer_alone(tmp_path):
    out = subprocess.run(
        ["sh", str(ENTRYPOINT), "--batch-size", "64"],
        env=_fake_bin(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "python -m workloads.training --batch-size 64"


def test_entrypoint_runs_torchrun_for_several_processes(tmp_path):
    env = {
        **_fake_bin(tmp_path),
        "NNODES": "2",
        "NPROC_PER_NODE": "4",
        "RDZV_ENDPOINT": "train-0.train:29400",
        "RDZV_ID": "job-1",
    }
    out = subprocess.run(
        ["sh", str(ENTRYPOINT), "--run-id", "x"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0] == "torchrun"
    assert out[out.index("--nnodes") + 1] == "2"
    assert out[out.index("--nproc-per-node") + 1] == "4"
    assert out[out.index("--rdzv-endpoint") + 1] == "train-0.train:29400"
    assert out[-4:] == ["-m", "workloads.training", "--run-id", "x"]


def test_entrypoint_needs_a_rendezvous_for_several_nodes(tmp_path):
    env = {**_fake_bin(tmp_path), "NNODES": "2"}
    proc = subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "RDZV_ENDPOINT" in proc.stderr
    assert os.access(ENTRYPOINT, os.X_OK)
