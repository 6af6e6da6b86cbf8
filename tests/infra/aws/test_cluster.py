"""The EKS control plane: endpoint access, secrets encryption, logs, admins, add-ons, provider."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pulumi
import pytest

from infra.aws import cluster as cluster_module
from infra.aws.cluster import admin_resource_name, cluster_admins, deployer_arn, kubeconfig
from infra.catalog import EKS_ADDON_VERSIONS
from infra.offline import MOCK_ACCOUNT

ADMIN = "arn:aws:iam::111122223333:role/platform-admin"
SRE = ADMIN.replace("platform", "sre")
DEPLOYER = f"arn:aws:iam::{MOCK_ACCOUNT}:user/ci"  # the caller identity the offline mocks report
RUNNER = f"arn:aws:iam::{MOCK_ACCOUNT}:role/deploy-runner-role-mock"  # a cloud layer's deployer
ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def _entries(inv) -> dict[str, str]:
    """principal ARN -> logical name of its access entry (each principal at most once), but the
    deploy runner's (tests/infra/aws/test_runner.py)."""
    entries = [e for e in inv.of_type(ENTRY) if e.name != "deploy-runner-access"]
    arns = [e.inputs["principalArn"] for e in entries]
    assert len(arns) == len(set(arns)), f"a principal has two access entries: {arns}"
    return {e.inputs["principalArn"]: e.name for e in entries}


def _eks(inv):
    return inv.named("cluster-eks").inputs


