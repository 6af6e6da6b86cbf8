"""checkov (its own virtualenv, offline) over every stack's rendered manifests: no failed check
beyond the justified skips in `.checkov.yaml`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.k8s.render import manifests

ROOT = Path(__file__).resolve().parents[3]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def run_checkov(directory: Path) -> dict:
    assert CHECKOV.exists(), "no checkov: `make install` creates .venv-checkov"
    proc = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "--framework", "kubernetes", "--quiet", "--compact",
         "-o", "json", "--skip-download", "--config-file", str(ROOT / ".checkov.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )  # fmt: skip
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.fixture(scope="module")
def report(inventories, tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("manifests")
    for stack, inv in inventories.items():
        (directory / f"{stack}.yaml").write_text(yaml.safe_dump_all(manifests(inv)))
    return run_checkov(directory)


def test_rendered_manifests_pass_checkov(report):
    failed = [(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 100  # it really looked at the workloads


def test_checkov_does_fail_a_privileged_root_pod(tmp_path):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "serving"},
        "spec": {
            "containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": True}}]
        },
    }
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(pod))
    failed = {f["check_id"] for f in run_checkov(tmp_path)["results"]["failed_checks"]}
    assert "CKV_K8S_16" in failed  # privileged containers
