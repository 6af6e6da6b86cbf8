"""The one map of the program: the target's platform, then the shared Kubernetes layer.

config ─> target (aws | local) ─> PlatformContract ─> namespaces, add-ons ─> workloads

An AWS stack may be split in two (infra/layers.py): `layer: cloud` stops after the target and
exports what the other layer reads; `layer: kubernetes` starts from those outputs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi

from infra.aws.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from infra.aws.cloud_stack import read_cloud_stack
from infra.aws.karpenter import Karpenter, KarpenterArgs
from infra.aws.target import aws_contract, aws_outputs, build_aws_target, cluster_name_for
from infra.config import StackConfig
from infra.contract import GpuPoolInfo, PlatformContract
from infra.k8s.addons import MONITORING_NAMESPACE, Addons, AddonsArgs
from infra.k8s.namespaces import WorkloadNamespaces, WorkloadNamespacesArgs
from infra.k8s.workloads import Workloads, workloads_args
from infra.layers import cloud_stack_file_name
from infra.local.kafka import TLS_PORT
from infra.local.target import build_local_services, local_provider
from infra.scheduling import gpu_pool_info
from infra.tags import deployment_id

MSK_IAM_PORT = 9098


def _addons_args(config: StackConfig, pools: list[GpuPoolInfo]) -> AddonsArgs:
    return AddonsArgs(
        metrics_server=config.enable_metrics_server,
        keda=config.enable_keda,
        nvidia_device_plugin=config.enable_nvidia_device_plugin,
        gpu_operator=config.enable_gpu_operator,
        monitoring=config.enable_monitoring,
        gpu_pools=pools,
        kubelet_insecure_tls=config.target == "local",  # kind/k3d kubelets self-sign
    )


def _aws_access(config: StackConfig, outputs: dict[str, Any]) -> tuple[Any, ...]:
    """(Kubernetes provider, what to wait for, bootstrap brokers, bucket, repositories) of an
    AWS stack: from its own resources (layer all) or its cloud stack's outputs (kubernetes)."""
    if config.layer == "kubernetes":
        cloud = read_cloud_stack(config)
        return (cloud.provider, [], cloud.bootstrap_brokers, cloud.bucket_name,
                cloud.repository_urls)  # fmt: skip
    target = build_aws_target(config)
    outputs.update(aws_outputs(target, config))
    return (target.cluster.provider, target.ready, target.kafka.bootstrap_brokers,
            target.storage.bucket_name, target.registry.repository_urls)  # fmt: skip


def build_platform(config: StackConfig, outputs: dict[str, Any]) -> PlatformContract:
    """The target, then the namespaces and add-ons every workload relies on."""
    pools = [gpu_pool_info(p) for p in config.gpu_pools]
    monitoring = MONITORING_NAMESPACE if config.enable_monitoring else None
    if config.target == "aws":
        provider, ready, brokers, bucket, repositories = _aws_access(config, outputs)
        ns_args = WorkloadNamespacesArgs(
            gpu_pools=pools, kafka_port=MSK_IAM_PORT, vpc_cidr=config.vpc_cidr,
            pod_identity_agent=True, monitoring_namespace=monitoring,
        )  # fmt: skip
    else:
        provider, ready = local_provider(config), []
        ns_args = WorkloadNamespacesArgs(
            gpu_pools=pools, kafka_port=TLS_PORT, kafka_namespace="kafka",
            object_store_namespace="minio", monitoring_namespace=monitoring,
        )  # fmt: skip
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": provider}, depends_on=ready)
    namespaces = WorkloadNamespaces("namespaces", ns_args, opts=k8s_opts)
    addons = Addons("addons", _addons_args(config, pools), opts=k8s_opts)
    if config.target == "aws":
        if config.karpenter:
            Karpenter(
                "karpenter",
                KarpenterArgs(
                    cluster_name=cluster_name_for(cloud_stack_name(config)),
                    gpu_pools=config.gpu_pools,
                    on_demand_fallback=config.karpenter_on_demand_fallback,
                ),
                opts=k8s_opts,
            )
        if config.cluster_autoscaler:
            ClusterAutoscaler(
                "cluster-autoscaler",
                ClusterAutoscalerArgs(
                    cluster_name=cluster_name_for(cloud_stack_name(config)),
                    region=config.region,
                    kubernetes_version=config.kubernetes_version,
                ),
                opts=k8s_opts,
            )
        contract = aws_contract(config, provider, brokers, bucket, repositories, pools,
                                [*ready, namespaces, addons])  # fmt: skip
    else:
        contract = build_local_services(config, provider, pools, namespaces.resources)
        contract = replace(contract, depends_on=[*contract.depends_on, namespaces, addons])
    return contract


def cloud_stack_name(config: StackConfig) -> str:
    """The stack that owns the cluster: this one, or the kubernetes layer's cloud stack."""
    if config.layer == "kubernetes":
        return cloud_stack_file_name(config.cloud_stack)
    return pulumi.get_stack()


class UnpinnedAfterPinned(ValueError):
    """An `up` without `ascent:images` on a stack whose last update ran pinned digests."""


def check_pinned(stack: str, previous: Any) -> dict[str, str]:
    if previous:
        raise UnpinnedAfterPinned(
            f"stack {stack} last ran pinned images ({', '.join(sorted(previous))} by digest, set "
            "by CI); this `up` has no ascent:images and would replace them with imageTag: "
            "deploy through `python -m ci deploy`, or set ascent:images to what should run "
            "(`pulumi stack output pinnedImages`)"
        )
    return {}


def pinned_images_output(config: StackConfig) -> Any:
    """The digests this update runs. CI sets them (and imageTag) in the runner's (or CI
    machine's) copy of the stack file, which a later manual `up` from a fresh checkout lacks: on
    AWS an `up` with neither (imageTag at its default) after a pinned deploy is refused rather
    than silently rolling the workloads back. An explicit imageTag (a rollback to a release
    deployed by tag) is honoured. The previous digests are this stack's own last outputs (a
    StackReference to itself)."""
    default_tag = StackConfig.model_fields["image_tag"].default
    if config.pinned_images or config.target != "aws" or config.image_tag != default_tag:
        return dict(sorted(config.pinned_images.items()))
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    previous = pulumi.StackReference("self", stack_name=name).get_output("pinnedImages")
    return previous.apply(lambda p: check_pinned(pulumi.get_stack(), p))


def build_stack(config: StackConfig) -> dict[str, Any]:
    """Declare the platform (or one layer of it, infra/layers.py) for `config`; return the stack
    outputs."""
    outputs: dict[str, Any] = {
        "target": config.target,
        "environment": config.environment,
        "layer": config.layer,
        "deploymentId": deployment_id(pulumi.get_project(), cloud_stack_name(config)),
    }
    if config.target == "aws":
        outputs["region"] = config.region
    if config.layer == "cloud":
        outputs.update(aws_outputs(build_aws_target(config), config))
        return outputs
    contract = replace(build_platform(config, outputs), pinned_images=config.pinned_images)
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": contract.provider})
    workloads = Workloads("workloads", workloads_args(config, contract), opts=k8s_opts)
    outputs["workloads"] = workloads.summary
    outputs["pinnedImages"] = pinned_images_output(config)
    outputs["kafkaBootstrapServers"] = contract.kafka.bootstrap_servers
    outputs["objectStoreUrl"] = contract.object_store.url("")
    return outputs
