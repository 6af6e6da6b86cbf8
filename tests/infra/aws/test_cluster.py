"""The EKS control plane: endpoint access, secrets encryption, logs, admins, add-ons, provider."""

from __future__ import annotations

import json

import pytest

from infra.aws.cluster import kubeconfig
from infra.catalog import EKS_ADDON_VERSIONS

ADMIN = "arn:aws:iam::111122223333:role/platform-admin"


def _eks(inv):
    return inv.named("cluster-eks").inputs


def test_prod_endpoint_is_private_only(inventories):
    vpc = _eks(inventories["aws-prod"])["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc


def test_dev_endpoint_is_public_only_to_configured_cidrs(inventories):
    vpc = _eks(inventories["aws-dev"])["vpcConfig"]
    assert (vpc["endpointPrivateAccess"], vpc["endpointPublicAccess"]) == (True, True)
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]


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
    inv = run_stack("aws-dev", clusterAdminArns=[ADMIN, ADMIN.replace("platform", "sre")])
    entries = inv.of_type("aws:eks/accessEntry:AccessEntry")
    assert sorted(e.inputs["principalArn"] for e in entries) == sorted(
        [ADMIN, ADMIN.replace("platform", "sre")]
    )
    for assoc in inv.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
        assert assoc.inputs["policyArn"].endswith("AmazonEKSClusterAdminPolicy")
        assert assoc.inputs["accessScope"] == {"type": "cluster"}


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
