"""How long `ascent plan` takes per stack, end to end (program, policy report, cost estimate), in
a fresh process. Target: < 10 s each (issue 9; issue 2 asked < 20 s for the program alone).

Run: `make bench` or `.venv/bin/python benchmarks/plan.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("local", "aws-dev", "aws-prod")
TARGET_S = 10.0


def time_plan(stack: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "infra.cli", "plan", "--stack", stack, "--format", "json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'stack':<10} {'median s':>9} {'max s':>7} {'target s':>9} {'ratio':>6}")
    for stack in STACKS:
        runs = [time_plan(stack) for _ in range(args.repeat)]
        med = statistics.median(runs)
        print(f"{stack:<10} {med:>9.2f} {max(runs):>7.2f} {TARGET_S:>9.1f} {med / TARGET_S:>6.2f}")


if __name__ == "__main__":
    main()
