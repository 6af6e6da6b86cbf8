"""Run the real Pulumi program offline, under the SDK's mocks, and return what it declared.

Config is applied exactly as the CLI applies it: the defaults declared in `Pulumi.yaml`, then the
values of `Pulumi.<stack>.yaml`, every value handed over as a string (structured values as JSON).
Each registered resource is recorded with its type token, logical name, inputs, parent and
provider. No cloud account, no Pulumi CLI and no network are involved.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
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


class ProjectFileError(ValueError):
    """`Pulumi.yaml` or a `Pulumi.<stack>.yaml` is missing or not what the CLI would accept; the
    message names the file (and the line, for YAML) and what is expected."""


class StackNotFound(ProjectFileError, LookupError):
    """No `Pulumi.<stack>.yaml` beside `Pulumi.yaml`."""


# What a stack file may hold at its top level besides `config` (the CLI's own keys).
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


def find_project_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a `Pulumi.yaml`, as the CLI finds it."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return None


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProjectFileError(f"{path.name}{where}: not valid YAML: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectFileError(f"{path.name}: cannot read it: {exc}") from None


def load_project(root: Path) -> dict[str, Any]:
    """`Pulumi.yaml`, checked for what the offline run reads: `name` and a `config` mapping."""
    path = root / "Pulumi.yaml"
    if not path.is_file():
        raise ProjectFileError(
            f"no Pulumi.yaml in {root}: --project-dir must name the folder that holds the project"
        )
    project = _load_yaml(path)
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise ProjectFileError(
            "Pulumi.yaml: must be a mapping with at least `name:` and `runtime:` (see pulumi.com/"
            "docs/iac/concepts/projects/project-file)"
        )
    if not isinstance(project.get("config") or {}, dict):
        raise ProjectFileError("Pulumi.yaml: `config:` must be a mapping of key: declaration")
    return project


def load_stack_file(path: Path) -> dict[str, Any]:
    """A stack file's `config:` mapping; every other shape is an error naming what is wrong."""
    doc = _load_yaml(path)
    if doc is None:
        raise ProjectFileError(
            f"{path.name}: is empty; a stack file holds `config:` with one `ascent:key: value` "
            "per line"
        )
    if not isinstance(doc, dict):
        raise ProjectFileError(
            f"{path.name}: must be a mapping with a `config:` key, not a {type(doc).__name__}"
        )
    stray = [k for k in doc if k not in STACK_FILE_KEYS]
    if stray:
        named = ", ".join(repr(k) for k in stray)
        raise ProjectFileError(
            f"{path.name}: top-level {named}: stack settings go under `config:` (a stack file "
            f"may hold {', '.join(STACK_FILE_KEYS)})"
        )
    config = doc.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ProjectFileError(
            f"{path.name}: `config:` must be a mapping of `ascent:key: value`, "
            f"not a {type(config).__name__}"
        )
    return config


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
    project = load_project(root)
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = stack_names(root)
        raise StackNotFound(
            f"unknown stack {stack!r}: no {stack_file.name} in {root} "
            f"({'stacks: ' + ', '.join(known) if known else 'no Pulumi.<stack>.yaml there'})"
        )
    values: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{project['name']}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            values[full] = decl["default"]
        elif isinstance(decl, dict) and "value" in decl:
            values[full] = decl["value"]
    for key, value in load_stack_file(stack_file).items():
        values[key if ":" in key else f"{project['name']}:{key}"] = value
    for key, value in (overrides or {}).items():
        values[key if ":" in key else f"{project['name']}:{key}"] = value
    return {k: _as_cli_string(v) for k, v in values.items()}


class OfflineMocks(pulumi.runtime.Mocks):
    """Plausible provider answers: inputs echoed back, plus the computed attributes we read."""

    def __init__(self, region: str):
        self.region = region

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
) -> Inventory:
    """Run any function that declares resources under the same mocks; return its inventory.

    For unit tests of one component; `config` is the raw config map (`{"ascent:key": "value"}`).
    """
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(config or {})
    monitor = RecordingMonitor(OfflineMocks(region))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor
    )
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
    from infra.program import main

    config = stack_config(stack, root, overrides)
    region = config.get(f"{PROJECT}:region") or "us-east-1"
    return run_function(main, stack=stack, config=config, region=region)
