"""Print the requirements an image installs: the project's base dependencies without the Pulumi
SDK (the images never run the program) plus the named extras, one per line.

    python workloads/requirements.py train > /tmp/requirements.txt

Standard library only: it runs in a bare build stage, before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return match.group(0).lower().replace("_", "-") if match else ""


def image_requirements(extras: list[str], pyproject: Path = PYPROJECT) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise SystemExit(
            f"requirements.py: unknown extra {', '.join(unknown)} (extras: {', '.join(optional)})"
        )
    base = [r for r in project["dependencies"] if not _name(r).startswith("pulumi")]
    out: list[str] = []
    for requirement in base + [r for e in extras for r in optional[e]]:
        if requirement not in out:
            out.append(requirement)
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python workloads/requirements.py EXTRA [EXTRA ...]")
    print("\n".join(image_requirements(sys.argv[1:])))
