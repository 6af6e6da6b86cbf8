"""The policy pack's model: rules as pure functions over a resource's type and properties (or,
for stack rules, the list of resources), and one evaluator that the pack, `ascent plan` and the
tests share.

A resource rule returns a list of messages (empty: compliant); a stack rule returns
(resource name, message) pairs. Properties are Pulumi inputs (camelCase). A value that is not
known yet (an unresolved output during a preview) is never a violation; a property that is
missing is, when the rule needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["low", "medium", "high", "critical"]
Enforcement = Literal["mandatory", "advisory", "disabled"]


@dataclass(frozen=True)
class PackConfig:
    """The pack's settings (per stack, through `--policy-pack-config` or `ascent plan`)."""

    max_gpu_nodes: int = 16
    monthly_budget_usd: float = 25_000.0
    allowed_gpu_instance_families: tuple[str, ...] = ("g5", "g6", "g6e", "p4d", "p5")
    require_spot_for_training: bool = True
    enforcement: Mapping[str, Enforcement] = field(default_factory=dict)  # rule -> override

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PackConfig:
        known = {
            "maxGpuNodes": ("max_gpu_nodes", int),
            "monthlyBudgetUsd": ("monthly_budget_usd", float),
            "allowedGpuInstanceFamilies": ("allowed_gpu_instance_families", tuple),
            "requireSpotForTraining": ("require_spot_for_training", bool),
            "enforcement": ("enforcement", dict),
        }
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(f"unknown pack config {unknown}; allowed: {sorted(known)}")
        return cls(**{known[k][0]: known[k][1](v) for k, v in raw.items()})


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]


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


def evaluate(
    rules: Iterable[Rule], resources: list[Resource], config: PackConfig
) -> list[Violation]:
    out: list[Violation] = []
    for rule in rules:
        level = rule.level(config)
        if level == "disabled":
            continue
        found: list[tuple[str, str]] = []
        if rule.check is not None:
            for res in resources:
                if res.type in rule.types:
                    found += [(res.name, m) for m in rule.check(res.props, config)]
        if rule.stack_check is not None:
            found += rule.stack_check(resources, config)
        out += [Violation(rule.name, r, m, rule.severity, level, rule.fix) for r, m in found]
    return out


# --- helpers the rules share ----------------------------------------------------------------
def unknown(value: Any) -> bool:
    """An output not resolved yet (preview); rules never flag those."""
    return value is not None and not isinstance(value, (str, int, float, bool, list, dict))


def get(props: Mapping[str, Any], *path: str | int) -> Any:
    """A nested property; None when any step is missing; an unknown value when a step is."""
    value: Any = props
    for step in path:
        if unknown(value):
            return value
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, Mapping) else None
        if value is None:
            return None
    return value


def truthy(value: Any) -> bool:
    """Booleans as Pulumi hands them over: True or "true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")
