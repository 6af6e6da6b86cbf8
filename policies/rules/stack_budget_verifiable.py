"""The budget can only be checked when the price catalog prices everything the stack runs: an
instance type or region it lacks makes the estimate a lower bound. Advisory by default (the plan
still prints, priced items still count); a stack that wants it enforced sets
`ascent:budgetStrict: true` (or the pack config's enforcement override)."""

from __future__ import annotations

from policies.core import PackConfig, Resource, Rule
from policies.cost import estimate


def check(resources: list[Resource], config: PackConfig) -> list[tuple[str, str]]:
    cost = estimate([(r.type, r.name, r.props) for r in resources])
    if not cost.unpriced or cost.max_total > config.monthly_budget_usd:
        return []  # nothing unpriced, or over budget already (stack-monthly-budget says so)
    return [
        (
            "stack",
            f"cannot verify monthlyBudgetUsd ${config.monthly_budget_usd:,.0f}: no price for "
            + "; ".join(cost.unpriced),
        )
    ]


RULE = Rule(
    name="stack-budget-verifiable",
    description="every priced resource of the stack has a price in the catalog",
    severity="medium",
    enforcement="advisory",
    fix="pick instance types the catalog prices in this region (policies/data/aws_prices.json), "
    "or regenerate it with `python scripts/update_prices.py` where AWS's price list is reachable",
    stack_check=check,
)
