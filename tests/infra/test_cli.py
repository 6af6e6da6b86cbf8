"""`ascent plan`: the inventory as a table or JSON; bad input is one line and exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from infra.cli import main
from infra.offline import PROJECT_ROOT


@pytest.mark.parametrize("stack", ["local", "aws-dev", "aws-prod"])
def test_plan_json_lists_what_the_program_declares(capsys, stack, inventories):
    assert main(["plan", "--stack", stack, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    custom = list(inventories[stack].custom())
    assert doc["stack"] == stack
    assert doc["resources"] == len(custom) == sum(doc["countsByType"].values())
    listed = [(m["type"], m["name"]) for ms in doc["components"].values() for m in ms]
    assert sorted(listed) == sorted((r.type, r.name) for r in custom)
    assert doc["outputs"]["target"] == inventories[stack].outputs["target"]


def test_plan_table_shows_resources_counts_and_outputs(capsys):
    assert main(["plan", "--stack", "aws-prod"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack aws-prod: ")
    assert "Counts by type" in out and "Outputs" in out
    assert "pulumi:providers:aws" in out and "us-east-1" in out


def test_unknown_stack_is_one_line_and_exit_2(capsys):
    assert main(["plan", "--stack", "staging"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown stack 'staging'" in err


def test_invalid_config_is_one_line_naming_every_key_without_traceback(tmp_path):
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  ascent:target: aws\n  ascent:monthlyBudgetUsd: -1\n  ascent:colour: red\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.cli",
            "plan",
            "--stack",
            "bad",
            "--project-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    for key in ("ascent:region", "ascent:monthlyBudgetUsd", "ascent:colour"):
        assert key in lines[0]
