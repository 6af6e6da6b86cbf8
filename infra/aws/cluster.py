"""The EKS control plane: KMS-encrypted secrets, audit logs, API access entries, pinned managed
add-ons, and the explicit Kubernetes provider every Kubernetes resource uses.

Workload identity is EKS Pod Identity (the eks-pod-identity-agent add-on), used everywhere: no
OIDC provider, no IRSA annotations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.catalog import EKS_ADDON_VERSIONS

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator"]
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


def assume_role_policy(service: str, tag_session: bool = False) -> str:
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}
            ],
        }
    )


def kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (the caller's credentials)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {"server": endpoint, "certificate-authority-data": ca_data},
                }
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                        }
                    },
                }
            ],
        }
    )


@dataclass(frozen=True)
class ClusterArgs:
    cluster_name: str
    region: str
    kubernetes_version: str
    subnet_ids: Sequence[pulumi.Input[str]]
    public_access_cidrs: list[str]
    admin_arns: list[str]
    log_retention_days: int = 90


class Cluster(pulumi.ComponentResource):
    """EKS control plane, its roles and key, the node role, and the Kubernetes provider."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:aws:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"EKS secrets envelope encryption for {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role", assume_role_policy=assume_role_policy("eks.amazonaws.com"), opts=child
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-role-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        public = bool(args.public_access_cidrs)
        self.eks = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=args.public_access_cidrs if public else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
            ),
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # whoever runs `pulumi up` needs the API to create the Kubernetes layer
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            # the managed add-ons below replace the self-managed ones EKS would install
            bootstrap_self_managed_addons=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )
        for i, arn in enumerate(args.admin_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{i}", cluster_name=self.eks.name, principal_arn=arn, opts=child
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}",
                cluster_name=self.eks.name,
                principal_arn=entry.principal_arn,
                policy_arn=ADMIN_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child,
            )
        self.node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            opts=child,
        )
        # aws-node (vpc-cni) uses the node role: it must assign pod IPs before the pod identity
        # agent, itself a pod, can serve credentials to anything.
        for policy in (
            "AmazonEKSWorkerNodePolicy",
            "AmazonEC2ContainerRegistryPullOnly",
            "AmazonEKS_CNI_Policy",
        ):
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=self.node_role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=child,
            )
        self.name = self.eks.name
        self.arn = self.eks.arn
        self.endpoint = self.eks.endpoint
        self.security_group_id = self.eks.vpc_config.cluster_security_group_id
        config: pulumi.Output[str] = pulumi.Output.all(
            self.eks.name, self.eks.endpoint, self.eks.certificate_authority.data
        ).apply(lambda a: kubeconfig(a[0], a[1], a[2], args.region))
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(config)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=child,
        )
        self.register_outputs({"name": self.name, "endpoint": self.endpoint})


NODE_ADDONS = ("eks-pod-identity-agent", "vpc-cni", "kube-proxy")
"""Installed before any node: a node needs a CNI (and kube-proxy) to become Ready."""
CLUSTER_ADDONS = ("coredns",)
"""Installed once the system pool is up: they run as Deployments."""


class ManagedAddons(pulumi.ComponentResource):
    """EKS managed add-ons at the versions pinned in the catalog for the cluster's Kubernetes."""

    def __init__(
        self,
        name: str,
        cluster_name: pulumi.Input[str],
        kubernetes_version: str,
        addons: tuple[str, ...],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ascent:aws:ManagedAddons", name, None, opts)
        versions = EKS_ADDON_VERSIONS[kubernetes_version]
        for addon in addons:
            aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=cluster_name,
                addon_name=addon,
                addon_version=versions[addon],
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
