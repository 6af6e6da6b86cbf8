"""The stack's estimated monthly cost at maximum scale stays within `monthlyBudgetUsd` (the
same estimate and price catalog as `ascent plan`)."""

from __future__ import annotations

from infra.cost import estimate
from policies.core import PackConfig, Resource, Rule


def check(resources: list[Resource], config: PackConfig) -> list[tuple[str, str]]:
    try:
        total = estimate([(r.type, r.name, r.props) for r in resources]).max_total
    except ValueError as exc:  # an instance type or region missing from the catalog
        return [("stack", f"cannot estimate the cost: {exc}")]
    if total <= config.monthly_budget_usd:
        return []
    return [
        (
            "stack",
            f"estimated ${total:,.0f}/month at maximum scale > monthlyBudgetUsd "
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
