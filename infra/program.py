"""The program as a function, shared by `pulumi up`, `ascent plan` and the tests."""

from __future__ import annotations

from typing import Any

import pulumi

from infra.config import load_config
from infra.stack import build_stack


def main(inherit_layers: bool = True) -> dict[str, Any]:
    """Validate the stack config, declare every resource, export and return the outputs.

    `inherit_layers=False`: the config handed over is already complete (the offline harness
    resolves a kubernetes layer's inheritance itself, `pulumi config set` on its cloud stack
    included)."""
    outputs = build_stack(load_config(inherit_layers))
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
