"""cluster-autoscaler: a pinned Helm release, and its own Pod Identity role.

Expander `priority,least-waste`: prefer spot pools (cheaper, for training) when several pools fit,
then the one that wastes least; idle GPU nodes are removed after 10 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.aws.identity import WorkloadRole, WorkloadRoleArgs, autoscaler_policy
from infra.scheduling import LABEL_PREFIX

CHART = "cluster-autoscaler"
CHART_VERSION = "9.56.0"
CHART_REPO = "https://kubernetes.github.io/autoscaler"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


def expander_priorities() -> dict[str, list[str]]:
    """Higher wins; the patterns match node group (ASG) names, which carry the capacity type.
    Keys are strings: Helm values travel as JSON objects."""
    return {"50": [".*-spot-.*"], "10": [".*"]}


def image_tag(kubernetes_version: str) -> str:
    """cluster-autoscaler's minor version must match the cluster's."""
    return f"v{kubernetes_version}.0"


def chart_values(cluster_name: str, region: str, kubernetes_version: str) -> dict[str, Any]:
    return {
        "image": {"tag": image_tag(kubernetes_version)},
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
        "extraArgs": {
            "expander": "priority,least-waste",
            "balance-similar-node-groups": True,
            "skip-nodes-with-system-pods": False,
            "scale-down-unneeded-time": "10m",
            "scale-down-delay-after-add": "10m",
            "scale-down-utilization-threshold": 0.5,
            "max-node-provision-time": "15m",
        },
        "expanderPriorities": expander_priorities(),
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": {f"{LABEL_PREFIX}/pool": "system"},
        "resources": {
            "requests": {"cpu": "100m", "memory": "300Mi"},
            "limits": {"cpu": "500m", "memory": "600Mi"},
        },
    }


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: str
    region: str
    kubernetes_version: str


def autoscaler_role(
    name: str,
    cluster_name: str,
    nodegroup_arn_prefix: pulumi.Input[str],
    opts: pulumi.ResourceOptions | None = None,
) -> WorkloadRole:
    """The controller's Pod Identity role (the cloud layer declares it, infra/layers.py)."""
    return WorkloadRole(
        f"{name}-identity",
        WorkloadRoleArgs(
            cluster_name=cluster_name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy=pulumi.Output.from_input(nodegroup_arn_prefix).apply(
                lambda prefix: autoscaler_policy(cluster_name, prefix)
            ),
        ),
        opts=opts,
    )


class ClusterAutoscaler(pulumi.ComponentResource):
    """The controller's Helm release; its role (`autoscaler_role`) must exist first: pass it, or
    its Pod Identity association, in `opts.depends_on`."""

    def __init__(
        self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ascent:aws:ClusterAutoscaler", name, None, opts)
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name="cluster-autoscaler",
            chart=CHART,
            version=CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPO),
            namespace=NAMESPACE,
            values=chart_values(args.cluster_name, args.region, args.kubernetes_version),
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"release": self.release.name})
