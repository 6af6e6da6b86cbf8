"""The one map of the program: the target's platform, then the shared Kubernetes layer.

config ─> target (aws | local) ─> PlatformContract ─> namespaces, add-ons ─> workloads
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi

from infra.aws.target import aws_contract, aws_outputs, build_aws_target
from infra.config import StackConfig
from infra.contract import GpuPoolInfo, PlatformContract
from infra.k8s.addons import MONITORING_NAMESPACE, Addons, AddonsArgs
from infra.k8s.namespaces import WorkloadNamespaces, WorkloadNamespacesArgs
from infra.k8s.workloads import Workloads, workloads_args
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


def build_platform(config: StackConfig, outputs: dict[str, Any]) -> PlatformContract:
    """The target, then the namespaces and add-ons every workload relies on."""
    pools = [gpu_pool_info(p) for p in config.gpu_pools]
    monitoring = MONITORING_NAMESPACE if config.enable_monitoring else None
    if config.target == "aws":
        target = build_aws_target(config)
        outputs.update(aws_outputs(target))
        provider, ready = target.cluster.provider, target.ready
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
        contract = aws_contract(target, config, pools, [namespaces, addons])
    else:
        contract = build_local_services(config, provider, pools, namespaces.resources)
        contract = replace(contract, depends_on=[*contract.depends_on, namespaces, addons])
    return contract


def build_stack(config: StackConfig) -> dict[str, Any]:
    """Declare the whole platform for `config`; return the stack outputs."""
    outputs: dict[str, Any] = {
        "target": config.target,
        "environment": config.environment,
        "deploymentId": deployment_id(pulumi.get_project(), pulumi.get_stack()),
    }
    if config.target == "aws":
        outputs["region"] = config.region
    contract = build_platform(config, outputs)
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": contract.provider})
    workloads = Workloads("workloads", workloads_args(config, contract), opts=k8s_opts)
    outputs["workloads"] = workloads.summary
    outputs["kafkaBootstrapServers"] = contract.kafka.bootstrap_servers
    outputs["objectStoreUrl"] = contract.object_store.url("")
    return outputs
