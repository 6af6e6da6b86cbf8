"""Saved plans: `preview` saves the plan it showed (`pulumi preview --save-plan`) with the stack
update it was computed against; `deploy` applies exactly that plan (`pulumi up --plan`) and
refuses when the stack has moved since (another update landed in between), since the reviewed
plan no longer describes what `up` would change. The engine itself also refuses a plan whose
resources or config no longer match. Update plans are an experimental CLI feature: using one
sets PULUMI_EXPERIMENTAL for the CLI the Automation API runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ci.shell import StepFailed


def plan_path(out: Path, stack: str) -> Path:
    """Where `preview` saves the plan of `stack` (and turns the CLI's update plans on)."""
    os.environ.setdefault("PULUMI_EXPERIMENTAL", "true")
    return out / f"plan.{stack}.json"


def base_path(out: Path, stack: str) -> Path:
    return out / f"plan.{stack}.base.json"


_meta_path = base_path


def last_version(history: Iterable[Any]) -> int | None:
    """The version of the stack's newest update (history runs newest first), None if none."""
    for update in history:
        return int(update.version) if update.version is not None else None
    return None


def record_base(out: Path, stack: str, version: int | None, commit: str) -> Path:
    path = _meta_path(out, stack)
    path.write_text(json.dumps({"stack": stack, "basedOn": version, "commit": commit}))
    return path


def saved_plan(step: str, out: Path, stack: str, history: Iterable[Any]) -> Path | None:
    """The saved plan to apply, after checking the stack has not moved; None if none saved."""
    plan = plan_path(out, stack)
    if not plan.is_file():
        return None
    meta_file = _meta_path(out, stack)
    if not meta_file.is_file():
        raise StepFailed(step, f"{plan.name} has no {meta_file.name}: preview again")
    meta = json.loads(meta_file.read_text())
    now = last_version(history)
    if meta.get("basedOn") != now:
        raise StepFailed(step, f"stack {stack} moved since the preview (it was at update "
                         f"{meta.get('basedOn')}, it is at {now}): preview again and review "
                         "the new plan")  # fmt: skip
    return plan


def upload(step: str, url: str, out: Path, stack: str) -> None:
    """On the runner: the saved plan and its base to `url` (s3://bucket/prefix/)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    try:
        s3 = boto3.client("s3")
        for path in (plan_path(out, stack), base_path(out, stack)):
            s3.upload_file(str(path), bucket, f"{prefix}{path.name}")
    except (BotoCoreError, ClientError) as exc:
        raise StepFailed(
            step, f"cannot hand the plan back to s3://{bucket}/{prefix}: {exc}"
        ) from None


def download(step: str, bucket: str, prefix: str, out: Path, stack: str, region: str) -> None:
    """In CI: the plan the runner saved, for review and for `deploy` to apply."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    out.mkdir(parents=True, exist_ok=True)
    try:
        s3 = boto3.client("s3", region_name=region)
        for path in (plan_path(out, stack), base_path(out, stack)):
            s3.download_file(bucket, f"{prefix}{path.name}", str(path))
    except (BotoCoreError, ClientError) as exc:
        raise StepFailed(
            step, f"the runner's plan is not in s3://{bucket}/{prefix}: {exc}"
        ) from None
