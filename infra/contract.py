"""The platform contract: what a target hands the Kubernetes layer (see infra/names.py for the
names both sides share, re-exported here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi

from infra.names import (
    GROUP_FEATURES,
    GROUP_SCORER,
    GROUP_TRAINER,
    IMAGES,
    LAG_SCALED,
    NS_PLATFORM,
    NS_SERVING,
    NS_TRAINING,
    PREFIX_CHECKPOINTS,
    PREFIX_DATASETS,
    PREFIX_DEAD_LETTERS,
    PREFIX_MODELS,
    TOPIC_DLQ,
    TOPIC_FEATURES,
    TOPIC_SCORES,
    TOPIC_TRANSACTIONS,
    TOPICS,
    WORKLOADS,
    WorkloadIdentity,
)

__all__ = [
    "DEVICE_PLUGIN_BUILTIN",
    "GROUP_FEATURES",
    "GROUP_SCORER",
    "GROUP_TRAINER",
    "IMAGES",
    "LABEL_DEVICE_PLUGIN",
    "LAG_SCALED",
    "NS_PLATFORM",
    "NS_SERVING",
    "NS_TRAINING",
    "PREFIX_CHECKPOINTS",
    "PREFIX_DATASETS",
    "PREFIX_DEAD_LETTERS",
    "PREFIX_MODELS",
    "TOPICS",
    "TOPIC_DLQ",
    "TOPIC_FEATURES",
    "TOPIC_SCORES",
    "TOPIC_TRANSACTIONS",
    "WORKLOADS",
    "GpuPoolInfo",
    "KafkaAccess",
    "ObjectStoreAccess",
    "PlatformContract",
    "WorkloadIdentity",
]  # fmt: skip

# ---------------------------------------------------------------------------------------------
# The platform contract: what a target hands the Kubernetes layer. The layer reads nothing else,
# so a workload cannot tell the targets apart except through these fields.
# ---------------------------------------------------------------------------------------------

KafkaAuth = Literal["aws-iam", "scram-sha-512"]
StoreCredentials = Literal["pod-identity", "secret"]


@dataclass(frozen=True)
class KafkaAccess:
    """How workloads reach Kafka. `secrets[workload]` names a Secret in the workload's namespace
    with `username`/`password` (SCRAM); `ca_secrets[namespace]` a Secret with `ca.crt` to trust
    the brokers' TLS certificate. Both are empty on AWS (IAM auth, public CAs)."""

    bootstrap_servers: pulumi.Input[str]
    auth: KafkaAuth
    partitions: int
    secrets: dict[str, str] = field(default_factory=dict)
    ca_secrets: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectStoreAccess:
    """The bucket holding datasets/, checkpoints/ and models/, and how to reach it."""

    bucket: pulumi.Input[str]
    credentials: StoreCredentials
    endpoint_url: pulumi.Input[str] | None = None  # None: the AWS regional endpoint
    region: str = "us-east-1"
    secrets: dict[str, str] = field(default_factory=dict)  # workload -> Secret (AWS_* keys)

    def url(self, prefix: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("s3://", self.bucket, "/", prefix)


LABEL_DEVICE_PLUGIN = "ascent.dev/device-plugin"
DEVICE_PLUGIN_BUILTIN = "builtin"
"""Node label `LABEL_DEVICE_PLUGIN=DEVICE_PLUGIN_BUILTIN`: the node's OS runs its own NVIDIA device
plugin (Bottlerocket NVIDIA variants), so no device plugin DaemonSet may run there: two plugins
would both advertise `nvidia.com/gpu` and hand out the same devices. Nodes without the label need
the DaemonSet; select them with `LABEL_DEVICE_PLUGIN NotIn [DEVICE_PLUGIN_BUILTIN]`."""


@dataclass(frozen=True)
class GpuPoolInfo:
    """A pool workloads can be scheduled on: select it by `labels`, tolerate `taints`.

    `labels` are exactly the labels the pool's nodes carry. `device_plugin_builtin`: the nodes'
    OS brings its own NVIDIA device plugin (and then `labels` holds
    `LABEL_DEVICE_PLUGIN: DEVICE_PLUGIN_BUILTIN`); keep the device plugin DaemonSet off them.
    """

    name: str
    purpose: str
    labels: dict[str, str]
    taints: list[dict[str, str]]
    gpus_per_node: int
    max_nodes: int
    device_plugin_builtin: bool = False


@dataclass(frozen=True)
class PlatformContract:
    target: str
    provider: pulumi.ProviderResource  # the explicit Kubernetes provider
    kubernetes_version: str
    kafka: KafkaAccess
    object_store: ObjectStoreAccess
    images: dict[str, pulumi.Input[str]]  # image name -> repository (no tag)
    gpu_pools: list[GpuPoolInfo]
    service_accounts: dict[str, WorkloadIdentity]
    # ready before workloads; on AWS it includes each workload's Pod Identity association (a pod
    # started before its association exists gets no AWS credentials)
    depends_on: list[pulumi.Resource] = field(default_factory=list)

    # image name -> repository@sha256:... from `ascent:images`: run exactly that, not the tag
    pinned_images: dict[str, str] = field(default_factory=dict)

    def pools(self, purpose: str) -> list[GpuPoolInfo]:
        return [p for p in self.gpu_pools if p.purpose == purpose]

    def image(self, name: str, tag: str) -> pulumi.Output[str]:
        """What a workload's container runs: the pinned digest, else `images[name]:tag`."""
        from infra.k8s.pods import image_ref

        if name in self.pinned_images:
            return pulumi.Output.from_input(self.pinned_images[name])
        return image_ref(self.images[name], tag)
