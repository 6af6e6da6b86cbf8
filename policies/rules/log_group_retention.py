"""CloudWatch log groups expire their logs (`retentionInDays` set, not 0 / never). Mandatory:
without a retention logs are kept, and billed, forever, along with whatever personal data they
carry past any purpose; the program sets one on every group it makes (cluster and broker logs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, text


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    days = get(props, "retentionInDays")
    if days is None:
        return ["no retentionInDays: logs are kept forever"]
    if isinstance(days, bool) or not isinstance(days, (int, float)):
        return [f"retentionInDays is {text(days)!r}, not a number of days"]
    if days <= 0:
        return [f"retentionInDays is {days:g}: logs are kept forever"]
    return []


RULE = Rule(
    name="aws-cloudwatch-log-group-retention",
    description="CloudWatch log groups have a retention period",
    severity="medium",
    enforcement="mandatory",
    fix="set retentionInDays (e.g. 30 or 90)",
    types=("aws:cloudwatch/logGroup:LogGroup",),
    check=check,
)
