"""`test`: the README's test command (`python -m pytest`), with JUnit XML for CI systems."""

from __future__ import annotations

import sys
from pathlib import Path

from ci.shell import run

STEP = "test"


def run_tests(out: Path, pytest_args: list[str]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    junit = out / "junit.xml"
    return run(STEP, [sys.executable, "-m", "pytest", f"--junitxml={junit}", *pytest_args])
