"""How every step talks and runs tools: a `==> step: what` line, then the tool's own output.

A missing prerequisite or a failed step raises `StepFailed` with one clear line; `python -m ci`
prints it and exits non-zero.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class StepFailed(Exception):
    """A step cannot run (a missing prerequisite) or did not succeed."""

    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step = step


def say(step: str, what: str) -> None:
    print(f"==> {step}: {what}", flush=True)


def tool(step: str, name: str, hint: str) -> str:
    """A command-line tool: the one beside this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StepFailed(step, f"{name} is not installed ({hint})")
    return found


def checkov(step: str) -> str:
    """checkov lives in a virtualenv of its own (it pins packages that break the main one)."""
    own = ROOT / ".venv-checkov" / "bin" / "checkov"
    if own.is_file():
        return str(own)
    found = shutil.which("checkov")
    if found is None:
        raise StepFailed(step, "checkov is not installed (`make install` creates .venv-checkov)")
    return found


CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE"}  # no call to Prisma Cloud for check metadata


def checkov_argv(step: str, target: list[str], framework: str) -> list[str]:
    """checkov, offline, with the project's `.checkov.yaml` (its skips, each with a reason)."""
    return [
        checkov(step),
        *target,
        "--framework",
        framework,
        "--quiet",
        "--compact",
        "--skip-download",
        "--config-file",
        str(ROOT / ".checkov.yaml"),
    ]


def run(
    step: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float | None = None,
) -> int:
    """Run a command in the foreground, its output going straight to ours; return its code."""
    say(step, shlex.join(argv))
    try:
        proc = subprocess.run(argv, cwd=cwd, env={**os.environ, **(env or {})}, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"{step}: {argv[0]} ran past {timeout} s", file=sys.stderr)
        return 124
    return proc.returncode
