"""`preview` and `deploy`: `pulumi preview` / `pulumi up` for a stack through the Automation API,
with the policy pack and the image config CI sets; `deploy` then smoke-tests and, if that fails,
re-deploys the previous image config.

A split AWS stack (infra/layers.py): the cloud layer runs here (AWS APIs only; no images, no
smoke); the kubernetes layer needs the private API endpoint, so from anywhere but its runner the
step uploads this checkout (with the release record) and runs itself there (ci/runner.py),
streaming the log; on the runner it reads the kubeconfig from the cloud stack for the smoke test.

Setting config writes it into `Pulumi.<stack>.yaml` of the checkout, as `pulumi config set` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ci import plans, pull_request, revision
from ci.images import BUILD_RECORD, RELEASE_RECORD, read_record
from ci.registry import ECR
from ci.shell import ROOT, StepFailed, say, tool

POLICY_PACKS = [str(ROOT / "policies")]
TAG, IMAGES, REGISTRY = "ascent:imageTag", "ascent:images", "ascent:imageRegistry"
RUNNER_PASSED_ENV = ("PULUMI_BACKEND_URL",)
"""Passed to the runner as they are here (plain text); secrets reach it from Secrets Manager
(`deployRunnerSecrets`), never through the build's parameters."""
IMAGE_KEYS = (TAG, IMAGES, REGISTRY)


def write_policy_config(stack_name: str, out: Path) -> list[str]:
    """The pack's `--policy-pack-config` for this stack: its own limits (maxGpuNodes,
    monthlyBudgetUsd, budgetStrict), the same that `ascent plan` applies, per policy."""
    from infra.config import parse_config
    from infra.offline import stack_config
    from infra.report import pack_config
    from policies.rules import RULES

    config = pack_config(parse_config(stack_config(stack_name, ROOT)))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"policy-config.{stack_name}.json"
    path.write_text(json.dumps(config.as_policy_pack_config(RULES), indent=2, sort_keys=True))
    return [str(path)]


def require_cli(step: str) -> None:
    if shutil.which("pulumi") is None:
        raise StepFailed(
            step, "the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/)"
        )


def declared_keys(root: Path = ROOT) -> set[str]:
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    return {k if ":" in k else f"{project['name']}:{k}" for k in project.get("config") or {}}


def image_config(record: Mapping[str, Any], declared: set[str]) -> dict[str, str]:
    """Stack config for a build (tag only) or release record: then `images`, each image as the
    `repository@sha256:` it was pushed (or promoted) as, which the program runs whatever the tag.

    Keys are set only if the project declares them: the program's config is strict and refuses
    undeclared keys. ECR registries come from the stack itself.
    """
    values = {TAG: str(record["tag"])}
    pinned = sorted(f"{n}={i['repository']}@{i['digest']}" for n, i in record["images"].items()
                    if i.get("digest") and i.get("repository"))  # fmt: skip
    if pinned and IMAGES in declared:
        values[IMAGES] = json.dumps(pinned)
    registry = record.get("registry")
    if registry and not ECR.match(registry):
        values[REGISTRY] = registry
    return values


def previous_image_config(history: Iterable[Any]) -> dict[str, str] | None:
    """The image config of the last successful update (history runs newest first)."""
    for update in history:
        if update.kind == "update" and update.result == "succeeded":
            config = update.config or {}
            values = {k: str(config[k].value) for k in IMAGE_KEYS if k in config}
            return values or None
    return None


def images_record(step: str, out: Path) -> dict[str, Any]:
    """What preview sets: the pushed release, else the build, else this commit's SHA tag (a PR
    previews without pushing)."""
    if (out / RELEASE_RECORD).is_file():
        return read_record(step, out / RELEASE_RECORD, "push")
    if (out / BUILD_RECORD).is_file():
        return read_record(step, out / BUILD_RECORD, "build")
    return {"tag": revision.current(step).sha, "images": {}}


def open_stack(step: str, stack: str) -> Any:
    from pulumi import automation as auto

    try:
        return auto.select_stack(stack_name=stack, work_dir=str(ROOT))
    except auto.errors.CommandError as exc:
        raise StepFailed(step, f"cannot select stack {stack}: {exc}") from exc


def apply_config(step: str, stack: Any, values: dict[str, str]) -> None:
    from pulumi import automation as auto

    for key, value in values.items():
        say(step, f"config {key} = {value}")
    stack.set_all_config({k: auto.ConfigValue(value=v) for k, v in values.items()})


