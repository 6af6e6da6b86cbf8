"""The local target: any cluster a kubeconfig reaches, with Strimzi Kafka and MinIO inside it.

It hands the Kubernetes layer the same contract as AWS; SCRAM and S3 credentials arrive as
Secrets in the workloads' namespaces instead of through IAM.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from infra.config import StackConfig
from infra.contract import IMAGES, WORKLOADS, GpuPoolInfo, PlatformContract
from infra.local.kafka import StrimziKafka, StrimziKafkaArgs
from infra.local.storage import Minio, MinioArgs


def local_provider(config: StackConfig) -> k8s.Provider:
    """The explicit provider: the configured kubeconfig context, or the current one."""
    return k8s.Provider(
        "k8s", context=config.kubeconfig_context or None, enable_server_side_apply=True
    )


def build_local_services(
    config: StackConfig,
    provider: k8s.Provider,
    pools: list[GpuPoolInfo],
    namespace_resources: Sequence[pulumi.Resource],
) -> PlatformContract:
    opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
    kafka = StrimziKafka(
        "kafka",
        StrimziKafkaArgs(
            replicas=config.kafka_brokers,
            storage_gb=config.kafka_volume_size_gb,
            partitions=config.scorer_max_replicas,
        ),
        opts=opts,
        namespace_resources=namespace_resources,
    )
    store = Minio(
        "object-store",
        MinioArgs(volume_gb=config.object_store_volume_gb),
        opts=opts,
        namespace_resources=namespace_resources,
    )
    return PlatformContract(
        target="local",
        provider=provider,
        kubernetes_version=config.kubernetes_version,
        kafka=kafka.access(),
        object_store=store.access(),
        images={name: f"{config.image_registry}/{name}" for name in IMAGES},
        gpu_pools=pools,
        service_accounts=dict(WORKLOADS),
        depends_on=[kafka, store],
    )
