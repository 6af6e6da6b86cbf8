"""Rules as the Pulumi CLI runs them: protobuf requests into `pulumi_policy`'s analyzer servicer
(`policies/engine.py`), diagnostics out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from policies.core import PackConfig
from policies.engine import Analyzer, Input, message_of

Finding = tuple[str, str, str]  # (rule, message, enforcement)


def _level(value: int) -> str:
    return {0: "advisory", 1: "mandatory"}.get(value, str(value))


def diagnostics(typ: str, props: dict[str, Any], config: PackConfig | None = None) -> list[Finding]:
    found = Analyzer(config).analyze(Input(typ, "r", props))
    return [(d.policyName, message_of(d), _level(d.enforcementLevel)) for d in found]


def stack_diagnostics(
    resources: Iterable[dict[str, Any]], config: PackConfig | None = None
) -> list[tuple[str, str, str, str]]:
    """(rule, resource name or "stack", message, enforcement) for every stack-rule diagnostic.
    `resources` as `tests.policies.cases.resource` makes them."""
    plain = list(resources)
    urns = {r["name"]: Input(r["type"], r["name"], {}).urn_or_default() for r in plain}
    inputs = [
        Input(
            r["type"],
            r["name"],
            r["props"],
            depends={
                k: tuple(urns.get(n, f"urn:pulumi:stack::ascent::x::{n}") for n in v)
                for k, v in r.get("depends", {}).items()
            },
        )
        for r in plain
    ]
    names = {i.urn_or_default(): i.name for i in inputs}
    found = Analyzer(config).analyze_stack(inputs)
    return [
        (d.policyName, names.get(d.urn, "stack"), message_of(d), _level(d.enforcementLevel))
        for d in found
    ]
