"""The program as a function, shared by `pulumi up`, `ascent plan` and the tests."""

from __future__ import annotations

from typing import Any

import pulumi

from infra.config import load_config
from infra.stack import build_stack


def main() -> dict[str, Any]:
    """Validate the stack config, declare every resource, export and return the outputs."""
    outputs = build_stack(load_config())
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
