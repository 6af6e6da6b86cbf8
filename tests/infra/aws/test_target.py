"""The AWS target as a whole: tags, outputs, MSK/S3 wiring, autoscaler, config variations."""

from __future__ import annotations

import json

import pytest

from infra.aws.autoscaler import CHART_VERSION
from infra.tags import deployment_id


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_provider_default_tags(inventories, stack):
    tags = json.loads(inventories[stack].named("aws").inputs["defaultTags"])["tags"]
    assert tags["ascent:deployment-id"] == deployment_id("ascent", stack)
    assert tags["ascent:environment"] == ("prod" if stack == "aws-prod" else "dev")
    assert (tags["owner"], tags["cost-center"]) == ("platform-team", "ai-platform")


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_outputs(inventories, stack):
    out = inventories[stack].outputs
    assert out["clusterName"] == f"ascent-{stack}"
    assert out["clusterEndpoint"].startswith("https://")
    assert out["kafkaBootstrapBrokers"].endswith(":9098")
    assert set(out["repositoryUrls"]) == {"training", "inference"}
    assert set(out["roleArns"]) == {
        "trainer", "inference", "scorer", "features", "keda", "topics", "cluster-autoscaler"
    }  # fmt: skip
    assert set(out["workloads"]) == {"trainer", "inference", "scorer", "features"}
    assert out["bucketName"]


def test_msk_sits_in_private_subnets_behind_the_cluster_security_group(inventories):
    inv = inventories["aws-prod"]
    msk = inv.of_type("aws:msk/cluster:Cluster")[0].inputs
    assert msk["numberOfBrokerNodes"] == 3
    assert set(msk["brokerNodeGroupInfo"]["clientSubnets"]) == {
        f"network-private-{i}-id" for i in range(3)
    }
    ingress = [r for r in inv.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.inputs["securityGroupId"] == "kafka-sg-id"]  # fmt: skip
    assert [(r.inputs["fromPort"], r.inputs["referencedSecurityGroupId"]) for r in ingress] == [
        (9098, "sg-cluster-eks")
    ]


def test_msk_serverless_in_dev(run_stack):
    inv = run_stack("aws-dev", kafkaMode="serverless")
    assert not inv.of_type("aws:msk/cluster:Cluster")
    serverless = inv.of_type("aws:msk/serverlessCluster:ServerlessCluster")
    assert len(serverless) == 1
    assert serverless[0].inputs["clientAuthentication"]["sasl"]["iam"]["enabled"] is True
    assert inv.outputs["kafkaBootstrapBrokers"].endswith(":9098")
    scorer = json.loads(inv.named("scorer-identity-policy").inputs["policy"])
    assert any("kafka-cluster:ReadData" in s["Action"] for s in scorer["Statement"])


def test_force_destroy_only_where_config_allows(inventories):
    assert inventories["aws-dev"].named("storage-bucket").inputs["forceDestroy"] is True
    assert inventories["aws-prod"].named("storage-bucket").inputs["forceDestroy"] is False


def test_cluster_autoscaler_release(inventories):
    inv = inventories["aws-prod"]
    release = inv.of_type("kubernetes:helm.sh/v3:Release")
    ca = next(r for r in release if r.name == "cluster-autoscaler-release")
    assert (ca.inputs["chart"], ca.inputs["version"]) == ("cluster-autoscaler", CHART_VERSION)
    assert ca.inputs["repositoryOpts"]["repo"] == "https://kubernetes.github.io/autoscaler"
    values = ca.inputs["values"]
    assert values["autoDiscovery"]["clusterName"] == "ascent-aws-prod"
    assert values["extraArgs"]["expander"] == "priority,least-waste"
    assert values["expanderPriorities"]["50"] == [".*-spot-.*"]
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert values["image"]["tag"] == "v1.35.0"  # the cluster's minor version


def test_cluster_autoscaler_can_be_turned_off(run_stack):
    inv = run_stack("aws-dev", enableClusterAutoscaler=False)
    releases = {r.inputs["chart"] for r in inv.of_type("kubernetes:helm.sh/v3:Release")}
    assert "cluster-autoscaler" not in releases and "keda" in releases
    sas = {r.inputs["serviceAccount"] for r in
           inv.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}  # fmt: skip
    assert "cluster-autoscaler" not in sas


ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
POD_OWNERS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def _pod_spec(props: dict) -> dict:
    spec = props.get("spec", {})
    template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
    return (template or {}).get("spec", {})


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_pods_start_only_once_their_pod_identity_association_exists(run_stack, stack):
    """A pod started before its service account's association exists gets no AWS credentials
    (the agent answers for associations that existed when the pod started). In one stack
    (layer all) by dependencies; a split stack's cloud layer is deployed before its kubernetes
    layer (tests/infra/test_layers.py)."""
    inv = run_stack(stack, layer="all")
    associations = {
        (a.inputs["namespace"], a.inputs["serviceAccount"]): a for a in inv.of_type(ASSOCIATION)
    }
    checked = set()
    for res in inv.custom():
        if not res.type.startswith("kubernetes:") or res.type.split(":")[-1] not in POD_OWNERS:
            continue
        key = (
            res.inputs["metadata"].get("namespace"),
            _pod_spec(res.inputs).get("serviceAccountName"),
        )
        if key in associations:
            assert inv.depends_on(res, associations[key]), (res.name, key)
            checked.add(key[1])
    assert checked >= {"trainer", "inference", "scorer", "features"}
    keda = next(
        r for r in inv.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "keda"
    )
    assert inv.depends_on(keda, associations[("keda", "keda-operator")])
    autoscaler = inv.named("cluster-autoscaler-release")
    assert inv.depends_on(autoscaler, associations[("kube-system", "cluster-autoscaler")])
