"""The pack stands alone, as `pulumi preview --policy-pack` and `pulumi policy publish` need:
a copy of `policies/` alone (no `infra`, no checkout on the path), in a virtualenv made from its
own `requirements.txt`, started as the CLI starts it; it prints its port and answers the
analyzer's gRPC calls with diagnostics for a bad resource."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policies.pack import PACK_NAME, PACK_VERSION
from policies.rules import RULES

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def test_no_module_of_the_pack_imports_the_program():
    for path in POLICIES.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [n for n in names if n.split(".")[0] in ("infra", "workloads", "ci")], path


def test_the_pack_metadata_is_publish_ready():
    meta = yaml.safe_load((POLICIES / "PulumiPolicy.yaml").read_text())
    assert meta["runtime"]["name"] == "python" and meta["description"]
    assert str(meta["version"]) == PACK_VERSION
    assert meta["runtime"]["options"]["virtualenv"] == "venv"  # inside the pack's folder


@pytest.fixture(scope="module")
def pack_copy(tmp_path_factory) -> tuple[Path, Path]:
    """(python of a venv made from policies/requirements.txt, a copy of policies/ alone)."""
    base = tmp_path_factory.mktemp("pack")
    pack = base / "policies"
    shutil.copytree(POLICIES, pack, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, timeout=120)
    python = base / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(pack / "requirements.txt")],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return python, pack


def test_the_pack_serves_from_its_own_venv_and_finds_a_bad_resource(pack_copy):
    python, pack = pack_copy
    proc = subprocess.Popen(
        [str(python), "-u", str(pack)],  # the pack's folder, run by the venv's python
        cwd=pack,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.strip().isdigit(), (line, proc.stderr.read() if proc.poll() is not None else "")
        channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == PACK_NAME
        assert sorted(p.name for p in info.policies) == sorted(r.name for r in RULES)
        props = struct_pb2.Struct()
        props.update({"imageTagMutability": "MUTABLE", "imageScanningConfiguration": {}})
        found = stub.Analyze(
            analyzer_pb2.AnalyzeRequest(
                type="aws:ecr/repository:Repository",
                properties=props,
                urn="urn:pulumi:s::ascent::aws:ecr/repository:Repository::r",
                name="r",
            ),
            timeout=30,
        )
        rules = {d.policyName for d in found.diagnostics}
        assert {"aws-ecr-repository-immutable-tags", "aws-ecr-repository-scan-on-push"} <= rules
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
