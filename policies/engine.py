"""The one evaluation path: the pack's policies run inside `pulumi_policy`'s own analyzer, fed
protobuf requests exactly as the Pulumi CLI sends them (`Configure`, then `Analyze` per resource
and `AnalyzeStack` once). `ascent plan`, the tests and `pulumi preview --policy-pack policies`
therefore see the same rules through the same read-only property proxies and unknown handling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy.policy import EnforcementLevel, _PolicyAnalyzerServicer

from policies.core import Enforcement, PackConfig, Severity, Violation
from policies.pack import PACK_NAME, PACK_VERSION, build_policies
from policies.rules import RULES

_LEVELS: dict[Enforcement, int] = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
}
_LEVEL_NAMES = {v: k for k, v in _LEVELS.items()}
_SEVERITY_NAMES: dict[int, Severity] = {
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
_FIXES = {r.name: r.fix for r in RULES}


@dataclass(frozen=True)
class Input:
    """One resource as the engine hands it to a pack: type, logical name, inputs (camelCase)."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    depends: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # prop -> URNs

    def urn_or_default(self, stack: str = "stack", project: str = "ascent") -> str:
        return self.urn or f"urn:pulumi:{stack}::{project}::{self.type}::{self.name}"


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    json_format.ParseDict(_plain(props), out)
    return out


def _plain(value: Any) -> Any:
    """Inputs as the CLI serialises them: JSON values only (tuples become lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def configure_request(pack_config_file: Mapping[str, Any]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """What the CLI sends for a `--policy-pack-config` file of per-policy entries
    (`{policy: {"enforcementLevel": ..., setting: value}}`)."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, settings in pack_config_file.items():
        entry = request.policyConfig[name]
        level = settings.get("enforcementLevel", "advisory")
        entry.enforcementLevel = _LEVELS[level]
        entry.properties.update({k: v for k, v in settings.items() if k != "enforcementLevel"})
    return request


class Analyzer:
    """The pack's analyzer servicer, in process; one per configuration."""

    def __init__(self, config: PackConfig | None = None):
        self.config = config or PackConfig()
        self.servicer = _PolicyAnalyzerServicer(
            PACK_NAME, PACK_VERSION, build_policies(), EnforcementLevel.ADVISORY
        )
        file = self.config.as_policy_pack_config(RULES)
        self.servicer.Configure(configure_request(file), None)

    def analyze(self, resource: Input) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type,
            properties=_struct(resource.props),
            urn=resource.urn_or_default(),
            name=resource.name,
        )
        return list(self.servicer.Analyze(request, None).diagnostics)

    def analyze_stack(self, resources: Iterable[Input]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    properties=_struct(r.props),
                    urn=r.urn_or_default(),
                    name=r.name,
                    propertyDependencies={
                        k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                        for k, v in r.depends.items()
                    },
                )
                for r in resources
            ]
        )
        return list(self.servicer.AnalyzeStack(request, None).diagnostics)


def message_of(d: analyzer_pb2.AnalyzeDiagnostic) -> str:
    """The rule's own words: the analyzer prefixes the policy's description, the pack appends
    the fix."""
    fix = _FIXES.get(d.policyName, "")
    message = d.message.removeprefix(f"{d.description}\n")
    return message.removesuffix(f". Fix: {fix}") if fix else message


def _violation(d: analyzer_pb2.AnalyzeDiagnostic, resource: str) -> Violation:
    return Violation(
        rule=d.policyName,
        resource=resource,
        message=message_of(d),
        fix=_FIXES.get(d.policyName, ""),
        severity=_SEVERITY_NAMES.get(d.severity, "medium"),
        enforcement=_LEVEL_NAMES.get(d.enforcementLevel, "advisory"),
    )


def evaluate(resources: Iterable[Input], config: PackConfig | None = None) -> list[Violation]:
    """Every diagnostic the pack gives for these resources, as `pulumi preview` would get them."""
    analyzer = Analyzer(config)
    inputs = list(resources)
    found = [_violation(d, r.name) for r in inputs for d in analyzer.analyze(r)]
    names = {r.urn_or_default(): r.name for r in inputs}
    found += [_violation(d, names.get(d.urn, "stack")) for d in analyzer.analyze_stack(inputs)]
    return found
