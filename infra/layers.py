"""The two layers of an AWS stack, and which config keys each one owns.

A private API endpoint (always in prod) is reachable only from inside the VPC, so one `pulumi up`
cannot both create the VPC and then talk to the cluster it put there. An AWS stack may therefore
be split, the way the EKS blueprints split theirs:

- the **cloud** layer (`ascent:layer: cloud`, e.g. `aws-prod`): VPC, EKS, node pools, MSK, S3,
  ECR, every IAM role and Pod Identity association, and the deploy runner: a CodeBuild project in
  the VPC's private subnets whose role holds a cluster access entry. It calls only AWS APIs, so
  any CI machine with AWS credentials deploys it.
- the **kubernetes** layer (`ascent:layer: kubernetes`, `ascent:cloudStack: aws-prod`, e.g.
  `aws-prod-k8s`): add-ons and workloads. It reads the cloud stack's outputs through a
  StackReference and runs inside the VPC, on the runner (`python -m ci deploy` starts it there).

The kubernetes layer's stack file inherits every key of its cloud stack's file, so a value is set
once; it may override only keys the cloud layer does not own (`CLOUD_KEYS`). The cloud stack
exports a digest of the keys it owns (`layer_digest`); the kubernetes layer refuses to deploy
against a cloud stack deployed from different values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

Layer = Literal["all", "cloud", "kubernetes"]
LAYERS: tuple[Layer, ...] = ("all", "cloud", "kubernetes")

CLOUD_KEYS = frozenset(
    {
        "target", "environment", "owner", "costCenter", "region", "availabilityZones", "vpcCidr",
        "natGatewayPerAz", "kubernetesVersion", "clusterEndpointPublicCidrs", "clusterAdminArns",
        "systemInstanceType", "systemMinSize", "systemMaxSize", "gpuPools", "kafkaMode",
        "kafkaVersion", "kafkaBrokerInstanceType", "kafkaBrokers", "kafkaVolumeSizeGb",
        "storageForceDestroy", "checkpointRetentionDays", "noncurrentVersionRetentionDays",
        "storageEstimateGb", "enableClusterAutoscaler", "nodeAutoscaler", "enableKeda",
        "deployRunnerSecrets", "deployRunnerStateBucket", "monthlyBudgetUsd", "budgetStrict",
        "maxGpuNodes",
    }
)  # fmt: skip
"""Keys the cloud layer declares resources from (`enableKeda`: KEDA's IAM role). The kubernetes
layer takes them from its cloud stack's file; setting one in its own file is an error."""

_UNSET = object()
DIGEST_SKIPPED_DEFAULTS: dict[str, Any] = {"nodeAutoscaler": "cluster-autoscaler"}
"""Cloud keys added after stacks were deployed: at their default they are left out of the digest,
so a cloud stack deployed before the key existed keeps matching its kubernetes layer."""

LAYER_KEYS = frozenset({"layer", "cloudStack"})
"""Keys never inherited: each stack says which layer it is."""

KUBERNETES_SUFFIX = "-k8s"


def cloud_stack_file_name(cloud_stack: str) -> str:
    """`org/project/aws-prod` or `aws-prod` -> the stack whose file is `Pulumi.aws-prod.yaml`."""
    return cloud_stack.rsplit("/", 1)[-1]


def layer_digest(values: Mapping[str, Any]) -> str:
    """A digest of the cloud layer's own keys, as parsed (`StackConfig.model_dump(by_alias)`), so
    both layers compute the same value from the same stack file."""
    owned = {
        k: values[k]
        for k in sorted(CLOUD_KEYS)
        if k in values and DIGEST_SKIPPED_DEFAULTS.get(k, _UNSET) != values[k]
    }
    return hashlib.sha256(json.dumps(owned, sort_keys=True, default=str).encode()).hexdigest()
