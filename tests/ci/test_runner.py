"""The deploy runner's client (`ci.runner`) against a real moto server: S3, CodeBuild, Logs.

Moto's CodeBuild keeps neither a build's source nor its environment overrides, so what the
client sent is read back from moto's own request recorder. Moto cannot fail a build either: the
failed-build test stubs CodeBuild's answers with botocore's Stubber, which checks both requests
and answers against AWS's service model, and keeps S3 and Logs on the moto server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ci.runner import RunnerTarget, log_stream, run_remote, runner_target, source_archive
from ci.shell import StepFailed
from tests.moto_server import free_port, moto_server

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/ascent-deploy-runner"  # moto's account
ENV = {"ASCENT_STEP": "deploy", "ASCENT_STACK": "aws-prod-k8s"}


@dataclass(frozen=True)
class Moto:
    endpoint: str

    def call(self, action: str) -> str:
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/recorder/{action}") as answer:
            return str(answer.read().decode())


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """A moto server on 127.0.0.1 for this module, with its request recorder; stopped by PID."""
    recording = tmp_path_factory.mktemp("moto") / "recording.jsonl"
    with moto_server({"MOTO_RECORDER_FILEPATH": str(recording)}) as endpoint:
        yield Moto(endpoint)


@contextmanager
def recorded(moto: Moto) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The JSON-protocol calls (target action, request body) moto received inside the block."""
    calls: list[tuple[str, dict[str, Any]]] = []
    moto.call("reset-recording")
    moto.call("start-recording")
    try:
        yield calls
    finally:
        moto.call("stop-recording")
        for line in moto.call("download-recording").splitlines():
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry["headers"].items()}
            if "x-amz-target" not in headers:
                continue  # S3 (REST) requests
            body = entry["body"]
            body = base64.b64decode(body) if entry["body_encoded"] else body
            calls.append((headers["x-amz-target"].split(".")[-1], json.loads(body or "{}")))


def clean_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS settings from this machine: no profile, no config file, no instance metadata."""
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # an endpoint that is down fails at once


@dataclass
class Runner:
    """A deploy runner on moto, as the cloud stack declares it, and clients to look at it."""

    target: RunnerTarget
    endpoint: str
    s3: Any
    codebuild: Any
    logs: Any

    def write_log(self, stream: str, messages: list[str]) -> None:
        """What CodeBuild does once the container runs: the stream, then the build's output."""
        group = self.target.log_group
        existing = self.logs.describe_log_streams(logGroupName=group)["logStreams"]
        if stream not in [s["logStreamName"] for s in existing]:
            self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now + i, "message": m} for i, m in enumerate(messages)]
        self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