def plan_compare(step: str, stack: str, base: Path) -> str | None:
    """`ascent plan --compare` as Markdown, when this checkout's `ascent` has it."""
    ascent = tool(step, "ascent", "`make install`")
    help_text = subprocess.run(
        [ascent, "plan", "--help"], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    if "--compare" not in help_text:
        say(step, "`ascent plan --compare` is not available here: no plan table for the PR")
        return None
    proc = subprocess.run(
        [ascent, "plan", "--stack", stack, "--compare", str(base)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise StepFailed(step, f"ascent plan --compare failed: {proc.stderr.strip()}")
    return proc.stdout


def stack_layer(stack_name: str) -> tuple[str, str]:
    """(layer, cloud stack) of a stack, from its file (infra/layers.py)."""
    from infra.config import parse_config
    from infra.offline import stack_config

    config = parse_config(stack_config(stack_name, ROOT))
    return config.layer, config.cloud_stack


def on_runner() -> bool:
    """Whether this is the deploy runner (its project sets ASCENT_RUNNER)."""
    return bool(os.environ.get("ASCENT_RUNNER"))


def cloud_outputs(step: str, cloud_stack: str) -> dict[str, Any]:
    outputs = open_stack(step, cloud_stack).outputs()
    return {name: out.value for name, out in outputs.items()}


def run_on_runner(
    step: str, stack_name: str, cloud_stack: str, out: Path, poll_s: float = 5.0
) -> int:
    """Run `python -m ci <step> --stack <stack_name>` on the cloud stack's deploy runner (AWS
    endpoints as boto3 finds them: `AWS_ENDPOINT_URL` points them elsewhere)."""
    from ci import runner

    target = runner.runner_target(step, cloud_outputs(step, cloud_stack))
    # the runner reads the records where `python -m ci` does by default: .ci-out in its checkout
    staged = ROOT / ".ci-out"
    extra = []
    saved = [plans.plan_path(out, stack_name).name, plans.base_path(out, stack_name).name]
    for name in (RELEASE_RECORD, BUILD_RECORD, *(saved if step == "deploy" else [])):
        if (out / name).is_file():
            if out.resolve() != staged.resolve():
                staged.mkdir(exist_ok=True)
                shutil.copyfile(out / name, staged / name)
            extra.append(staged / name)
    archive = runner.source_archive(step, ROOT, out / "runner-source.zip", extra)
    rev = revision.current(step)  # the runner gets files, not the repository: pass its revision
    env = {"ASCENT_STEP": step, "ASCENT_STACK": stack_name, "ASCENT_GIT_SHA": rev.sha}
    if rev.branch:
        env["ASCENT_GIT_BRANCH"] = rev.branch
    env.update({k: os.environ[k] for k in RUNNER_PASSED_ENV if os.environ.get(k)})
    plans_at = f"{target.source_prefix}plans/{stack_name}/{rev.sha}/"
    if step == "preview":  # the runner hands its saved plan back for review, then `deploy`
        env["ASCENT_PLAN_UPLOAD"] = f"s3://{target.source_bucket}/{plans_at}"
    say(step, f"{stack_name} is a kubernetes layer behind a private endpoint: running on "
        f"{target.project} (CodeBuild, in the VPC)")  # fmt: skip
    code = runner.run_remote(step, target, archive, env, poll_s=poll_s)
    if code == 0 and step == "preview":
        plans.download(step, target.source_bucket, plans_at, out, stack_name, target.region)
    return code


def kubeconfig_from_cloud(step: str, cloud_stack: str, out: Path) -> str:
    """Write the cloud stack's kubeconfig (it authenticates with `aws eks get-token`) for the
    smoke test; return its path."""
    config = cloud_outputs(step, cloud_stack).get("kubeconfig")
    if not config:
        raise StepFailed(step, f"cloud stack {cloud_stack} exports no kubeconfig")
    path = out / "kubeconfig"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(str(config))
    path.chmod(0o600)
    return str(path)


def preview(stack_name: str, out: Path, compare_base: Path | None = None) -> int:
    step = "preview"
    require_cli(step)
    layer, cloud_stack = stack_layer(stack_name)
    if layer == "kubernetes" and not on_runner():
        return run_on_runner(step, stack_name, cloud_stack, out)
    stack = open_stack(step, stack_name)
    if layer != "cloud":  # a cloud layer runs no image: its plan must not depend on one
        apply_config(step, stack, image_config(images_record(step, out), declared_keys()))
    configs = write_policy_config(stack_name, out)
    say(step, f"pulumi preview --stack {stack_name} --policy-pack policies "
        f"--policy-pack-config {configs[0]}")  # fmt: skip
    base = plans.last_version(stack.history(page_size=1))
    plan = plans.plan_path(out, stack_name)
    stack.preview(on_output=print, policy_packs=POLICY_PACKS, policy_pack_configs=configs,
                  diff=True, plan=str(plan))  # fmt: skip
    plans.record_base(out, stack_name, base, revision.current(step).sha)
    say(step, f"plan saved to {plan} (against update {base}); `deploy` applies exactly it")
    if os.environ.get("ASCENT_PLAN_UPLOAD"):  # on the runner: back to the CI that asked
        plans.upload(step, os.environ["ASCENT_PLAN_UPLOAD"], out, stack_name)
    if compare_base is not None:
        markdown = plan_compare(step, stack_name, compare_base)
        if markdown is not None:
            why_not = pull_request.post_comment(pull_request.plan_comment(stack_name, markdown))
            say(step, f"plan not posted: {why_not}" if why_not else "plan posted to the PR")
    return 0


def up_with_rollback(
    step: str,
    stack: Any,
    values: dict[str, str],
    previous: dict[str, str] | None,
    smoke_test: Callable[[], int],
    policy_configs: list[str],
    plan: Path | None = None,
) -> int:
    """`pulumi up` with `values` (exactly `plan`, if one was saved); if `up` fails or the smoke
    test fails, `pulumi up` again with `previous`, and say what was rolled back."""
    apply_config(step, stack, values)
    say(step, f"pulumi up --stack {stack.name} --policy-pack policies"
        + (f" --plan {plan}" if plan else ""))  # fmt: skip
    try:
        stack.up(on_output=print, policy_packs=POLICY_PACKS, policy_pack_configs=policy_configs,
                 plan=str(plan) if plan else None)  # fmt: skip
        failed = "smoke" if smoke_test() != 0 else None
    except Exception as exc:  # the Automation API raises CommandError (and others) on a failed up
        print(f"{step}: pulumi up failed: {str(exc).strip().splitlines()[-1:]}")
        failed = "up"
    if failed is None:
        return 0
    if previous is None:
        print(f"{step}: {failed} failed and no previous successful update to roll back to")
        return 1
    say(step, f"{failed} failed: rolling back to {previous.get(TAG)}")
    apply_config(step, stack, previous)
    for key in sorted(set(values) - set(previous)):
        stack.remove_config(key)
    stack.up(on_output=print, policy_packs=POLICY_PACKS, policy_pack_configs=policy_configs)
    rolled = ", ".join(f"{k}={v}" for k, v in sorted(previous.items()))
    print(f"{step}: {failed} failed; rolled back to the previous release ({rolled})")
    return 1


def deploy(stack_name: str, out: Path, context: str | None, smoke_timeout_s: float) -> int:
    from ci.steps import smoke

    step = "deploy"
    require_cli(step)
    layer, cloud_stack = stack_layer(stack_name)
    if layer == "cloud":  # AWS APIs only: no images to set, nothing in the cluster to smoke
        return deploy_cloud_layer(step, stack_name, out)
    if layer == "kubernetes" and not on_runner():
        return run_on_runner(step, stack_name, cloud_stack, out)
    values = image_config(read_record(step, out / RELEASE_RECORD, "push"), declared_keys())
    if layer == "kubernetes" and context is None:
        os.environ["KUBECONFIG"] = kubeconfig_from_cloud(step, cloud_stack, out)
    cluster = smoke.connect(step, context)
    stack = open_stack(step, stack_name)
    history = stack.history(page_size=20)
    previous = previous_image_config(history)
    plan = plans.saved_plan(step, out, stack_name, history)
    configs = write_policy_config(stack_name, out)
    return up_with_rollback(
        step, stack, values, previous, lambda: smoke.smoke(cluster, smoke_timeout_s), configs,
        plan,
    )  # fmt: skip


def deploy_cloud_layer(step: str, stack_name: str, out: Path) -> int:
    """`pulumi up` of a cloud layer, then what comes next (its kubernetes layer, on the runner)."""
    stack = open_stack(step, stack_name)
    configs = write_policy_config(stack_name, out)
    plan = plans.saved_plan(step, out, stack_name, stack.history(page_size=1))
    say(step, f"pulumi up --stack {stack_name} --policy-pack policies (cloud layer)"
        + (f" --plan {plan}" if plan else ""))  # fmt: skip
    stack.up(on_output=print, policy_packs=POLICY_PACKS, policy_pack_configs=configs,
             plan=str(plan) if plan else None)  # fmt: skip
    from infra.offline import linked_stacks

    runner = stack.outputs().get("deployRunner")
    for layer in linked_stacks(stack_name, ROOT) if runner is not None else []:
        say(step, f"deploy runner {runner.value['project']} ready; next: `python -m ci push "
            f"--stack {stack_name}`, then `python -m ci deploy --stack {layer}`")  # fmt: skip
    return 0
