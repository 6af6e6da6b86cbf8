"""Provisioned MSK sends its broker logs somewhere (`loggingInfo.brokerLogs`: CloudWatch Logs,
Firehose or S3, at least one enabled). Mandatory: broker logs are the only record of
authentication failures, ACL denials and broker errors; without them an incident on the data
path cannot be investigated. (MSK Serverless has no broker logs to configure.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, truthy

DESTINATIONS = ("cloudwatchLogs", "firehose", "s3")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    logs = get(props, "loggingInfo", "brokerLogs")
    if any(truthy(get(logs, d, "enabled")) for d in DESTINATIONS):
        return []
    return ["broker logs go nowhere (no cloudwatchLogs, firehose or s3 destination enabled)"]


RULE = Rule(
    name="aws-msk-cluster-broker-logs",
    description="MSK broker logs are delivered to CloudWatch Logs, Firehose or S3",
    severity="medium",
    enforcement="mandatory",
    fix="set loggingInfo.brokerLogs.cloudwatchLogs {enabled: true, logGroup: <log group>}",
    types=("aws:msk/cluster:Cluster",),
    check=check,
)
