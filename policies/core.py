"""The policy pack's model: rules as pure functions over a resource's type and properties (or,
for stack rules, the list of resources), with a name, severity, enforcement level and fix.

A resource rule returns a list of messages (empty: compliant); a stack rule returns
(resource name, message) pairs. Properties are Pulumi inputs (camelCase), read through the
engine's proxies. Rules run only through `pulumi_policy`'s analyzer (`policies/engine.py`), the
same path `pulumi preview --policy-pack` takes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

Severity = Literal["low", "medium", "high", "critical"]
Enforcement = Literal["mandatory", "advisory", "disabled"]


@dataclass(frozen=True)
class PackConfig:
    """The pack's settings (per stack, through `--policy-pack-config` or `ascent plan`)."""

    max_gpu_nodes: int = 16
    monthly_budget_usd: float = 25_000.0
    allowed_gpu_instance_families: tuple[str, ...] = ("g5", "g6", "g6e", "p4d", "p5")
    require_spot_for_training: bool = True
    allow_on_demand_fallback: bool = False  # Karpenter: spot training NodePools may add on-demand
    enforcement: Mapping[str, Enforcement] = field(default_factory=dict)  # rule -> override

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PackConfig:
        known = {
            "maxGpuNodes": ("max_gpu_nodes", int),
            "monthlyBudgetUsd": ("monthly_budget_usd", float),
            "allowedGpuInstanceFamilies": ("allowed_gpu_instance_families", tuple),
            "requireSpotForTraining": ("require_spot_for_training", bool),
            "allowOnDemandFallback": ("allow_on_demand_fallback", bool),
            "enforcement": ("enforcement", dict),
        }
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(f"unknown pack config {unknown}; allowed: {sorted(known)}")
        return cls(**{known[k][0]: known[k][1](v) for k, v in raw.items()})

    def as_policy_pack_config(self, rules: Sequence[Rule]) -> dict[str, dict[str, Any]]:
        """The `--policy-pack-config` file for these settings: every policy's level and the
        pack's settings, spelled out per policy (what the CLI turns into `Configure`)."""
        return {r.name: {"enforcementLevel": r.level(self), **self.as_properties()} for r in rules}

    def as_properties(self) -> dict[str, Any]:
        """The settings as the pack's config schema names them (what `--policy-pack-config`
        carries for every policy)."""
        props: dict[str, Any] = {
            "maxGpuNodes": self.max_gpu_nodes,
            "monthlyBudgetUsd": self.monthly_budget_usd,
            "allowedGpuInstanceFamilies": list(self.allowed_gpu_instance_families),
            "requireSpotForTraining": self.require_spot_for_training,
        }
        if self.allow_on_demand_fallback:  # only where set: other stacks' files stay as they are
            props["allowOnDemandFallback"] = True
        return props


@dataclass(frozen=True)
class Resource:
    """A resource as a stack rule sees it; `depends` names, per input property, the resources
    that property's value came from (the engine's property dependencies: how a bucket policy
    points at its bucket even while the bucket's name is unknown)."""

    type: str
    name: str
    props: Mapping[str, Any]
    depends: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def refers_to(self, prop: str, other: Resource) -> bool:
        return other.name in self.depends.get(prop, ())


def points_at(companion: Resource, target: Resource, prop: str, name_prop: str) -> bool:
    """Whether `companion.props[prop]` names `target`: by property dependency, or (when it has
    none) by its literal value equal to `target.props[name_prop]`. Values another resource
    supplies are never read, so an unknown name during a preview is no obstacle."""
    if companion.depends.get(prop):
        return companion.refers_to(prop, target)
    if target.depends.get(name_prop):
        return False
    name = target.props.get(name_prop)
    return isinstance(name, str) and name != "" and companion.props.get(prop) == name


ResourceCheck = Callable[[Mapping[str, Any], PackConfig], list[str]]
StackCheck = Callable[[list[Resource], PackConfig], list[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    severity: Severity
    enforcement: Enforcement
    fix: str
    types: tuple[str, ...] = ()  # resource rules: the types it looks at
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None

    def level(self, config: PackConfig) -> Enforcement:
        return config.enforcement.get(self.name, self.enforcement)


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str
    message: str
    severity: Severity
    enforcement: Enforcement
    fix: str


# --- helpers the rules share ----------------------------------------------------------------
# The engine hands rules read-only `Mapping` / `Sequence` proxies (pulumi_policy/proxy.py), never
# `dict` / `list`: test for those ABCs, never for the concrete types. Reading a value that is
# unknown during a preview raises the SDK's UnknownValueError, which the analyzer turns into an
# advisory "can't run during preview" note: rules let it pass.
UNKNOWN_SENTINELS = frozenset(
    (
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    )
)


def unknown(value: Any) -> bool:
    """The SDK's sentinel for a value not known until the update (seen only through raw access)."""
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    """A JSON array as the engine hands it over (a Sequence proxy), never a string."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_list(value: Any) -> list[Any]:
    """IAM-style fields that take one value or a list of them; None is the empty list."""
    if value is None:
        return []
    return list(value) if is_list(value) else [value]


def get(props: Any, *path: str | int) -> Any:
    """A nested property; None when any step is missing or of the wrong shape."""
    value: Any = props
    for step in path:
        if isinstance(step, int):
            value = value[step] if is_list(value) and -len(value) <= step < len(value) else None
        else:
            value = value.get(step) if is_map(value) else None
        if value is None:
            return None
    return value


def text(value: Any) -> str:
    """A property as a string for messages and comparisons (None is the empty string)."""
    return "" if value is None else str(value)


def truthy(value: Any) -> bool:
    """Booleans as Pulumi hands them over: True or "true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def falsy(value: Any) -> bool:
    """Explicitly false: False or "false" (None is not)."""
    return value is False or (isinstance(value, str) and value.lower() == "false")


def json_doc(value: Any) -> tuple[Any, str | None]:
    """A policy document given as a JSON string or an object: (document, problem)."""
    if value is None:
        return None, None
    if is_map(value) or is_list(value):
        return value, None
    if not isinstance(value, str):
        return None, f"not a JSON policy document ({type(value).__name__})"
    try:
        return json.loads(value), None
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than json can parse
        return None, "not a JSON policy document"
