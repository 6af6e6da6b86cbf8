"""Run the real Pulumi program offline, under the SDK's mocks, and return what it declared.

Config is applied exactly as the CLI applies it: the defaults declared in `Pulumi.yaml`, then the
values of `Pulumi.<stack>.yaml`, every value handed over as a string (structured values as JSON).
Each registered resource is recorded with its type token, logical name, inputs, parent and
provider. No cloud account, no Pulumi CLI and no network are involved.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "ascent"
MOCK_ACCOUNT = "123456789012"


class StackNotFound(LookupError):
    """No `Pulumi.<stack>.yaml` beside `Pulumi.yaml`."""


@dataclass(frozen=True)
class Resource:
    """One registration the program made."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    parent: str
    provider: str
    custom: bool


@dataclass
class Inventory:
    """Everything one run of the program declared, and its stack outputs."""

    stack: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def named(self, name: str) -> Resource:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}")
        return found[0]

    def by_urn(self, urn: str) -> Resource | None:
        return next((r for r in self.resources if r.urn == urn), None)

    def children(self, parent_urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent_urn]

    def custom(self) -> Iterator[Resource]:
        return (r for r in self.resources if r.custom)

    def count_by_type(self) -> Counter[str]:
        return Counter(r.type for r in self.custom())


def stack_names(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _as_cli_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def stack_config(
    stack: str, root: Path = PROJECT_ROOT, overrides: dict[str, Any] | None = None
) -> dict[str, str]:
    """The config map the CLI would hand the program: project defaults, then the stack's values.

    `overrides` (keys with or without the `ascent:` namespace) play `pulumi config set`.
    """
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise StackNotFound(
            f"unknown stack {stack!r}: no {stack_file.name} "
            f"(stacks: {', '.join(stack_names(root))})"
        )
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    values: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{project['name']}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            values[full] = decl["default"]
        elif isinstance(decl, dict) and "value" in decl:
            values[full] = decl["value"]
    for key, value in (yaml.safe_load(stack_file.read_text()).get("config") or {}).items():
        values[key if ":" in key else f"{project['name']}:{key}"] = value
    for key, value in (overrides or {}).items():
        values[key if ":" in key else f"{project['name']}:{key}"] = value
    return {k: _as_cli_string(v) for k, v in values.items()}


class OfflineMocks(pulumi.runtime.Mocks):
    """Plausible provider answers: inputs echoed back, plus the computed attributes we read."""

    def __init__(self, region: str):
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        state = dict(args.inputs)
        module = args.typ.split(":")[1] if args.typ.count(":") >= 2 else ""
        service = module.split("/")[0]
        state.setdefault("arn", f"arn:aws:{service}:{self.region}:{MOCK_ACCOUNT}:{args.name}")
        state.setdefault("name", args.name)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = [f"{self.region}{c}" for c in "abcdef"]
            return {"names": zones, "zoneIds": [f"use1-az{i}" for i in range(1, 7)]}, None
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": MOCK_ACCOUNT, "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:user/ci"}, None
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, None
        return dict(args.args), None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping each registration's parent and provider as well."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registered: list[Resource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = rpc.deserialize_properties(request.object)
            self.registered.append(
                Resource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=inputs,
                    parent=request.parent,
                    provider=request.provider,
                    custom=request.custom,
                )
            )
        return response


async def _resolve(outputs: dict[str, Any], into: Inventory) -> None:
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        into.outputs[key] = await out.future()
        if await out.is_secret():
            into.secret_outputs.add(key)


def run_program(
    stack: str, root: Path = PROJECT_ROOT, overrides: dict[str, Any] | None = None
) -> Inventory:
    """Run the program for `stack` (plus config `overrides`) under mocks; return its inventory.

    Raises StackNotFound, infra.config.ConfigError, or whatever the program raises.
    """
    from infra.program import main

    config = stack_config(stack, root, overrides)
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(config)
    monitor = RecordingMonitor(OfflineMocks(config.get(f"{PROJECT}:region") or "us-east-1"))
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False,
                             monitor=monitor)  # fmt: skip
    inventory = Inventory(stack=stack)

    def program() -> None:
        _sync_await(_resolve(main(), inventory))

    _sync_await(run_pulumi_func(program))
    inventory.resources = monitor.registered
    return inventory
