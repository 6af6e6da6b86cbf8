"""The stack's estimated monthly cost at maximum scale stays within `monthlyBudgetUsd` (the
same estimate and price catalog as `ascent plan`).

What the catalog cannot price is left out of the total, so the total is a lower bound: above the
budget it is a violation for certain; below it with unpriced items, `stack-budget-verifiable`
says so instead.
"""

from __future__ import annotations

from policies.core import PackConfig, Resource, Rule
from policies.cost import estimate


def check(resources: list[Resource], config: PackConfig) -> list[tuple[str, str]]:
    cost = estimate([(r.type, r.name, r.props) for r in resources])
    total = cost.max_total
    if total <= config.monthly_budget_usd:
        return []
    bound = " (at least: some items are unpriced)" if cost.unpriced else ""
    return [
        (
            "stack",
            f"estimated ${total:,.0f}/month at maximum scale{bound} > monthlyBudgetUsd "
            f"${config.monthly_budget_usd:,.0f}",
        )
    ]


RULE = Rule(
    name="stack-monthly-budget",
    description="estimated monthly cost at maximum scale within monthlyBudgetUsd",
    severity="high",
    enforcement="mandatory",
    fix="lower pool maxSize / instance sizes, or raise monthlyBudgetUsd",
    stack_check=check,
)
