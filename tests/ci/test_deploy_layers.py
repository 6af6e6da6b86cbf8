"""`python -m ci deploy|preview` on a split AWS stack (infra/layers.py): the cloud layer here, the
kubernetes layer on the runner the cloud layer declares, with the program's own runner outputs
and CodeBuild project against moto's CodeBuild, S3 and CloudWatch Logs APIs."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from ci.images import RELEASE_RECORD
from ci.shell import StepFailed
from ci.steps import pulumi_steps
from infra.offline import Inventory, run_program
from tests.moto_server import moto_server

RELEASE = {"tag": "abc123", "images": {"inference": {"digest": "sha256:" + "1" * 64}}}


@pytest.fixture(scope="module")
def cloud() -> Inventory:
    """aws-prod's cloud layer as the offline plan declares it: its outputs stand in for
    `pulumi stack output` after the cloud layer's `up`."""
    return run_program("aws-prod").layers["aws-prod"]


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def start_build_requests(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Each StartBuild request as botocore sends it (moto keeps no overrides of a build)."""
    sent: list[dict[str, Any]] = []
    real_session = boto3.Session

    def recording_session(*args: Any, **kwargs: Any) -> boto3.Session:
        session = real_session(*args, **kwargs)
        session.events.register("provide-client-params.codebuild.StartBuild",
                                lambda params, **_: sent.append(dict(params)))  # fmt: skip
        return session

    monkeypatch.setattr(boto3, "Session", recording_session)
    return sent


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, aws_endpoint: str, tmp_path: Path) -> boto3.Session:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE", "ASCENT_RUNNER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)  # every boto3 client, as botocore reads it
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    return boto3.Session(region_name="us-east-1")


def _declare_runner(session: boto3.Session, cloud: Inventory) -> str:
    """Create what `pulumi up` of the cloud layer creates, from the program's declared inputs;
    botocore checks each request against CodeBuild's service model."""
    project = cloud.named("deploy-runner-project").inputs
    logs = cloud.named("deploy-runner-logs").inputs
    s3 = session.client("s3")
    bucket = cloud.outputs["bucketName"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    logs_client, codebuild = session.client("logs"), session.client("codebuild")
    if logs_client.describe_log_groups(logGroupNamePrefix=logs["name"])["logGroups"]:
        return str(project["name"])  # this module's server has it from an earlier test
    logs_client.create_log_group(logGroupName=logs["name"])
    env = project["environment"]
    codebuild.create_project(
        name=project["name"],
        source={k: project["source"][k] for k in ("type", "location", "buildspec")},
        artifacts={"type": project["artifacts"]["type"]},
        environment={
            "type": env["type"],
            "image": env["image"],
            "computeType": env["computeType"],
            "environmentVariables": env["environmentVariables"],
        },
        serviceRole=project["serviceRole"],
        logsConfig={"cloudWatchLogs": {"status": "ENABLED", "groupName": logs["name"]}},
    )
    return str(project["name"])


def test_the_kubernetes_layer_runs_on_the_runner_with_this_checkout(
    aws, cloud, monkeypatch, tmp_path, capsys, start_build_requests
):
    project = _declare_runner(aws, cloud)
    monkeypatch.setattr(pulumi_steps, "cloud_outputs", lambda step, stack: dict(cloud.outputs))
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://acme-pulumi-state")
    monkeypatch.setenv("ASCENT_GIT_SHA", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("ASCENT_GIT_BRANCH", "release/2026-12")
    out = tmp_path / "out"
    out.mkdir()
    (out / RELEASE_RECORD).write_text(json.dumps(RELEASE))

    code = pulumi_steps.run_on_runner("deploy", "aws-prod-k8s", "aws-prod", out, poll_s=0.01)

    assert code == 0
    codebuild = aws.client("codebuild")
    (build,) = codebuild.batch_get_builds(ids=codebuild.list_builds_for_project(
        projectName=project)["ids"])["builds"]  # fmt: skip
    assert build["buildStatus"] == "SUCCEEDED"
    (start,) = start_build_requests
    assert start["projectName"] == project
    env = {v["name"]: v["value"] for v in start["environmentVariablesOverride"]}
    assert env == {
        "ASCENT_STEP": "deploy",
        "ASCENT_STACK": "aws-prod-k8s",
        "ASCENT_GIT_SHA": "0123456789abcdef0123456789abcdef01234567",
        "ASCENT_GIT_BRANCH": "release/2026-12",
        "PULUMI_BACKEND_URL": "s3://acme-pulumi-state",
    }  # the runner's zip has no .git: the revision travels in the environment
    bucket, _, key = start["sourceLocationOverride"].partition("/")
    assert bucket == cloud.outputs["bucketName"] and key.startswith("deploy-sources/")
    stored = aws.client("s3").get_object(Bucket=bucket, Key=key)
    assert start["sourceVersion"] == stored["VersionId"]  # the exact object, not a later write
    body = stored["Body"].read()
    names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
    assert {"Pulumi.yaml", "Pulumi.aws-prod.yaml", "Pulumi.aws-prod-k8s.yaml",
            "infra/aws/runner.py", f".ci-out/{RELEASE_RECORD}"} <= names  # fmt: skip
    assert not any(n.startswith((".venv/", ".git/")) for n in names)
    assert (
        json.loads(zipfile.ZipFile(io.BytesIO(body)).read(f".ci-out/{RELEASE_RECORD}")) == RELEASE
    )
    assert "running on ascent-aws-prod-deploy" in capsys.readouterr().out


def test_a_cloud_stack_without_its_runner_says_to_deploy_it_first(aws, monkeypatch, tmp_path):
    monkeypatch.setattr(pulumi_steps, "cloud_outputs", lambda step, stack: {"clusterName": "x"})
    with pytest.raises(StepFailed, match="deploy the cloud stack first"):
        pulumi_steps.run_on_runner("deploy", "aws-prod-k8s", "aws-prod", tmp_path)


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Which way `deploy`/`preview` go for a stack (the Pulumi CLI is not on this machine)."""
    calls: list[tuple[str, ...]] = []
    monkeypatch.delenv("ASCENT_RUNNER", raising=False)
    monkeypatch.setattr(pulumi_steps, "require_cli", lambda step: None)

    def runner(step: str, stack: str, cloud: str, out: Path) -> int:
        calls.append(("runner", step, stack, cloud))
        return 0

    def cloud_layer(step: str, stack: str, out: Path) -> int:
        calls.append(("cloud", step, stack))
        return 0

    monkeypatch.setattr(pulumi_steps, "run_on_runner", runner)
    monkeypatch.setattr(pulumi_steps, "deploy_cloud_layer", cloud_layer)
    return calls


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_deploy_routes_each_layer(routed, tmp_path, stack):
    """No release record is read for a cloud layer (its ECR must exist before the push)."""
    assert pulumi_steps.deploy(stack, tmp_path, None, 1) == 0
    assert pulumi_steps.deploy(f"{stack}-k8s", tmp_path, None, 1) == 0
    assert pulumi_steps.preview(f"{stack}-k8s", tmp_path) == 0
    assert routed == [
        ("cloud", "deploy", stack),
        ("runner", "deploy", f"{stack}-k8s", stack),
        ("runner", "preview", f"{stack}-k8s", stack),
    ]


def test_on_the_runner_the_kubernetes_layer_deploys_there(routed, monkeypatch, tmp_path):
    monkeypatch.setenv("ASCENT_RUNNER", "codebuild")
    with pytest.raises(StepFailed, match=RELEASE_RECORD):  # it went on to `up`: images first
        pulumi_steps.deploy("aws-prod-k8s", tmp_path, None, 1)
    assert routed == []


def test_a_runner_preview_hands_its_saved_plan_back_and_deploy_takes_it_there(
    aws, cloud, monkeypatch, tmp_path, start_build_requests
):
    """The kubernetes layer's plan is made on the runner: it comes back through the platform
    bucket for review, and goes out again with `deploy`, which applies exactly it there."""
    from ci import plans

    _declare_runner(aws, cloud)
    monkeypatch.setattr(pulumi_steps, "cloud_outputs", lambda step, stack: dict(cloud.outputs))
    sha = "89abcdef0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("ASCENT_GIT_SHA", sha)
    bucket = cloud.outputs["bucketName"]
    prefix = f"deploy-sources/plans/aws-prod-k8s/{sha}/"

    # what the runner does at the end of its preview (ci/plans.upload), through the S3 API
    runner_out = tmp_path / "runner"
    runner_out.mkdir()
    plans.plan_path(runner_out, "aws-prod-k8s").write_text('{"resourcePlans": {}}')
    plans.record_base(runner_out, "aws-prod-k8s", 7, sha)
    plans.upload("preview", f"s3://{bucket}/{prefix}", runner_out, "aws-prod-k8s")

    out = tmp_path / "ci"
    out.mkdir()
    assert pulumi_steps.run_on_runner("preview", "aws-prod-k8s", "aws-prod", out, poll_s=0.01) == 0
    for name in ("plan.aws-prod-k8s.json", "plan.aws-prod-k8s.base.json"):
        assert (out / name).read_bytes() == (runner_out / name).read_bytes()

    assert pulumi_steps.run_on_runner("deploy", "aws-prod-k8s", "aws-prod", out, poll_s=0.01) == 0
    _, _, key = start_build_requests[-1]["sourceLocationOverride"].partition("/")
    body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
    assert {".ci-out/plan.aws-prod-k8s.json", ".ci-out/plan.aws-prod-k8s.base.json"} <= names


def test_the_runner_may_hand_plans_back_and_nothing_else(inventories):
    import json as _json

    doc = _json.loads(inventories["aws-prod"].named("deploy-runner-policy").inputs["policy"])
    writes = [s for s in doc["Statement"] if any(a.startswith("s3:Put") for a in
              ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]  # fmt: skip
    assert [(w["Sid"], w["Resource"]) for w in writes if w["Sid"] != "StateObjects"] == [
        ("Plans", "arn:aws:s3:::storage-bucket-mock/deploy-sources/plans/*")
    ]
