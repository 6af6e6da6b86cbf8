"""Run a step inside the VPC: the cloud stack's CodeBuild project (the deploy runner) runs it.

The aws-prod cluster's API endpoint is private, so the Kubernetes layer cannot be deployed from a
CI machine. This is the CI side: zip the checkout, upload it to S3 under its own hash, start a
build of the runner project on it, stream the build's CloudWatch log to stdout, and give back the
build's outcome as an exit code. Any AWS error becomes one `StepFailed` line, never a traceback.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ci.shell import StepFailed, say

OUTPUT = "deployRunner"  # the cloud stack's output that describes the runner
_KEYS = {
    "project": "project",
    "region": "region",
    "source_bucket": "sourceBucket",
    "source_prefix": "sourcePrefix",
    "log_group": "logGroup",
}
_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip's earliest date: the same tree gives the same bytes


@dataclass(frozen=True)
class RunnerTarget:
    """Where the deploy runner lives: its CodeBuild project, source bucket and log group."""

    project: str
    region: str
    source_bucket: str
    source_prefix: str  # e.g. "deploy-sources/"
    log_group: str


def runner_target(step: str, outputs: Mapping[str, Any]) -> RunnerTarget:
    """The runner from the cloud stack's outputs (plain values); it exists once that stack is up."""
    hint = "deploy the cloud stack first (`python -m ci deploy --stack <cloud>`)"
    runner = outputs.get(OUTPUT)
    if not isinstance(runner, Mapping):
        raise StepFailed(step, f"the cloud stack has no `{OUTPUT}` output: {hint}")
    missing = [key for key in _KEYS.values() if not runner.get(key)]
    if missing:
        raise StepFailed(step, f"`{OUTPUT}` lacks {', '.join(missing)}: {hint}")
    return RunnerTarget(**{field: str(runner[key]) for field, key in _KEYS.items()})


def source_archive(step: str, root: Path, dest: Path, extra: Sequence[Path] = ()) -> Path:
    """Zip the working tree as Git sees it (tracked and untracked-not-ignored files, as they are
    now, not as committed), plus `extra` (ignored files the remote step needs, e.g. a release
    record; relative ones are taken from `root`). Sorted entries and fixed dates make the bytes,
    so the S3 key and ETag, depend on the content alone."""
    root = root.resolve()
    argv = ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    try:
        listed = subprocess.run(argv, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        why = os.fsdecode(getattr(exc, "stderr", None) or str(exc).encode()).strip()
        raise StepFailed(step, f"cannot list the files of {root}: {why}") from None
    files = {name: root / name for name in map(os.fsdecode, listed.split(b"\0")) if name}
    for path in extra:
        full = (root / path).resolve()
        if not full.is_relative_to(root):
            raise StepFailed(step, f"{path} is outside {root}: it cannot go in the source archive")
        if not full.is_file():
            raise StepFailed(step, f"{path} is not a file: it cannot go in the source archive")
        files[full.relative_to(root).as_posix()] = full
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            path = files[name]
            if path.is_symlink():  # stored as a link, as git stores it
                mode, data = stat.S_IFLNK | 0o777, os.readlink(path).encode()
            elif path.is_file():  # a deleted tracked file or a submodule folder is skipped
                mode = stat.S_IFREG | (0o755 if os.access(path, os.X_OK) else 0o644)
                data = path.read_bytes()
            else:
                continue
            info = zipfile.ZipInfo(name, _EPOCH)
            info.create_system, info.external_attr = 3, mode << 16  # unix mode bits
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=6)
    return dest


def log_stream(build: Mapping[str, Any], default_group: str) -> tuple[str, str]:
    """The build's (log group, log stream). CodeBuild reports them once the container starts
    (as the string "null" before); until then its convention gives the stream: the build id's
    part after the colon (`project:uuid` -> `uuid`) in the project's log group."""
    logs = build.get("logs") or {}
    group, stream = logs.get("groupName"), logs.get("streamName")
    group = group if group and group != "null" else default_group
    stream = stream if stream and stream != "null" else str(build["id"]).partition(":")[2]
    return group, stream


