"""The EKS control plane: KMS-encrypted secrets, audit logs, API access entries, pinned managed
add-ons, and the explicit Kubernetes provider every Kubernetes resource uses.

Workload identity is EKS Pod Identity (the eks-pod-identity-agent add-on), used everywhere: no
OIDC provider, no IRSA annotations.

Cluster admins come only from explicit access entries. The cluster is created with
`bootstrapClusterCreatorAdminPermissions` false, so EKS makes no hidden entry for its creator (with
it true, naming the deployer in `clusterAdminArns` failed with 409 ResourceInUseException: EKS had
already made that principal's entry). Every principal of `clusterAdminArns`, plus the identity
running `pulumi up` (for an assumed role, the role: an STS session cannot hold an entry), gets one
entry and the cluster-admin policy, each principal once, named by its ARN; the Kubernetes provider
waits for them, so the very first `pulumi up` from an empty account can create the Kubernetes
layer without any config. List every identity that deploys (the CI role, the operators' SSO
role) in `clusterAdminArns`: an unlisted deployer's entry lasts only until another identity runs
`pulumi up`, which replaces it with its own. Moving the deployer into the list renames nothing.

A cluster created before this change keeps its creator's EKS-made entry (the flag is ignored on
update: changing it would replace the cluster); if `pulumi up` then reports 409 for the creator's
`cluster-admin-...` entry, adopt EKS's with `pulumi import aws:eks/accessEntry:AccessEntry NAME
CLUSTER:ARN` (and `aws:eks/accessPolicyAssociation:AccessPolicyAssociation NAME
CLUSTER#ARN#POLICY_ARN`) once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.aws.naming import stable_suffix
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


# aws-node (vpc-cni) uses the node role: it must assign pod IPs before the pod identity agent,
# itself a pod, can serve credentials to anything.
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonEKS_CNI_Policy",
)


def node_role(
    name: str, opts: pulumi.ResourceOptions, role_name: str | None = None
) -> aws.iam.Role:
    """An EC2 node role (`{name}-node-role`) with the AWS policies every EKS node needs."""
    role = aws.iam.Role(
        f"{name}-node-role",
        name=role_name,
        assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
        opts=opts,
    )
    for policy in NODE_POLICIES:
        aws.iam.RolePolicyAttachment(
            f"{name}-node-{policy}",
            role=role.name,
            policy_arn=f"arn:aws:iam::aws:policy/{policy}",
            opts=opts,
        )
    return role


def cluster_admins(listed: Sequence[str], deployer: str | None) -> list[str]:
    """Every principal granted cluster-admin, once each, sorted: `clusterAdminArns` plus the
    identity running `pulumi up` (None: none added)."""
    return sorted({*listed, *([deployer] if deployer else [])})


def admin_resource_name(name: str, arn: str) -> str:
    """The logical name of `arn`'s access entry (and policy association): by the ARN, so adding,
    removing or reordering admins never renames (replaces) another's, and a deployer added
    automatically keeps its name once it is listed in `clusterAdminArns`."""
    return f"{name}-admin-{stable_suffix(arn, drop_prefix='arn:aws:iam::')}"


def deployer_arn(opts: pulumi.InvokeOptions) -> str:
    """The IAM principal running the program: an IAM user's ARN, or for an assumed role (CI,
    SSO) the role's ARN with its path (`aws.iam.get_session_context`), not the STS session."""
    caller = aws.get_caller_identity(opts=opts)
    session = aws.iam.get_session_context(arn=caller.arn, opts=opts)
    return session.issuer_arn or caller.arn


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
    admin_deployer: bool = True  # also grant the identity running `pulumi up` (see module doc)
    log_retention_days: int = 90
    kubernetes_provider: bool = True  # False in the cloud layer: it sends nothing to the API


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
                # admins, the deployer included, come only from the access entries below
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            # the managed add-ons below replace the self-managed ones EKS would install
            bootstrap_self_managed_addons=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[logs],
                # only read at creation; a change would replace the cluster (see module doc)
                ignore_changes=["accessConfig.bootstrapClusterCreatorAdminPermissions"],
            ),
        )
        deployer = deployer_arn(pulumi.InvokeOptions(parent=self)) if args.admin_deployer else None
        self.admin_arns = cluster_admins(args.admin_arns, deployer)
        # the names entries had when they were numbered by their place in `clusterAdminArns`
        numbered = {arn: i for i, arn in reversed(list(enumerate(args.admin_arns)))}
        self.admin_access: list[aws.eks.AccessPolicyAssociation] = []
        for arn in self.admin_arns:
            res = admin_resource_name(name, arn)
            old = [pulumi.Alias(name=f"{name}-admin-{numbered[arn]}")] if arn in numbered else []
            entry = aws.eks.AccessEntry(
                res,
                cluster_name=self.eks.name,
                principal_arn=arn,
                opts=pulumi.ResourceOptions(parent=self, aliases=old),
            )
            self.admin_access.append(
                aws.eks.AccessPolicyAssociation(
                    res,
                    cluster_name=self.eks.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=ADMIN_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=pulumi.ResourceOptions(parent=self, aliases=old),
                )
            )
        self.node_role = node_role(name, child)
        self.name = self.eks.name
        self.arn = self.eks.arn
        self.endpoint = self.eks.endpoint
        self.security_group_id = self.eks.vpc_config.cluster_security_group_id
        config: pulumi.Output[str] = pulumi.Output.all(
            self.eks.name, self.eks.endpoint, self.eks.certificate_authority.data
        ).apply(lambda a: kubeconfig(a[0], a[1], a[2], args.region))
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(config)
        self.provider: k8s.Provider | None = None
        if not args.kubernetes_provider:
            self.register_outputs({"name": self.name, "endpoint": self.endpoint})
            return
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # every Kubernetes resource uses this provider: none is sent before the deployer
            # (and the other admins) may call the API
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.admin_access),
        )
        self.register_outputs({"name": self.name, "endpoint": self.endpoint})


NODE_ADDONS = ("eks-pod-identity-agent", "vpc-cni", "kube-proxy")
"""Installed before any node: a node needs a CNI (and kube-proxy) to become Ready."""
CLUSTER_ADDONS = ("coredns",)
"""Installed once the system pool is up: they run as Deployments."""
ADDON_CONFIGURATION: dict[str, dict[str, str]] = {
    # the VPC CNI's network policy agent enforces NetworkPolicies (the namespaces' default deny);
    # without it they are accepted and ignored. Key and string value per the add-on's schema
    # (`aws eks describe-addon-configuration --addon-name vpc-cni`).
    "vpc-cni": {"enableNetworkPolicy": "true"},
}
"""`configurationValues` of the managed add-ons that need any, as JSON objects."""


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
                configuration_values=(
                    json.dumps(ADDON_CONFIGURATION[addon]) if addon in ADDON_CONFIGURATION else None
                ),
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
