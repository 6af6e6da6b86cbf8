"""Rule cases, one module per domain (k8s, storage, aws, stack): for each rule a compliant
fixture of a resource type and mutations that each change one field. Every case runs through
`pulumi_policy`'s own analyzer (`tests/policies/analyze.py`): a compliant fixture gets no
diagnostic from any rule of the pack, and each mutation exactly one, from its rule.

A module lists `CASES` (resource rules) and/or `STACK_CASES` (stack rules).
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any

from policies.core import PackConfig


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()
"""A mutation value that removes the field."""

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Mutation:
    path: Path
    value: Any  # DELETE removes the field
    says: str  # a fragment of the one violation's message
    rule: str | None = None  # defaults to the case's rule


@dataclass(frozen=True)
class Case:
    rule: str
    type: str
    compliant: dict[str, Any]
    mutations: tuple[Mutation, ...]
    config: PackConfig = field(default_factory=PackConfig)

    def id(self, i: int | None = None) -> str:
        return (
            self.rule
            if i is None
            else f"{self.rule}[{i}:{'.'.join(map(str, self.mutations[i].path))}]"
        )


def resource(typ: str, name: str, props: dict[str, Any], **depends: tuple[str, ...]) -> dict:
    """A stack case's resource; `depends` names, per property, the resources its value came from
    (the engine's property dependencies), e.g. `bucket=("data",)`."""
    return {"type": typ, "name": name, "props": props, "depends": depends}


@dataclass(frozen=True)
class StackCase:
    rule: str
    resources: tuple[dict[str, Any], ...]  # made by `resource(...)`
    mutations: tuple[tuple[str, Mutation], ...]  # (resource name, mutation of its dict:
    # a path starting with "props" or "depends")
    config: PackConfig = field(default_factory=PackConfig)


def mutate(props: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(props)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = copy.deepcopy(value)
    return changed


def load() -> tuple[list[Case], list[StackCase]]:
    cases: list[Case] = []
    stack_cases: list[StackCase] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases += getattr(module, "CASES", [])
        stack_cases += getattr(module, "STACK_CASES", [])
    return cases, stack_cases