def test_prod_endpoint_is_private_only(inventories):
    vpc = _eks(inventories["aws-prod"])["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc


def test_dev_endpoint_is_private_unless_cidrs_are_configured(inventories, run_stack):
    """Issue 17: aws-dev shipped 203.0.113.0/24 (a documentation range) as its only public
    CIDR; it is private now and deployed by its runner like prod."""
    vpc = _eks(inventories["aws-dev"])["vpcConfig"]
    assert (vpc["endpointPrivateAccess"], vpc["endpointPublicAccess"]) == (True, False)
    vpn = "198.51.100.0/24"
    vpc = _eks(run_stack("aws-dev", clusterEndpointPublicCidrs=[vpn]))["vpcConfig"]
    assert (vpc["endpointPrivateAccess"], vpc["endpointPublicAccess"]) == (True, True)
    assert vpc["publicAccessCidrs"] == [vpn]


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_secrets_encryption_logs_auth_mode_version(inventories, stack):
    inv = inventories[stack]
    eks = _eks(inv)
    key = inv.named("cluster-secrets-key").inputs
    assert key["enableKeyRotation"] is True
    assert eks["encryptionConfig"]["resources"] == ["secrets"]
    assert eks["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert {"api", "audit", "authenticator"} <= set(eks["enabledClusterLogTypes"])
    assert eks["accessConfig"]["authenticationMode"] == "API"
    assert eks["version"] == "1.35"
    assert eks["upgradePolicy"]["supportType"] == "STANDARD"
    assert set(eks["vpcConfig"]["subnetIds"]) == {
        f"network-private-{i}-id" for i in range(len(eks["vpcConfig"]["subnetIds"]))
    }


def test_managed_addons_are_pinned(inventories):
    addons = {r.inputs["addonName"]: r.inputs for r in
              inventories["aws-prod"].of_type("aws:eks/addon:Addon")}  # fmt: skip
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}
    for name, addon in addons.items():
        assert addon["addonVersion"] == EKS_ADDON_VERSIONS["1.35"][name]


def test_nodes_wait_for_the_cluster_and_the_cni(inventories):
    inv = inventories["aws-prod"]
    eks = inv.named("cluster-eks")
    cni = inv.named("addons-node-vpc-cni")
    dns = inv.named("addons-dns-coredns")
    for group in inv.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert inv.depends_on(group, eks), group.name
        assert inv.depends_on(group, cni), group.name
    assert inv.depends_on(dns, inv.named("system-ng"))


def test_extra_admins_get_access_entries(run_stack):
    inv = run_stack("aws-dev", clusterAdminArns=[ADMIN, SRE])
    assert sorted(_entries(inv)) == sorted([ADMIN, SRE, DEPLOYER])
    assocs = [a for a in inv.of_type(ASSOCIATION) if a.name != "deploy-runner-access"]
    assert sorted(a.inputs["principalArn"] for a in assocs) == sorted([ADMIN, SRE, DEPLOYER])
    for assoc in assocs:
        assert assoc.inputs["policyArn"].endswith("AmazonEKSClusterAdminPolicy")
        assert assoc.inputs["accessScope"] == {"type": "cluster"}


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_admins_come_only_from_explicit_entries_the_deployer_included(inventories, stack):
    """No hidden creator entry: the first `pulumi up` from an empty account still reaches the
    API, through the deployer's own entry."""
    inv = inventories[stack]
    assert _eks(inv)["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    assert list(_entries(inv)) == [DEPLOYER]


def test_a_deployer_listed_in_cluster_admin_arns_gets_one_entry(run_stack, inventories):
    """Issue 17: EKS had made the creator's entry itself, so listing the deployer gave a 409."""
    inv = run_stack("aws-dev", clusterAdminArns=[DEPLOYER, ADMIN])
    assert _eks(inv)["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    entries = _entries(inv)
    assert sorted(entries) == sorted([DEPLOYER, ADMIN])
    assert len(inv.of_type(ASSOCIATION)) == 3  # and the deploy runner's
    # listing the deployer later renames (replaces) nothing
    assert entries[DEPLOYER] == _entries(inventories["aws-dev"])[DEPLOYER]


def test_admin_entries_are_named_by_principal_not_position(run_stack):
    one, two = (
        run_stack("aws-dev", clusterAdminArns=[ADMIN]),
        run_stack("aws-dev", clusterAdminArns=[SRE, ADMIN]),
    )
    assert _entries(one)[ADMIN] == _entries(two)[ADMIN] == admin_resource_name("cluster", ADMIN)
    assert _entries(two)[SRE] != _entries(two)[ADMIN]


def test_numbered_admin_entries_of_earlier_releases_are_renamed_in_place(run_with_options):
    _, options = run_with_options("aws-dev", clusterAdminArns=[ADMIN, SRE])
    for typ in (ENTRY, ASSOCIATION):
        aliases = {
            arn: [a.name for a in options[(typ, admin_resource_name("cluster", arn))].aliases]
            for arn in (ADMIN, SRE, DEPLOYER)
        }
        assert aliases == {ADMIN: ["cluster-admin-0"], SRE: ["cluster-admin-1"], DEPLOYER: []}


def test_the_creator_flag_never_replaces_an_existing_cluster(run_with_options):
    _, options = run_with_options("aws-prod")
    ignored = options[("aws:eks/cluster:Cluster", "cluster-eks")].ignore_changes
    assert "accessConfig.bootstrapClusterCreatorAdminPermissions" in (ignored or [])


def test_the_kubernetes_provider_waits_for_every_admin_access(run_stack):
    inv = run_stack("aws-dev", layer="all", clusterAdminArns=[ADMIN])
    provider = inv.named("cluster-k8s")
    assocs = inv.of_type(ASSOCIATION)
    assert len(assocs) == 2
    assert all(a.urn in provider.dependencies for a in assocs)


def test_cluster_admins_are_each_principal_once():
    assert cluster_admins([SRE, ADMIN, SRE], ADMIN) == sorted([ADMIN, SRE])
    assert cluster_admins([ADMIN], None) == [ADMIN]
    assert cluster_admins([], DEPLOYER) == [DEPLOYER]


def test_the_deployer_of_an_assumed_role_is_the_role_with_its_path(monkeypatch):
    session = "arn:aws:sts::111122223333:assumed-role/ci/run-42"
    role = "arn:aws:iam::111122223333:role/deploy/ci"
    monkeypatch.setattr(
        cluster_module.aws, "get_caller_identity", lambda opts=None: SimpleNamespace(arn=session)
    )
    monkeypatch.setattr(
        cluster_module.aws.iam,
        "get_session_context",
        lambda arn, opts=None: SimpleNamespace(arn=arn, issuer_arn=role),
    )
    assert deployer_arn(pulumi.InvokeOptions()) == role


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_the_vpc_cni_enforces_network_policies(inventories, stack):
    """Without the network policy agent the namespaces' default-deny policies are inert."""
    addons = {r.inputs["addonName"]: r.inputs for r in
              inventories[stack].of_type("aws:eks/addon:Addon")}  # fmt: skip
    assert json.loads(addons["vpc-cni"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert all("configurationValues" not in a for n, a in addons.items() if n != "vpc-cni")


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_every_kubernetes_resource_uses_the_cluster_provider(inventories, stack):
    inv = inventories[stack]
    provider = inv.named("cluster-k8s")
    assert provider.type == "pulumi:providers:kubernetes"
    k8s = [r for r in inv.custom() if r.type.startswith("kubernetes:")]
    assert k8s, "no Kubernetes resources"
    assert all(r.provider.startswith(provider.urn + "::") for r in k8s)


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_every_aws_resource_uses_the_tagged_provider(inventories, stack):
    inv = inventories[stack]
    provider = inv.named("aws")
    aws = [r for r in inv.custom() if r.type.startswith("aws:")]
    assert len(aws) > 50
    assert all(r.provider.startswith(provider.urn + "::") for r in aws)


def test_kubeconfig_authenticates_with_aws_eks_get_token(inventories):
    inv = inventories["aws-prod"]
    assert "kubeconfig" in inv.secret_outputs
    doc = json.loads(inv.outputs["kubeconfig"])
    exec_ = doc["users"][0]["user"]["exec"]
    assert exec_["command"] == "aws"
    assert exec_["args"][:4] == ["eks", "get-token", "--cluster-name", "ascent-aws-prod"]
    assert doc["clusters"][0]["cluster"]["server"] == inv.outputs["clusterEndpoint"]
    assert json.loads(kubeconfig("c", "https://x", "Y2E=", "eu-west-1"))["current-context"] == "c"
