"""Run the real Pulumi program offline, under the SDK's mocks, and return what it declared.

Config is applied exactly as the CLI applies it: the defaults declared in `Pulumi.yaml`, then the
values of `Pulumi.<stack>.yaml`, every value handed over as a string (structured values as JSON).
Each registered resource is recorded with its type token, logical name, inputs, parent and
provider. No cloud account, no Pulumi CLI and no network are involved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.layers import cloud_stack_file_name
from infra.project_files import (  # re-exported: the harness's callers read them from here
    PROJECT,
    PROJECT_ROOT,
    STACK_FILE_KEYS,
    ProjectFileError,
    StackNotFound,
    find_project_root,
    linked_stacks,
    load_project,
    load_stack_file,
    stack_config,
    stack_names,
)

__all__ = [
    "MOCK_ACCOUNT", "PROJECT", "PROJECT_ROOT", "STACK_FILE_KEYS", "Inventory", "OfflineMocks",
    "ProjectFileError", "RecordingMonitor", "Resource", "StackNotFound", "find_project_root",
    "load_project", "load_stack_file", "run_function", "run_program", "stack_config",
    "stack_names",
]  # fmt: skip

MOCK_ACCOUNT = "123456789012"


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
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)  # URNs


@dataclass
class Inventory:
    """Everything one run of the program declared, and its stack outputs."""

    stack: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    # a split AWS stack's plan holds both layers: stack name -> that stack's own run
    layers: dict[str, Inventory] = field(default_factory=dict)

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

    def depends_on(self, res: Resource, other: Resource) -> bool:
        """Whether `res` waits for `other`: through its dependencies, its parents', and theirs.
        Depending on a component means waiting for all of its children."""
        targets = {other.urn}
        parent = self.by_urn(other.parent)
        while parent is not None:
            targets.add(parent.urn)
            parent = self.by_urn(parent.parent)
        seen: set[str] = set()
        todo = [res.urn]
        while todo:
            urn = todo.pop()
            if urn in seen:
                continue
            seen.add(urn)
            node = self.by_urn(urn)
            if node is None:
                continue
            if targets & set(node.dependencies) and urn != other.urn:
                return True
            todo.extend(node.dependencies)
            if node.parent:
                todo.append(node.parent)
        return False

    def custom(self) -> Iterator[Resource]:
        return (r for r in self.resources if r.custom)

    def count_by_type(self) -> Counter[str]:
        return Counter(r.type for r in self.custom())


class OfflineMocks(pulumi.runtime.Mocks):
    """Plausible provider answers: inputs echoed back, plus the computed attributes we read."""

    def __init__(self, region: str, stacks: dict[str, Inventory] | None = None):
        self.region = region
        self.stacks = stacks or {}  # what a StackReference reads: stack name -> its run

    def _stack_reference(self, name: str) -> dict[str, Any]:
        """A StackReference's state, as the engine reads it from the backend."""
        referenced = self.stacks.get(cloud_stack_file_name(name))
        if referenced is None:
            return {"name": name, "outputs": {}, "secretOutputNames": []}
        return {
            "name": name,
            "outputs": dict(referenced.outputs),
            "secretOutputNames": sorted(referenced.secret_outputs),
        }

    def _computed(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Attributes the provider would compute that the program reads."""
        r, a = self.region, MOCK_ACCOUNT
        physical = inputs.get("name") or inputs.get("bucket") or f"{name}-mock"
        if typ == "aws:eks/cluster:Cluster":
            return {
                "arn": f"arn:aws:eks:{r}:{a}:cluster/{physical}",
                "endpoint": f"https://{physical}.gr7.{r}.eks.amazonaws.com",
                "certificateAuthority": {"data": "bW9jay1jYQ=="},
                "vpcConfig": {
                    **inputs.get("vpcConfig", {}),
                    "clusterSecurityGroupId": f"sg-{name}",
                },
            }
        if typ == "aws:eks/nodeGroup:NodeGroup":
            return {"resources": [{"autoscalingGroups": [{"name": f"eks-{name}-asg"}]}]}
        if typ in ("aws:msk/cluster:Cluster", "aws:msk/serverlessCluster:ServerlessCluster"):
            cluster = inputs.get("clusterName", name)
            return {
                "arn": f"arn:aws:kafka:{r}:{a}:cluster/{cluster}/0000-mock-uuid",
                "bootstrapBrokersSaslIam": f"b-1.{cluster}.kafka.{r}.amazonaws.com:9098",
            }
        if typ == "aws:s3/bucket:Bucket":
            return {"bucket": physical, "arn": f"arn:aws:s3:::{physical}"}
        if typ == "aws:ecr/repository:Repository":
            return {"repositoryUrl": f"{a}.dkr.ecr.{r}.amazonaws.com/{physical}"}
        if typ == "aws:iam/role:Role":
            return {"arn": f"arn:aws:iam::{a}:role/{physical}"}
        if typ == "aws:kms/key:Key":
            return {"arn": f"arn:aws:kms:{r}:{a}:key/{name}", "keyId": name}
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            return {"latestVersion": 1}
        # generated material, traceable to the resource that made it
        if typ == "random:index/randomPassword:RandomPassword":
            return {"result": f"pw:{name}"}
        if typ == "tls:index/privateKey:PrivateKey":
            return {"privateKeyPem": f"key:{name}", "privateKeyPemPkcs8": f"pkcs8:{name}"}
        if typ in (
            "tls:index/selfSignedCert:SelfSignedCert",
            "tls:index/locallySignedCert:LocallySignedCert",
        ):
            return {"certPem": f"cert:{name}"}
        if typ == "tls:index/certRequest:CertRequest":
            return {"certRequestPem": f"csr:{name}"}
        return {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ == "pulumi:pulumi:StackReference":
            name = str(args.inputs.get("name") or args.resource_id or args.name)
            return name, self._stack_reference(name)
        state = {**args.inputs, **self._computed(args.typ, args.name, args.inputs)}
        module = args.typ.split(":")[1] if args.typ.count(":") >= 2 else ""
        service = module.split("/")[0]
        state.setdefault("arn", f"arn:aws:{service}:{self.region}:{MOCK_ACCOUNT}:{args.name}")
        state.setdefault("name", args.name)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = [f"{self.region}{c}" for c in "abcdef"]
            return {"names": zones, "zoneIds": [f"use1-az{i}" for i in range(1, 7)]}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": MOCK_ACCOUNT, "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:user/ci"}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, []
        if args.token == "aws:msk/getBootstrapBrokers:getBootstrapBrokers":
            host = f"boot-mock.kafka-serverless.{self.region}.amazonaws.com:9098"
            return {"bootstrapBrokersSaslIam": host}, []
        return dict(args.args), []


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
                    dependencies=tuple(request.dependencies),
                    property_dependencies={
                        k: tuple(v.urns) for k, v in request.propertyDependencies.items()
                    },
                )
            )
        return response


async def _resolve(outputs: dict[str, Any], into: Inventory) -> None:
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        into.outputs[key] = await out.future()
        if await out.is_secret():
            into.secret_outputs.add(key)


def run_function(
    program: Callable[[], dict[str, Any] | None],
    stack: str = "test",
    config: dict[str, str] | None = None,
    region: str = "us-east-1",
    stacks: dict[str, Inventory] | None = None,
    root: Path | None = None,
) -> Inventory:
    """Run any function that declares resources under the same mocks; return its inventory.

    For unit tests of one component; `config` is the raw config map (`{"ascent:key": "value"}`);
    `stacks` the runs a StackReference reads; `root` the project folder the program sees.
    """
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(config or {})
    monitor = RecordingMonitor(OfflineMocks(region, stacks))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor
    )
    settings.SETTINGS.root_directory = str(root or PROJECT_ROOT)  # as the engine tells a program
    settings.SETTINGS.rpc_manager.clear()  # a failed run's error is not this run's (as the
    settings.SETTINGS.outputs.clear()  # SDK's own `@pulumi.runtime.test` does)
    inventory = Inventory(stack=stack)

    def body() -> None:
        _sync_await(_resolve(program() or {}, inventory))

    _sync_await(run_pulumi_func(body))
    inventory.resources = monitor.registered
    return inventory


def run_program(
    stack: str, root: Path = PROJECT_ROOT, overrides: dict[str, Any] | None = None
) -> Inventory:
    """Run the program for `stack` (plus config `overrides`) under mocks; return its inventory.

    Raises StackNotFound, infra.config.ConfigError, or whatever the program raises.
    """
    config = stack_config(stack, root, overrides)
    layer = config.get(f"{PROJECT}:layer", "all")
    if layer != "cloud" and not (layer == "kubernetes" and config.get(f"{PROJECT}:cloudStack")):
        return _run_one(stack, config, root, {})  # layer all, or a config error to report
    if layer == "kubernetes" and config.get(f"{PROJECT}:cloudStack"):
        cloud_name = cloud_stack_file_name(config[f"{PROJECT}:cloudStack"])
        cloud = _run_one(cloud_name, stack_config(cloud_name, root), root, {})
        return _combined(stack, [cloud, _run_one(stack, config, root, {cloud_name: cloud})])
    cloud = _run_one(stack, config, root, {})
    # `overrides` play `pulumi config set` on the cloud stack's file, which its layer inherits
    linked = [_run_one(k, stack_config(k, root, cloud_overrides=overrides), root, {stack: cloud})
              for k in linked_stacks(stack, root)]  # fmt: skip
    return _combined(stack, [cloud, *linked]) if linked else cloud


def _run_one(
    stack: str, config: dict[str, str], root: Path, stacks: dict[str, Inventory]
) -> Inventory:
    from infra.program import main

    region = config.get(f"{PROJECT}:region") or "us-east-1"
    return run_function(
        lambda: main(inherit_layers=False),  # `config` is already resolved (stack_config)
        stack=stack, config=config, region=region, stacks=stacks, root=root,
    )  # fmt: skip


def _combined(stack: str, runs: list[Inventory]) -> Inventory:
    """One plan of a split stack: every layer's resources and outputs (infra/layers.py)."""
    combined = Inventory(stack=stack, layers={run.stack: run for run in runs})
    for run in runs:
        combined.resources += run.resources
        combined.outputs.update(run.outputs)
        combined.secret_outputs |= run.secret_outputs
    return combined
