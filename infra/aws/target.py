"""The AWS target: everything under an explicit, default-tagged AWS provider.

Network -> EKS -> node pools -> managed add-ons; S3, ECR and MSK beside it; one Pod Identity role
per workload; cluster-autoscaler once the add-ons are up.

What the Kubernetes layer waits for (`AwsTarget.ready`, and the contract's `depends_on`): the
nodes, coredns, and every Pod Identity association, so that no pod (a workload, KEDA's operator)
starts under a service account before its association exists; such a pod would get no AWS
credentials until restarted. The Kubernetes provider itself waits for the admins' access entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.autoscaler import autoscaler_role
from infra.aws.cluster import CLUSTER_ADDONS, NODE_ADDONS, Cluster, ClusterArgs, ManagedAddons
from infra.aws.identity import (
    WorkloadRole,
    WorkloadRoleArgs,
    keda_policy,
    topic_admin_policy,
    workload_policy,
)
from infra.aws.kafka import Kafka, KafkaArgs
from infra.aws.karpenter import KarpenterCloud, KarpenterCloudArgs
from infra.aws.network import Network, NetworkArgs
from infra.aws.node_pools import (
    NodePool,
    NodePoolArgs,
    autoscaler_tags,
    aws_gpu_pool_info,
    cpu_ami_type,
    gpu_pool_args,
)
from infra.aws.registry import Registry, RegistryArgs
from infra.aws.runner import SOURCE_PREFIX, DeployRunner, DeployRunnerArgs, parse_secrets
from infra.aws.storage import ObjectStorage, ObjectStorageArgs
from infra.config import MSK_MAX_AZS, StackConfig
from infra.contract import (
    LAG_SCALED,
    WORKLOADS,
    GpuPoolInfo,
    KafkaAccess,
    ObjectStoreAccess,
    PlatformContract,
    WorkloadIdentity,
)
from infra.layers import layer_digest
from infra.names import TOPIC_ADMIN
from infra.scheduling import LABEL_PREFIX
from infra.tags import default_tags

SYSTEM_DISK_GB = 50
KEDA_NAMESPACE, KEDA_SERVICE_ACCOUNT = "keda", "keda-operator"  # the KEDA chart's operator


def cluster_name_for(stack: str) -> str:
    return f"ascent-{stack}"


@dataclass
class AwsTarget:
    """What the AWS target built, for the stack outputs and the Kubernetes layer."""

    provider: aws.Provider
    network: Network
    cluster: Cluster
    node_pools: dict[str, NodePool]
    storage: ObjectStorage
    registry: Registry
    kafka: Kafka
    roles: dict[str, WorkloadRole]
    ready: list[pulumi.Resource]  # Kubernetes objects wait for these (see module doc)
    runner: DeployRunner | None = None  # the cloud layer's in-VPC deployer (infra/layers.py)

    @property
    def identity_bindings(self) -> list[pulumi.Resource]:
        """The Pod Identity associations of the workloads and add-ons (`roles`)."""
        return [role.association for role in self.roles.values()]


def _system_pool_args(
    config: StackConfig, cluster: Cluster, network: Network, cluster_name: str
) -> NodePoolArgs:
    labels = {f"{LABEL_PREFIX}/pool": "system", f"{LABEL_PREFIX}/purpose": "system"}
    tags = autoscaler_tags(cluster_name, labels, [], 0, SYSTEM_DISK_GB)
    return NodePoolArgs(
        cluster_name=cluster.name,
        node_role_arn=cluster.node_role.arn,
        subnet_ids=network.private_subnet_ids,
        instance_types=[config.system_instance_type],
        capacity_type="on-demand",
        min_size=config.system_min_size,
        max_size=config.system_max_size,
        desired_size=config.system_min_size,
        disk_size_gb=SYSTEM_DISK_GB,
        ami_type=cpu_ami_type(config.system_instance_type),
        labels=labels,
        asg_tags=tags,
        legacy_asg_tag_keys=tuple(sorted(tags)),  # unchanged since the tags were numbered
    )


def _workload_role(
    w: WorkloadIdentity,
    cluster: Cluster,
    storage: ObjectStorage,
    kafka: Kafka,
    opts: pulumi.ResourceOptions,
) -> WorkloadRole:
    policy = pulumi.Output.all(storage.bucket_arn, storage.kms_key_arn, kafka.cluster_arn).apply(
        lambda arns: workload_policy(w, arns[0], arns[1], arns[2])
    )
    return WorkloadRole(
        f"{w.name}-identity",
        WorkloadRoleArgs(cluster.name, w.namespace, w.service_account, policy),
        opts=opts,
    )


def _keda_scope() -> tuple[list[str], list[str]]:
    """(topics, consumer groups) whose lag KEDA reads: those of `LAG_SCALED`."""
    topics = sorted(set(LAG_SCALED.values()))
    groups = sorted({str(WORKLOADS[w].group) for w in LAG_SCALED})
    return topics, groups


def build_aws_target(config: StackConfig) -> AwsTarget:
    assert config.target == "aws"
    provider = aws.Provider(
        "aws",
        region=config.region,
        # an explicit provider reads no stack config itself: hand it the `aws:` keys we use
        profile=config.aws_profile,
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(config)),
    )
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    name = cluster_name_for(pulumi.get_stack())

    network = Network(
        "network",
        NetworkArgs(
            config.vpc_cidr,
            config.availability_zones,
            config.nat_gateway_per_az,
            name,
            config.region,
        ),
        opts=opts,
    )
    cluster = Cluster(
        "cluster",
        ClusterArgs(
            cluster_name=name,
            region=config.region,
            kubernetes_version=config.kubernetes_version,
            subnet_ids=network.private_subnet_ids,
            public_access_cidrs=config.cluster_endpoint_public_cidrs,
            admin_arns=config.cluster_admin_arns,
            kubernetes_provider=config.layer == "all",
        ),
        opts=opts,
    )
    # vpc-cni, kube-proxy and the pod identity agent go in before any node (nodes need a CNI
    # to become Ready); coredns needs nodes to run on, so it follows the system pool.
    node_addons = ManagedAddons(
        "addons-node", cluster.name, config.kubernetes_version, NODE_ADDONS, opts=opts
    )
    node_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[node_addons]))
    pools = {
        "system": NodePool("system", _system_pool_args(config, cluster, network, name), node_opts)
    }
    for pool in [] if config.karpenter else config.gpu_pools:  # Karpenter's NodePools instead
        pools[pool.name] = NodePool(
            f"gpu-{pool.name}",
            gpu_pool_args(
                pool, name, cluster.name, cluster.node_role.arn, network.private_subnet_ids
            ),
            opts=node_opts,
        )
    addons = ManagedAddons(
        "addons-dns",
        cluster.name,
        config.kubernetes_version,
        CLUSTER_ADDONS,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[pools["system"]])
        ),
    )
    storage = ObjectStorage(
        "storage",
        ObjectStorageArgs(
            force_destroy=config.storage_force_destroy,
            checkpoint_retention_days=config.checkpoint_retention_days,
            noncurrent_version_retention_days=config.noncurrent_version_retention_days,
        ),
        opts=opts,
    )
    registry = Registry("registry", RegistryArgs(force_delete=config.storage_force_destroy), opts)
    kafka = Kafka(
        "kafka",
        KafkaArgs(
            mode=config.kafka_mode,
            version=config.kafka_version,
            broker_instance_type=config.kafka_broker_instance_type,
            brokers=config.kafka_brokers,
            volume_size_gb=config.kafka_volume_size_gb,
            environment=config.environment,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids[:MSK_MAX_AZS],
            client_security_group_id=cluster.security_group_id,
        ),
        opts=opts,
    )
    roles = {w.name: _workload_role(w, cluster, storage, kafka, opts) for w in WORKLOADS.values()}
    roles[TOPIC_ADMIN.name] = WorkloadRole(  # MSK creates no topic by itself: a Job does, once
        f"{TOPIC_ADMIN.name}-identity",
        WorkloadRoleArgs(
            cluster.name,
            TOPIC_ADMIN.namespace,
            TOPIC_ADMIN.service_account,
            kafka.cluster_arn.apply(lambda arn: topic_admin_policy(arn, TOPIC_ADMIN.topics_write)),
        ),
        opts=opts,
    )
    if config.enable_keda:  # the lag-scaled consumers' ScaledObjects read lag with this role
        roles["keda"] = WorkloadRole(
            "keda-identity",
            WorkloadRoleArgs(
                cluster.name,
                KEDA_NAMESPACE,
                KEDA_SERVICE_ACCOUNT,
                kafka.cluster_arn.apply(lambda arn: keda_policy(arn, *_keda_scope())),
            ),
            opts=opts,
        )
    if config.cluster_autoscaler:  # its chart is in the Kubernetes layer (infra/stack.py)
        roles["cluster-autoscaler"] = autoscaler_role(
            "cluster-autoscaler",
            name,
            cluster.arn.apply(lambda arn: arn.replace(":cluster/", ":nodegroup/")),
            opts,
        )
    if config.karpenter:  # its chart and NodePools are in the Kubernetes layer (infra/stack.py)
        karpenter = KarpenterCloud(
            "karpenter",
            KarpenterCloudArgs(
                cluster_name=name,
                eks_cluster_name=cluster.name,
                cluster_arn=cluster.arn,
                cluster_security_group_id=cluster.security_group_id,
                private_subnet_ids=network.private_subnet_ids,
                region=config.region,
            ),
            opts=opts,
        )
        roles["karpenter"] = karpenter.role
    ready: list[pulumi.Resource] = [addons, *pools.values()]
    target = AwsTarget(provider, network, cluster, pools, storage, registry, kafka, roles, ready)
    target.ready.extend(target.identity_bindings)
    if config.layer == "cloud":
        target.runner = DeployRunner(
            "deploy-runner",
            DeployRunnerArgs(
                cluster_name=cluster.name,
                cluster_arn=cluster.arn,
                cluster_security_group_id=cluster.security_group_id,
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                subnet_arns=network.private_subnet_arns,
                bucket_name=storage.bucket_name,
                bucket_arn=storage.bucket_arn,
                kms_key_arn=storage.kms_key_arn,
                region=config.region,
                secrets=parse_secrets(config.deploy_runner_secrets),
                state_bucket=config.deploy_runner_state_bucket,
            ),
            opts=opts,
        )
    return target


def aws_outputs(target: AwsTarget, config: StackConfig) -> dict[str, object]:
    """The stack outputs; a cloud layer's are what its kubernetes layer reads (infra/aws/
    cloud_stack.py), with the digest of the config they came from and the runner."""
    outputs: dict[str, object] = {
        "clusterName": target.cluster.name,
        "clusterEndpoint": target.cluster.endpoint,
        "kubeconfig": target.cluster.kubeconfig,
        "bucketName": target.storage.bucket_name,
        "kafkaBootstrapBrokers": target.kafka.bootstrap_brokers,
        "repositoryUrls": target.registry.repository_urls,
        "roleArns": {name: role.arn for name, role in target.roles.items()},
    }
    if target.runner is not None:
        outputs["layerDigest"] = layer_digest(config.model_dump(by_alias=True))
        outputs["deployRunner"] = {
            "project": target.runner.project_name,
            "region": config.region,
            "sourceBucket": target.storage.bucket_name,
            "sourcePrefix": SOURCE_PREFIX,
            "logGroup": target.runner.log_group_name,
            "roleArn": target.runner.role_arn,
        }
    return outputs


def aws_contract(
    config: StackConfig,
    provider: pulumi.ProviderResource,
    bootstrap_brokers: pulumi.Input[str],
    bucket_name: pulumi.Input[str],
    repository_urls: dict[str, pulumi.Input[str]],
    pools: list[GpuPoolInfo],
    depends_on: list[pulumi.Resource],
) -> PlatformContract:
    """What the Kubernetes layer gets from AWS: IAM everywhere, so no secrets to hand over. The
    values come from this stack's resources (layer all) or the cloud stack's outputs.

    `pools` (the target-independent view of `config.gpu_pools`) are replaced by what their EKS
    nodes really carry (`aws_gpu_pool_info`): a pool mixing GPU models has no `gpu-model` label,
    a Bottlerocket pool is `device_plugin_builtin`. The workloads wait for `depends_on` (in layer
    all, every Pod Identity association with it)."""
    by_name = {p.name: aws_gpu_pool_info(p) for p in config.gpu_pools}
    return PlatformContract(
        target="aws",
        provider=provider,
        kubernetes_version=config.kubernetes_version,
        kafka=KafkaAccess(
            bootstrap_servers=bootstrap_brokers,
            auth="aws-iam",
            partitions=config.scorer_max_replicas,
        ),
        object_store=ObjectStoreAccess(
            bucket=bucket_name, credentials="pod-identity", region=config.region
        ),
        images=dict(repository_urls),
        gpu_pools=[by_name.get(p.name, p) for p in pools],
        service_accounts={**WORKLOADS, TOPIC_ADMIN.name: TOPIC_ADMIN},
        depends_on=list(depends_on),
    )
