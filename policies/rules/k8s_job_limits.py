"""Jobs, and the jobs a CronJob makes (`jobTemplate.spec`), set `activeDeadlineSeconds` and
`ttlSecondsAfterFinished`.

Mandatory: without a deadline a hung job (a stuck collective, a data loader waiting forever)
holds its nodes, GPU nodes included, until someone notices; without a TTL finished jobs and
their pods pile up in the namespace (and count against its quota).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get
from policies.rules._k8s import CRON_JOB, JOB, job_spec

FIELDS = {
    "activeDeadlineSeconds": "a hung job runs, and holds its nodes, forever",
    "ttlSecondsAfterFinished": "finished jobs and their pods are never cleaned up",
}


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    spec = job_spec(props)
    if spec is None:
        return []
    return [
        f"job has no {field}: {why}" for field, why in FIELDS.items() if get(spec, field) is None
    ]


RULE = Rule(
    name="k8s-job-deadline-and-ttl",
    description="Jobs (and CronJob job templates) set activeDeadlineSeconds and "
    "ttlSecondsAfterFinished",
    severity="medium",
    enforcement="mandatory",
    fix="set spec.activeDeadlineSeconds and spec.ttlSecondsAfterFinished (for a CronJob: in "
    "spec.jobTemplate.spec)",
    types=(JOB, CRON_JOB),
    check=check,
)
