"""A PodDisruptionBudget allows at least one disruption: not `maxUnavailable: 0` (or "0%"),
not `minAvailable: "100%"`.

Mandatory: such a budget blocks every voluntary eviction, so node drains hang: cluster
upgrades stall, and the autoscaler cannot remove a node (a GPU node keeps billing) while one
of the budget's pods runs on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get
from policies.rules._k8s import number, show

PDB = "kubernetes:policy/v1:PodDisruptionBudget"


def _amount(value: Any) -> tuple[float, bool] | None:
    """An int-or-percent field as (amount, is a percentage); None when it is neither."""
    n = number(value)
    if n is not None:
        return n, False
    if isinstance(value, str):
        raw = value.strip()
        try:
            return (float(raw[:-1]), True) if raw.endswith("%") else (float(raw), False)
        except ValueError:
            return None
    return None


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    max_unavailable = get(props, "spec", "maxUnavailable")
    amount = _amount(max_unavailable)
    if amount is not None and amount[0] <= 0:
        out.append(f"allows no disruption (maxUnavailable {show(max_unavailable)})")
    min_available = get(props, "spec", "minAvailable")
    amount = _amount(min_available)
    if amount is not None and amount[1] and amount[0] >= 100:
        out.append(f"allows no disruption (minAvailable {show(min_available)})")
    return out


RULE = Rule(
    name="k8s-pdb-allows-disruption",
    description="PodDisruptionBudgets allow at least one pod to be evicted",
    severity="medium",
    enforcement="mandatory",
    fix="set maxUnavailable 1 (or a minAvailable below the replica count)",
    types=(PDB,),
    check=check,
)
