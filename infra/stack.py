"""The one map of the program: the target's platform, then the shared Kubernetes layer."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.aws.target import aws_outputs, build_aws_target
from infra.config import StackConfig
from infra.tags import deployment_id


def _local_provider(config: StackConfig) -> k8s.Provider:
    return k8s.Provider(
        "k8s",
        context=config.kubeconfig_context or None,
        enable_server_side_apply=True,
    )


def build_stack(config: StackConfig) -> dict[str, Any]:
    """Declare the whole platform for `config`; return the stack outputs."""
    outputs: dict[str, Any] = {
        "target": config.target,
        "environment": config.environment,
        "deploymentId": deployment_id(pulumi.get_project(), pulumi.get_stack()),
    }
    if config.target == "aws":
        outputs["region"] = config.region
        outputs.update(aws_outputs(build_aws_target(config)))
    else:
        _local_provider(config)
    return outputs
