"""What `ascent plan` adds to the inventory: the policy report, the cost estimate, and the
Markdown delta against a saved plan (for a pull-request comment)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from infra.config import StackConfig
from infra.offline import Inventory
from policies.core import PackConfig, Violation
from policies.cost import Estimate, estimate
from policies.engine import Input, evaluate
from policies.rules import RULES
from policies.rules.stack_budget_verifiable import RULE as _VERIFIABLE

BUDGET_VERIFIABLE = _VERIFIABLE.name

SEVERITIES = ("critical", "high", "medium", "low")


def pack_config(config: StackConfig) -> PackConfig:
    """The pack's settings from the stack's own guardrail keys."""
    return PackConfig(
        max_gpu_nodes=config.max_gpu_nodes,
        monthly_budget_usd=float(config.monthly_budget_usd),
        allow_on_demand_fallback=config.karpenter and config.karpenter_on_demand_fallback,
        enforcement={BUDGET_VERIFIABLE: "mandatory"} if config.budget_strict else {},
    )


def policy_report(inventory: Inventory, config: StackConfig) -> list[Violation]:
    resources = [
        Input(r.type, r.name, r.inputs, r.urn, r.property_dependencies)
        for r in inventory.resources
        if r.custom
    ]  # providers are resources the engine shows a pack too
    order = {s: i for i, s in enumerate(SEVERITIES)}
    found = evaluate(resources, pack_config(config))
    return sorted(
        found,
        key=lambda v: (
            v.enforcement != "mandatory",
            order[v.severity],
            v.rule,
            v.resource,
            v.message,
        ),
    )


def cost_estimate(inventory: Inventory, config: StackConfig) -> Estimate:
    return estimate(
        [(r.type, r.name, r.inputs) for r in inventory.custom()],
        storage_gb=float(config.storage_estimate_gb),
    )


def policy_document(violations: list[Violation], config: PackConfig) -> dict[str, Any]:
    return {
        "config": config.as_properties(),  # what CI hands the pack as --policy-pack-config
        "enforcementOverrides": dict(config.enforcement),
        "mandatoryViolations": sum(v.enforcement == "mandatory" for v in violations),
        "advisoryViolations": sum(v.enforcement == "advisory" for v in violations),
        "rules": len(RULES),
        "violations": [
            {
                "rule": v.rule,
                "resource": v.resource,
                "severity": v.severity,
                "enforcement": v.enforcement,
                "message": v.message,
                "fix": v.fix,
            }
            for v in violations
        ],
    }


def render_policy(doc: dict[str, Any], out: TextIO) -> None:
    limits = ", ".join(f"{k} {json.dumps(v)}" for k, v in doc["config"].items())
    print(f"\nPolicies ({doc['rules']} rules; this stack's pack config: {limits})", file=out)
    for rule, level in doc["enforcementOverrides"].items():
        print(f"  {rule} is {level} for this stack", file=out)
    if not doc["violations"]:
        print("  no violations", file=out)
    for v in doc["violations"]:
        print(f"  [{v['enforcement']}/{v['severity']}] {v['rule']} on {v['resource']}", file=out)
        print(f"      {v['message']}; fix: {v['fix']}", file=out)


def render_cost(doc: dict[str, Any], out: TextIO) -> None:
    if doc["region"] is None:
        print("\nMonthly cost estimate (USD): no cloud region", file=out)
        print("  no priced cloud resources: this target runs on a cluster you have", file=out)
        return
    print(f"\nMonthly cost estimate (USD, {doc['region']})", file=out)
    print(f"  {'line item':<64} {'min':>10} {'max':>10}", file=out)
    for i in doc["items"]:
        print(f"  {i['item'][:64]:<64} {i['min']:>10,.2f} {i['max']:>10,.2f}", file=out)
    print(f"  {'by component':<64}", file=out)
    for name, v in doc["byComponent"].items():
        print(f"    {name:<62} {v['min']:>10,.2f} {v['max']:>10,.2f}", file=out)
    total = "total (priced items only)" if doc["unpriced"] else "total"
    print(f"  {total:<64} {doc['minMonthly']:>10,.2f} {doc['maxMonthly']:>10,.2f}", file=out)
    print(
        f"  GPU at maximum scale: {doc['gpuHoursAtMax']:,.0f} GPU-hours, "
        f"${doc['gpuMonthlyAtMax']:,.2f}",
        file=out,
    )
    for u in doc["unpriced"]:
        print(f"  unpriced (not in the totals): {u}", file=out)
    for a in doc["assumptions"]:
        print(f"  assumes: {a}", file=out)


def _money(x: float) -> str:
    return f"${x:,.2f}"


def _delta(x: float) -> str:
    return f"{'+' if x >= 0 else '-'}${abs(x):,.2f}"


def compare_markdown(base: dict[str, Any], head: dict[str, Any], base_name: str = "base") -> str:
    """A pull-request comment: totals, components and resource counts that changed."""
    bc, hc = base["cost"], head["cost"]
    lines = [
        f"### `ascent plan` for `{head['stack']}`: cost and resources vs `{base_name}` "
        f"(stack `{base.get('stack', '?')}`)",
        "",
        "| | base | this change | delta |",
        "|---|---:|---:|---:|",
    ]
    for label, key in (("monthly, min scale", "minMonthly"), ("monthly, max scale", "maxMonthly")):
        lines.append(
            f"| {label} | {_money(bc[key])} | {_money(hc[key])} | {_delta(hc[key] - bc[key])} |"
        )
    names = sorted(set(bc["byComponent"]) | set(hc["byComponent"]))
    for name in names:
        b = bc["byComponent"].get(name, {"max": 0.0})["max"]
        h = hc["byComponent"].get(name, {"max": 0.0})["max"]
        if round(h - b, 2):
            lines.append(f"| {name} (max) | {_money(b)} | {_money(h)} | {_delta(h - b)} |")
    lines.append(
        f"| resources | {base['resources']} | {head['resources']} | "
        f"{head['resources'] - base['resources']:+d} |"
    )
    types = sorted(set(base["countsByType"]) | set(head["countsByType"]))
    for t in types:
        b, h = base["countsByType"].get(t, 0), head["countsByType"].get(t, 0)
        if b != h:
            lines.append(f"| `{t}` | {b} | {h} | {h - b:+d} |")
    mandatory = head["policy"]["mandatoryViolations"]
    lines += ["", f"Policy: {mandatory} mandatory violation(s) in this change."]
    if hc.get("unpriced"):
        lines.append(f"Unpriced (not in the totals): {'; '.join(hc['unpriced'])}.")
    return "\n".join(lines) + "\n"
