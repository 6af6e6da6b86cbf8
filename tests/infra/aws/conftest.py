"""AWS-target fixtures: the program run offline with each resource's options recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from infra.offline import Inventory, run_function, stack_config

Options = dict[tuple[str, str], pulumi.ResourceOptions]  # (type, logical name) -> options
RunWithOptions = Callable[..., tuple[Inventory, Options]]


@pytest.fixture(scope="session")
def run_with_options() -> RunWithOptions:
    """Run the program for a stack (plus config overrides) and record the options every
    resource was declared with (aliases, ignore_changes: what the mock monitor does not see)."""

    def run(stack: str, **overrides: Any) -> tuple[Inventory, Options]:
        options: Options = {}

        def program() -> dict[str, Any]:
            def record(args: pulumi.ResourceTransformationArgs) -> None:
                options[(args.type_, args.name)] = args.opts

            pulumi.runtime.register_stack_transformation(record)
            from infra.program import main

            return main()

        config = stack_config(stack, overrides=overrides)
        region = config.get("ascent:region") or "us-east-1"
        return run_function(program, stack=stack, config=config, region=region), options

    return run