@contextmanager
def _aws(step: str, doing: str) -> Iterator[None]:
    """AWS errors (no credentials, endpoint down, access denied) as one line saying what failed."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise StepFailed(step, f"{doing}: {exc}") from None


class _LogTail:
    """Prints a log stream's new events once each; a stream not created yet has none yet."""

    def __init__(self, logs: Any, out: Callable[[str], None]) -> None:
        self.logs, self.out = logs, out
        self.tokens: dict[tuple[str, str], str] = {}  # a token belongs to one stream

    def drain(self, group: str, stream: str) -> None:
        where = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        while True:
            token = self.tokens.get((group, stream))
            try:
                page = self.logs.get_log_events(**where, **({"nextToken": token} if token else {}))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return  # CodeBuild creates the stream when the container starts
                raise
            for event in page.get("events", []):
                self.out(event["message"].rstrip("\n"))
            following = page.get("nextForwardToken")
            if following is None or following == token:
                return  # the same token again: nothing newer yet
            self.tokens[(group, stream)] = following


def run_remote(
    step: str,
    target: RunnerTarget,
    archive: Path,
    env: Mapping[str, str],
    *,
    session: boto3.Session | None = None,
    poll_s: float = 5.0,
    timeout_s: float = 3600,
    out: Callable[[str], None] = print,
    endpoint_url: str | None = None,
    on_started: Callable[[str], None] | None = None,
) -> int:
    """Run `archive` on the runner with `env`, streaming its log; 0 if the build succeeded.

    `on_started` gets the build id as soon as it exists (tests use it to play CodeBuild's part);
    `endpoint_url` (tests: a moto server) goes to every client."""
    session = session or boto3.Session()
    s3, codebuild, logs = (
        session.client(name, region_name=target.region, endpoint_url=endpoint_url)
        for name in ("s3", "codebuild", "logs")
    )
    data = archive.read_bytes()
    key = f"{target.source_prefix}{hashlib.sha256(data).hexdigest()}.zip"
    with _aws(step, f"uploading the source to s3://{target.source_bucket}/{key}"):
        version = s3.put_object(Bucket=target.source_bucket, Key=key, Body=data).get("VersionId")
    start: dict[str, Any] = {
        "projectName": target.project,
        "sourceTypeOverride": "S3",
        "sourceLocationOverride": f"{target.source_bucket}/{key}",
        "environmentVariablesOverride": [
            {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in env.items()
        ],
    }
    if version and version != "null":  # the exact object, even if the key is written again
        start["sourceVersion"] = version
    with _aws(step, f"starting a build of CodeBuild project {target.project}"):
        build_id: str = codebuild.start_build(**start)["build"]["id"]
    console = f"https://{target.region}.console.aws.amazon.com/codesuite/codebuild/projects"
    say(step, f"build {build_id}: {console}/{target.project}/build/{quote(build_id, safe='')}/")
    if on_started:
        on_started(build_id)
    tail, deadline = _LogTail(logs, out), time.monotonic() + timeout_s
    try:
        while True:
            if time.monotonic() >= deadline:
                with _aws(step, f"stopping build {build_id}"):
                    codebuild.stop_build(id=build_id)
                say(step, f"build {build_id} ran past {timeout_s:g} s: stopped it")
                return 1
            with _aws(step, f"reading build {build_id}"):
                builds = codebuild.batch_get_builds(ids=[build_id])["builds"]
            if not builds:
                raise StepFailed(step, f"CodeBuild no longer knows build {build_id}")
            build = builds[0]
            with _aws(step, f"reading the log of build {build_id}"):
                tail.drain(*log_stream(build, target.log_group))
            if build["buildStatus"] != "IN_PROGRESS":
                # CloudWatch stores the last events a little after the build ends: read once more
                time.sleep(min(poll_s, 5.0))
                with _aws(step, f"reading the log of build {build_id}"):
                    tail.drain(*log_stream(build, target.log_group))
                break
            time.sleep(poll_s)
    except KeyboardInterrupt:  # a cancelled CI job must not leave a deploy running unseen
        say(step, f"interrupted: stopping build {build_id}")
        try:
            codebuild.stop_build(id=build_id)
        except (BotoCoreError, ClientError) as exc:
            say(step, f"could not stop build {build_id}: {exc}")
        raise
    status = build["buildStatus"]
    if status == "SUCCEEDED":
        say(step, f"build {build_id} succeeded")
        return 0
    phases = build.get("phases", [])  # the last one, COMPLETED, has no status
    failed = next((p for p in phases if p.get("phaseStatus") not in (None, "SUCCEEDED")), None)
    where = ""
    if failed:
        why = "; ".join(c["message"] for c in failed.get("contexts", []) if c.get("message"))
        where = f" in {failed['phaseType']}" + (f": {why}" if why else "")
    say(step, f"build {build_id} {status}{where}")
    return 1