@pytest.fixture
def runner(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> Runner:
    clean_aws_env(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    unique = uuid.uuid4().hex[:8]
    target = RunnerTarget(
        project=f"ascent-deploy-{unique}",
        region=REGION,
        source_bucket=f"ascent-sources-{unique}",
        source_prefix="deploy-sources/",
        log_group=f"/ascent/deploy-runner-{unique}",
    )
    s3, codebuild, logs = (
        boto3.client(name, region_name=REGION, endpoint_url=moto.endpoint)
        for name in ("s3", "codebuild", "logs")
    )
    s3.create_bucket(Bucket=target.source_bucket)
    s3.put_bucket_versioning(
        Bucket=target.source_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    logs.create_log_group(logGroupName=target.log_group)
    codebuild.create_project(
        name=target.project,
        source={"type": "S3", "location": f"{target.source_bucket}/deploy-sources/none.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=ROLE,
        logsConfig={"cloudWatchLogs": {"status": "ENABLED", "groupName": target.log_group}},
    )
    return Runner(target, moto.endpoint, s3, codebuild, logs)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "source.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ci/__main__.py", f"# {uuid.uuid4()}\n")  # fresh bytes, a fresh key
    return path


def test_a_build_uploads_the_source_runs_on_the_runner_and_streams_its_log(
    runner: Runner, moto: Moto, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = [f"[Container] line {i}" for i in range(7)] + ["Phase complete: BUILD"]
    started: list[str] = []

    def on_started(build_id: str) -> None:  # moto reports no stream: the id's uuid it is
        started.append(build_id)
        runner.write_log(build_id.partition(":")[2], messages)

    lines: list[str] = []
    with recorded(moto) as calls:
        code = run_remote(
            "deploy",
            runner.target,
            archive,
            ENV,
            poll_s=0.01,
            out=lines.append,
            endpoint_url=runner.endpoint,
            on_started=on_started,
        )
    assert code == 0
    assert lines == messages  # in order, each once, though drained twice

    data = archive.read_bytes()
    key = f"deploy-sources/{hashlib.sha256(data).hexdigest()}.zip"
    stored = runner.s3.get_object(Bucket=runner.target.source_bucket, Key=key)
    assert stored["Body"].read() == data

    ids = runner.codebuild.list_builds_for_project(projectName=runner.target.project)["ids"]
    assert ids == started
    (build,) = runner.codebuild.batch_get_builds(ids=ids)["builds"]
    assert build["sourceVersion"] == stored["VersionId"]
    starts = [body for action, body in calls if action == "StartBuild"]
    assert starts == [
        {
            "projectName": runner.target.project,
            "sourceTypeOverride": "S3",
            "sourceLocationOverride": f"{runner.target.source_bucket}/{key}",
            "sourceVersion": stored["VersionId"],
            "environmentVariablesOverride": [
                {"name": "ASCENT_STEP", "value": "deploy", "type": "PLAINTEXT"},
                {"name": "ASCENT_STACK", "value": "aws-prod-k8s", "type": "PLAINTEXT"},
            ],
        }
    ]
    said = capsys.readouterr().out
    build_path = started[0].replace(":", "%3A")
    assert f"codesuite/codebuild/projects/{runner.target.project}/build/{build_path}/" in said
    assert f"build {started[0]} succeeded" in said


class StubbedCodeBuild(boto3.Session):
    """A session whose CodeBuild client is the one given (stubbed); S3 and Logs stay real."""

    def __init__(self, codebuild: Any) -> None:
        super().__init__()
        self.codebuild = codebuild

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if service_name == "codebuild":
            return self.codebuild
        return super().client(service_name, *args, **kwargs)


REASON = 'Error while executing command: python -m ci "$ASCENT_STEP". Reason: exit status 1'
BUILD_FAILED = {
    "phaseType": "BUILD",
    "phaseStatus": "FAILED",
    "contexts": [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": REASON}],
}


@pytest.mark.parametrize(
    ("status", "phase", "said"),
    [
        ("FAILED", BUILD_FAILED, f"FAILED in BUILD: {REASON}\n"),
        ("STOPPED", {"phaseType": "BUILD", "phaseStatus": "SUCCEEDED"}, "STOPPED\n"),
    ],
    ids=["failed-phase", "stopped-elsewhere"],
)
def test_a_build_that_did_not_succeed_says_which_phase_failed_and_why(
    runner: Runner,
    archive: Path,
    capsys: pytest.CaptureFixture[str],
    status: str,
    phase: dict[str, Any],
    said: str,
) -> None:
    build_id = f"{runner.target.project}:{uuid.uuid4()}"
    stream = f"deploy/{build_id.partition(':')[2]}"  # a stream CodeBuild names: it is followed
    codebuild = boto3.client("codebuild", region_name=REGION)
    stub = Stubber(codebuild)
    key = f"deploy-sources/{hashlib.sha256(archive.read_bytes()).hexdigest()}.zip"
    stub.add_response(
        "start_build",
        {"build": {"id": build_id, "buildStatus": "IN_PROGRESS"}},
        {
            "projectName": runner.target.project,
            "sourceTypeOverride": "S3",
            "sourceLocationOverride": f"{runner.target.source_bucket}/{key}",
            "sourceVersion": ANY,
            "environmentVariablesOverride": [
                {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in ENV.items()
            ],
        },
    )
    reported = {"groupName": runner.target.log_group, "streamName": stream}
    running = {"id": build_id, "buildStatus": "IN_PROGRESS", "logs": reported}
    for _ in range(2):
        stub.add_response("batch_get_builds", {"builds": [running]}, {"ids": [build_id]})
    phases = [
        {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED"},
        {"phaseType": "INSTALL", "phaseStatus": "SUCCEEDED"},
        phase,
        {"phaseType": "POST_BUILD", "phaseStatus": "SUCCEEDED"},
        {"phaseType": "COMPLETED"},  # as CodeBuild reports it: no status
    ]
    done = {**running, "buildStatus": status, "phases": phases}
    stub.add_response("batch_get_builds", {"builds": [done]}, {"ids": [build_id]})

    polls: list[str] = []

    def build_writes(**_: Any) -> None:
        """At the first poll the container has not started (no stream yet); then each poll
        finds one more line."""
        polls.append(f"poll {len(polls)}")
        if len(polls) > 1:
            runner.write_log(stream, [polls[-1]])

    codebuild.meta.events.register("before-parameter-build.codebuild.BatchGetBuilds", build_writes)
    lines: list[str] = []
    with stub:
        code = run_remote(
            "deploy",
            runner.target,
            archive,
            ENV,
            poll_s=0.01,
            out=lines.append,
            session=StubbedCodeBuild(codebuild),
            endpoint_url=runner.endpoint,
        )
        stub.assert_no_pending_responses()
    assert code == 1
    assert polls == ["poll 0", "poll 1", "poll 2"]
    assert lines == ["poll 1", "poll 2"]
    assert capsys.readouterr().out.endswith(f"==> deploy: build {build_id} {said}")


def test_a_build_past_its_time_is_stopped(
    runner: Runner, moto: Moto, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with recorded(moto) as calls:
        code = run_remote(
            "deploy",
            runner.target,
            archive,
            ENV,
            timeout_s=0,
            poll_s=0.01,
            endpoint_url=runner.endpoint,
        )
    assert code == 1
    (build_id,) = runner.codebuild.list_builds_for_project(projectName=runner.target.project)["ids"]
    assert [c for c in calls if c[0] != "StartBuild"] == [("StopBuild", {"id": build_id})]
    assert f"build {build_id} ran past 0 s: stopped it" in capsys.readouterr().out


def test_an_interrupt_stops_the_build_and_goes_on(
    runner: Runner, moto: Moto, archive: Path
) -> None:
    def interrupt(line: str) -> None:
        raise KeyboardInterrupt

    def on_started(build_id: str) -> None:
        runner.write_log(build_id.partition(":")[2], ["first line"])

    with recorded(moto) as calls, pytest.raises(KeyboardInterrupt):
        run_remote(
            "deploy",
            runner.target,
            archive,
            ENV,
            poll_s=0.01,
            out=interrupt,
            endpoint_url=runner.endpoint,
            on_started=on_started,
        )
    (build_id,) = runner.codebuild.list_builds_for_project(projectName=runner.target.project)["ids"]
    assert ("StopBuild", {"id": build_id}) in calls


def test_no_credentials_is_one_line(
    runner: Runner, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_aws_env(monkeypatch)
    with pytest.raises(StepFailed) as failed:
        run_remote("deploy", runner.target, archive, ENV, endpoint_url=runner.endpoint)
    message = str(failed.value)
    assert message.startswith(
        f"deploy: uploading the source to s3://{runner.target.source_bucket}/"
    )
    assert message.endswith("Unable to locate credentials") and "\n" not in message
    assert failed.value.__cause__ is None and failed.value.__suppress_context__


def test_an_endpoint_that_is_down_is_one_line(runner: Runner, archive: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # bound, then closed: nothing listens there
    with pytest.raises(StepFailed) as failed:
        run_remote("deploy", runner.target, archive, ENV, endpoint_url=closed)
    message = str(failed.value)
    assert message.startswith("deploy: uploading the source to s3://")
    assert "Could not connect to the endpoint URL" in message and "\n" not in message
    assert failed.value.__cause__ is None


def test_log_stream_follows_codebuild_then_its_convention() -> None:
    build = {"id": "ascent-deploy:0b7e", "logs": {"groupName": "null", "streamName": "null"}}
    assert log_stream(build, "/ascent/runner") == ("/ascent/runner", "0b7e")
    assert log_stream({"id": "ascent-deploy:0b7e"}, "/ascent/runner") == ("/ascent/runner", "0b7e")
    named = {"id": "p:0b7e", "logs": {"groupName": "/g", "streamName": "prefix/0b7e"}}
    assert log_stream(named, "/ascent/runner") == ("/g", "prefix/0b7e")


RUNNER = {
    "project": "ascent-aws-prod-deploy",
    "region": "eu-west-1",
    "sourceBucket": "ascent-aws-prod-sources",
    "sourcePrefix": "deploy-sources/",
    "logGroup": "/ascent/aws-prod/deploy-runner",
}


def test_runner_target_reads_the_cloud_stacks_output() -> None:
    assert runner_target("deploy", {"deployRunner": RUNNER}) == RunnerTarget(
        "ascent-aws-prod-deploy",
        "eu-west-1",
        "ascent-aws-prod-sources",
        "deploy-sources/",
        "/ascent/aws-prod/deploy-runner",
    )
    partial = {k: v for k, v in RUNNER.items() if k != "logGroup"}
    with pytest.raises(StepFailed, match=r"deploy: `deployRunner` lacks logGroup: deploy the"):
        runner_target("deploy", {"deployRunner": partial})
    with pytest.raises(StepFailed, match=r"no `deployRunner` output.*python -m ci deploy --stack"):
        runner_target("deploy", {"kubeconfig": "..."})


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_source_archive_is_the_working_tree_as_git_sees_it_and_deterministic(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    (root / "bin").mkdir(parents=True)
    (root / ".gitignore").write_text(".ci-out/\n*.env\n")
    (root / "README.md").write_text("committed\n")
    (root / "bin" / "run.sh").write_text("#!/bin/sh\n")
    (root / "bin" / "run.sh").chmod(0o755)
    (root / "gone.txt").write_text("deleted after the commit\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
    (root / "README.md").write_text("as it is now\n")  # changed, not committed
    (root / "gone.txt").unlink()
    (root / "notes.txt").write_text("untracked, not ignored\n")
    (root / "secret.env").write_text("ignored\n")
    (root / ".ci-out").mkdir()
    (root / ".ci-out" / "release.json").write_text('{"tag": "1"}\n')
    (root / ".ci-out" / "other.json").write_text("ignored, not asked for\n")

    first = source_archive("deploy", root, tmp_path / "a.zip", [Path(".ci-out/release.json")])
    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        assert names == [
            ".ci-out/release.json",
            ".gitignore",
            "README.md",
            "bin/run.sh",
            "notes.txt",
        ]
        assert zf.read("README.md") == b"as it is now\n"
        assert zf.getinfo("bin/run.sh").external_attr >> 16 & 0o777 == 0o755
        assert zf.getinfo("README.md").external_attr >> 16 & 0o777 == 0o644

    for path in root.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))  # new mtimes: the bytes must not change
    again = source_archive("deploy", root, tmp_path / "b.zip", [root / ".ci-out/release.json"])
    assert again.read_bytes() == first.read_bytes()

    (tmp_path / "outside.json").write_text("{}")
    for outside in (tmp_path / "outside.json", Path("../outside.json")):
        with pytest.raises(StepFailed, match=r"outside.*cannot go in the source archive"):
            source_archive("deploy", root, tmp_path / "c.zip", [outside])
