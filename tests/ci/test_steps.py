"""The pure parts of the steps, and the prerequisites each step checks before doing anything."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from kubernetes import client
from moto import mock_aws
from pulumi.automation import UpdateSummary

from ci import pull_request, registry, revision
from ci.images import branch_tag, check_tag, discover
from ci.shell import StepFailed
from ci.steps import pulumi_steps, smoke
from ci.steps.lint import check_ci_files
from ci.steps.push import digest_of
from ci.steps.scan import HIGH, MEDIUM, config_findings
from infra.config import parse_config
from tests.ci.conftest import ROOT, run_ci

DIGEST = "sha256:" + "ab" * 32
SHA = "f" * 40


def test_revision_from_gitlab_variables_strips_credentials_from_the_source():
    env = {
        "CI_COMMIT_SHA": SHA,
        "CI_COMMIT_REF_NAME": "feat/x",
        "CI_PROJECT_URL": "https://gitlab-ci-token:secret@gitlab.example.com/ascent/ascent",
        "SOURCE_DATE_EPOCH": "0",
    }
    rev = revision.current("build", env, ROOT)
    assert rev == revision.Revision(
        SHA, "feat/x", "https://gitlab.example.com/ascent/ascent", "1970-01-01T00:00:00Z"
    )


def test_revision_refuses_a_sha_that_is_not_one(tmp_path):
    with pytest.raises(StepFailed, match="build: no commit SHA"):
        revision.current("build", {"GITHUB_SHA": "main"}, tmp_path)


def test_tags_never_latest():
    assert check_tag("build", SHA) == SHA
    for bad in ("latest", "LATEST", "-x", "a" * 129, "a/b"):
        with pytest.raises(StepFailed):
            check_tag("build", bad)
    assert branch_tag("feature/GPU pools") == "feature-GPU-pools"
    assert branch_tag("latest") is None and branch_tag(None) is None


def test_discovers_every_workload_dockerfile_built_from_the_root():
    assert [(s.name, s.context) for s in discover()] == [("inference", ROOT), ("training", ROOT)]


def test_digest_from_a_docker_push_stream_and_errors_fail():
    chunks = [{"status": "Pushed"}, {"aux": {"Tag": "t", "Digest": DIGEST, "Size": 1}}]
    assert digest_of(chunks, "r:t") == DIGEST
    with pytest.raises(StepFailed, match="denied"):
        digest_of([{"error": "denied: not authorized"}], "r:t")
    with pytest.raises(StepFailed, match="no digest"):
        digest_of([{"status": "Pushed"}], "r:t")


def test_image_config_findings():
    ok = {"User": "10001:10001", "Env": ["PATH=/bin", "TOKEN_URL="], "ExposedPorts": {}}
    assert config_findings(ok) == []
    bad = {"User": "0:0", "Env": ["AWS_SECRET_ACCESS_KEY=x"], "ExposedPorts": {"22/tcp": {}}}
    assert [f.severity for f in config_findings(bad)] == [HIGH, HIGH, MEDIUM]
    assert config_findings({"User": "root"})[0].message == "runs as root (USER root)"


def test_stack_config_for_a_release():
    release = {
        "registry": "127.0.0.1:5000/ascent",
        "tag": SHA,
        "images": {
            name: {"repository": f"127.0.0.1:5000/ascent/{name}", "digest": DIGEST}
            for name in ("training", "inference")
        },
    }
    declared = pulumi_steps.declared_keys()
    assert {"ascent:imageTag", "ascent:images"} <= declared
    pinned = [f"{n}=127.0.0.1:5000/ascent/{n}@{DIGEST}" for n in ("inference", "training")]
    assert pulumi_steps.image_config(release, declared) == {
        "ascent:imageTag": SHA,
        "ascent:images": json.dumps(pinned),
        "ascent:imageRegistry": "127.0.0.1:5000/ascent",
    }
    ecr = {**release, "registry": registry.ecr_registry("123456789012", "us-east-1", "aws-dev")}
    config = pulumi_steps.image_config(ecr, declared)
    assert set(config) == {"ascent:imageTag", "ascent:images"}  # ECR: the stack's own registry
    # the program takes exactly these as its config, and runs those digests
    parsed = parse_config({"ascent:images": config["ascent:images"]})
    assert parsed.pinned_images == {n: f"127.0.0.1:5000/ascent/{n}@{DIGEST}" for n in
                                    ("inference", "training")}  # fmt: skip


def test_previous_image_config_is_the_last_successful_update():
    def update(result: str, tag: str, kind: str = "update") -> UpdateSummary:
        config = {"ascent:imageTag": {"value": tag, "secret": False}}
        return UpdateSummary(kind, datetime(2026, 1, 1), "", {}, config, result)

    history = [update("failed", "c"), update("succeeded", "p", "preview"), update("succeeded", "b")]
    assert pulumi_steps.previous_image_config(history) == {"ascent:imageTag": "b"}
    assert pulumi_steps.previous_image_config([update("failed", "c")]) is None


@pytest.mark.parametrize("step", ["preview", "deploy"])
def test_pulumi_steps_need_the_cli(step, tmp_path):
    env = {"PATH": str(tmp_path), "ASCENT_CI_OUT": str(tmp_path)}  # no `pulumi` on PATH
    proc = run_ci(step, "--stack", "aws-dev", env=env)
    assert proc.returncode == 1
    assert f"{step}: the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/)" in (
        proc.stderr
    )


def test_pr_number_and_comment(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42}}))
    assert pull_request.pr_number({"GITHUB_EVENT_PATH": str(event)}) == 42
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    assert pull_request.pr_number({"GITHUB_EVENT_PATH": str(event)}) is None
    assert pull_request.post_comment("x", {}) == "not running in a pull request"
    body = pull_request.plan_comment("aws-dev", "| a | b |\n")
    assert body.startswith("<!-- ascent-plan:aws-dev -->") and body.endswith("| a | b |\n")


@pytest.fixture
def aws_env(monkeypatch):
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_ecr_login_uses_the_environments_credentials(aws_env, monkeypatch):
    ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ascent-aws-dev"
    assert registry.login("push", "127.0.0.1:5000/ascent") is None  # not ECR: the engine's own
    with pytest.raises(StepFailed, match="push: no AWS credentials for ECR login"):
        registry.login("push", ecr)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        auth = registry.login("push", ecr)
    assert auth is not None and auth["username"] == "AWS" and auth["password"]
    assert auth["serveraddress"].startswith("https://")


def deployment(generation=2, observed=2, replicas=2, updated=2, total=2, available=2):
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(generation=generation),
        spec=client.V1DeploymentSpec(replicas=replicas, selector=client.V1LabelSelector(),
                                     template=client.V1PodTemplateSpec()),
        status=client.V1DeploymentStatus(observed_generation=observed, updated_replicas=updated,
                                         replicas=total, available_replicas=available),
    )  # fmt: skip


def test_rollout_complete_follows_kubectl_rollout_status():
    assert smoke.rollout_complete(deployment())
    assert not smoke.rollout_complete(deployment(observed=1))  # new spec not seen yet
    assert not smoke.rollout_complete(deployment(updated=1))  # not every replica updated
    assert not smoke.rollout_complete(deployment(total=3))  # an old replica still there
    assert not smoke.rollout_complete(deployment(available=1))  # an updated one not available
    assert smoke.rollout_complete(deployment(replicas=0, updated=0, total=0, available=0))


def test_smoke_waits_for_every_rollout_in_its_own_namespace():
    class Apps:
        def __init__(self) -> None:
            self.reads: list[tuple[str, str]] = []

        def read_namespaced_deployment(self, name: str, namespace: str) -> client.V1Deployment:
            self.reads.append((namespace, name))
            stuck = (namespace, name) == ("training", "features") and len(self.reads) < 6
            return deployment(available=1) if stuck else deployment()

    apps = Apps()
    cluster = smoke.Cluster(apps, None)  # type: ignore[arg-type]
    assert smoke.wait_for_rollouts(cluster, timeout_s=0) == ["training/features"]
    assert set(apps.reads) == {("serving", "inference"), ("serving", "scorer"),
                               ("training", "features")}  # fmt: skip
    assert smoke.wait_for_rollouts(cluster, timeout_s=5, poll_s=0) == []


def test_inference_body_follows_the_model_metadata():
    metadata = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 43]}]}
    body = smoke.infer_body(metadata)["inputs"][0]
    assert body["shape"] == [1, 43] and len(body["data"]) == 43 and body["name"] == "features"


def test_smoke_without_a_cluster_says_so(tmp_path):
    env = {"KUBECONFIG": str(tmp_path / "none"), "KUBERNETES_SERVICE_HOST": ""}
    proc = run_ci("smoke", env=env)
    assert proc.returncode == 1
    assert "smoke: no Kubernetes access" in proc.stderr


def test_ci_files_pass_checkov():
    assert check_ci_files() == 0


class RecordingStack:
    """Stands in for an Automation API stack: records config and updates, in order."""

    name = "aws-dev"

    def __init__(self) -> None:
        self.config: dict[str, str] = {}
        self.deployed: list[dict[str, str]] = []

    def set_all_config(self, values):
        self.config.update({k: v.value for k, v in values.items()})

    def remove_config(self, key):
        del self.config[key]

    def up(self, **kwargs):
        assert kwargs["policy_packs"] == [str(ROOT / "policies")]
        assert kwargs["policy_pack_configs"] == CONFIGS
        self.deployed.append(dict(self.config))


NEW = {"ascent:imageTag": "new", "ascent:images": "[]"}
CONFIGS = ["/out/policy-config.aws-dev.json"]


@pytest.mark.parametrize(("smoke_code", "expected"), [(0, 0), (1, 1)])
def test_failed_smoke_redeploys_the_previous_image_tag(smoke_code, expected):
    stack = RecordingStack()
    previous = {"ascent:imageTag": "old"}
    code = pulumi_steps.up_with_rollback(
        "deploy", stack, NEW, previous, lambda: smoke_code, CONFIGS
    )
    assert code == expected
    assert stack.deployed[0] == NEW
    assert stack.deployed[1:] == ([] if smoke_code == 0 else [{"ascent:imageTag": "old"}])


def test_failed_smoke_without_a_previous_update_fails_without_rollback():
    stack = RecordingStack()
    assert pulumi_steps.up_with_rollback("deploy", stack, NEW, None, lambda: 1, CONFIGS) == 1
    assert stack.deployed == [NEW]


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_preview_and_up_get_the_stacks_own_limits_as_the_packs_config(tmp_path, stack):
    """The file CI hands `--policy-pack-config`: every policy, the stack's maxGpuNodes and
    budget, the same PackConfig that `ascent plan` evaluates with."""
    from infra.config import parse_config
    from infra.offline import stack_config
    from infra.report import pack_config
    from policies.rules import RULES

    (path,) = pulumi_steps.write_policy_config(stack, tmp_path)
    doc = json.loads(Path(path).read_text())
    config = parse_config(stack_config(stack))
    assert set(doc) == {r.name for r in RULES}
    for entry in doc.values():
        assert entry["maxGpuNodes"] == config.max_gpu_nodes
        assert entry["monthlyBudgetUsd"] == config.monthly_budget_usd
    assert doc == pack_config(config).as_policy_pack_config(RULES)
