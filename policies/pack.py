"""The rules as CrossGuard policies: one ResourceValidationPolicy or StackValidationPolicy per
rule, configured per stack (`pulumi preview --policy-pack policies --policy-pack-config FILE`).

Building the policies starts nothing; `PolicyPack(...)` (in `__main__.py`) starts the analyzer
server the Pulumi CLI talks to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.core import PackConfig, Resource, Rule
from policies.rules import RULES

PACK_NAME = "ascent-guardrails"
PACK_VERSION = "0.2.0"  # keep equal to PulumiPolicy.yaml's `version` (the CLI publishes that one)
LEVELS = {
    "mandatory": EnforcementLevel.MANDATORY,
    "advisory": EnforcementLevel.ADVISORY,
    "disabled": EnforcementLevel.DISABLED,
}
# Every policy accepts the pack's settings, so one config file sets them for all.
CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "maxGpuNodes": {"type": "integer", "minimum": 0},
        "monthlyBudgetUsd": {"type": "number", "minimum": 0},
        "allowedGpuInstanceFamilies": {"type": "array", "items": {"type": "string"}},
        "requireSpotForTraining": {"type": "boolean"},
        "allowOnDemandFallback": {"type": "boolean"},
    }
)
_SETTINGS = tuple(CONFIG_SCHEMA.properties)


def pack_config(raw: Mapping[str, Any] | None) -> PackConfig:
    return PackConfig.from_dict({k: v for k, v in (raw or {}).items() if k in _SETTINGS})


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    assert rule.check is not None
    check = rule.check

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in rule.types:
            for message in check(args.props, pack_config(args.get_config())):
                report(f"{message}. Fix: {rule.fix}", None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=LEVELS[rule.enforcement],
        config_schema=CONFIG_SCHEMA,
        severity=Severity(rule.severity),
    )


def _stack_policy(rule: Rule) -> StackValidationPolicy:
    assert rule.stack_check is not None
    stack_check = rule.stack_check

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [
            Resource(
                r.resource_type,
                r.name,
                r.props,
                {k: tuple(d.name for d in deps) for k, deps in r.property_dependencies.items()},
            )
            for r in args.resources
        ]
        urns = {r.name: r.urn for r in args.resources}
        for name, message in stack_check(resources, pack_config(args.get_config())):
            report(f"{message}. Fix: {rule.fix}", urns.get(name))

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=LEVELS[rule.enforcement],
        config_schema=CONFIG_SCHEMA,
        severity=Severity(rule.severity),
    )


def build_policies() -> list[Policy]:
    return [_resource_policy(r) if r.check else _stack_policy(r) for r in RULES]
