"""A HorizontalPodAutoscaler's `minReplicas` (default 1) is at most its `maxReplicas`.

Mandatory: the API server refuses such an autoscaler, so the update would fail halfway; the
preview says so first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get
from policies.rules._k8s import number, show

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    raw_min, raw_max = get(props, "spec", "minReplicas"), get(props, "spec", "maxReplicas")
    low = 1.0 if raw_min is None else number(raw_min)
    high = number(raw_max)
    if raw_max is None:
        return ["has no maxReplicas"]
    if low is not None and high is not None and low > high:
        return [f"minReplicas {show(raw_min) or '1 (default)'} > maxReplicas {show(raw_max)}"]
    return []


RULE = Rule(
    name="k8s-hpa-min-at-most-max",
    description="HorizontalPodAutoscalers have minReplicas <= maxReplicas",
    severity="medium",
    enforcement="mandatory",
    fix="set minReplicas no higher than maxReplicas",
    types=(HPA,),
    check=check,
)
