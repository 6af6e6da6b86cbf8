"""infra.aws.kafka: MSK reachable only from the nodes, IAM over TLS, encrypted, logged, scaled."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infra.aws.kafka import (
    IAM_PORT,
    Kafka,
    KafkaArgs,
    group_arn,
    server_properties,
    topic_arn,
)
from infra.offline import Inventory, Resource, run_function

NODES_SG = "sg-eks-nodes"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/ascent-events/4f1c-9a7e-2"


def kafka_args(**changes: Any) -> KafkaArgs:
    base = KafkaArgs(
        mode="provisioned",
        version="3.9.x",
        broker_instance_type="kafka.m7g.large",
        brokers=3,
        volume_size_gb=100,
        environment="prod",
        vpc_id="vpc-123",
        subnet_ids=SUBNETS,
        client_security_group_id=NODES_SG,
    )
    return dataclasses.replace(base, **changes)


def run(**changes: Any) -> Inventory:
    def program() -> dict[str, Any]:
        kafka = Kafka("events", kafka_args(**changes))
        return {"securityGroupId": kafka.security_group_id, "clusterArn": kafka.cluster_arn}

    return run_function(program)


def one(inv: Inventory, type_token: str) -> Resource:
    found = inv.of_type(type_token)
    assert len(found) == 1, f"{len(found)} x {type_token}"
    return found[0]


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


@pytest.fixture(scope="module")
def prod() -> Inventory:
    return run()


@pytest.fixture(scope="module")
def serverless() -> Inventory:
    return run(mode="serverless", environment="dev", brokers=2)


# --- security group: the nodes may reach the IAM listener, nothing else may reach anything ---


@pytest.mark.parametrize("mode", ["provisioned", "serverless"])
def test_only_the_nodes_reach_the_iam_port(mode):
    inv = run(mode=mode)
    sg = one(inv, "aws:ec2/securityGroup:SecurityGroup")
    assert sg.inputs["vpcId"] == "vpc-123"
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs  # no inline rules to fight
    ingress = one(inv, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress.inputs["securityGroupId"] == f"{sg.name}-id"
    assert ingress.inputs["ipProtocol"] == "tcp"
    assert ingress.inputs["fromPort"] == ingress.inputs["toPort"] == IAM_PORT == 9098
    assert ingress.inputs["referencedSecurityGroupId"] == NODES_SG
    assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(ingress.inputs)
    egress = one(inv, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert egress.inputs["securityGroupId"] == f"{sg.name}-id"
    assert inv.outputs["securityGroupId"] == f"{sg.name}-id"


def test_every_child_is_parented_and_named_after_the_component(prod):
    component = one(prod, "ascent:aws:Kafka")
    children = [r for r in prod.resources if r is not component]
    assert children
    for res in children:
        assert res.parent == component.urn, res.name
        assert res.name.startswith("events-"), res.name


# --- provisioned cluster ---


def test_provisioned_cluster_is_sized_from_args(prod):
    cluster = one(prod, "aws:msk/cluster:Cluster").inputs
    assert cluster["kafkaVersion"] == "3.9.x"
    assert cluster["numberOfBrokerNodes"] == 3
    nodes = cluster["brokerNodeGroupInfo"]
    assert nodes["instanceType"] == "kafka.m7g.large"
    assert nodes["clientSubnets"] == SUBNETS
    assert nodes["securityGroups"] == ["events-sg-id"]
    assert nodes["storageInfo"]["ebsStorageInfo"]["volumeSize"] == 100
    assert not prod.of_type("aws:msk/serverlessCluster:ServerlessCluster")


def test_tls_only_in_transit_and_kms_at_rest(prod):
    encryption = one(prod, "aws:msk/cluster:Cluster").inputs["encryptionInfo"]
    assert encryption["encryptionInTransit"] == {"clientBroker": "TLS", "inCluster": True}
    key = one(prod, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert encryption["encryptionAtRestKmsKeyArn"].endswith(key.name)  # the key's ARN


def test_iam_auth_on_and_unauthenticated_access_off(prod):
    auth = one(prod, "aws:msk/cluster:Cluster").inputs["clientAuthentication"]
    assert auth["sasl"]["iam"] is True
    assert auth["unauthenticated"] is False
    assert not auth["sasl"].get("scram") and "tls" not in auth


def test_broker_logs_go_to_a_retained_log_group(prod):
    logs = one(prod, "aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["retentionInDays"] == 30
    broker_logs = one(prod, "aws:msk/cluster:Cluster").inputs["loggingInfo"]["brokerLogs"]
    assert broker_logs["cloudwatchLogs"] == {"enabled": True, "logGroup": logs.name}


def test_log_retention_follows_args():
    logs = one(run(log_retention_days=7), "aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["retentionInDays"] == 7


def test_prometheus_exporters_are_on(prod):
    prometheus = one(prod, "aws:msk/cluster:Cluster").inputs["openMonitoring"]["prometheus"]
    assert prometheus["jmxExporter"]["enabledInBroker"] is True
    assert prometheus["nodeExporter"]["enabledInBroker"] is True


@pytest.mark.parametrize(("environment", "brokers"), [("prod", 3), ("dev", 2), ("prod", 6)])
def test_cluster_uses_its_own_configuration(environment, brokers):
    inv = run(environment=environment, brokers=brokers)
    config = one(inv, "aws:msk/configuration:Configuration")
    assert config.inputs["kafkaVersions"] == ["3.9.x"]
    assert config.inputs["serverProperties"] == server_properties(environment, brokers)
    info = one(inv, "aws:msk/cluster:Cluster").inputs["configurationInfo"]
    assert info["arn"].endswith(config.name)


def test_storage_autoscaling_tracks_utilisation(prod):
    target = one(prod, "aws:appautoscaling/target:Target").inputs
    assert target["serviceNamespace"] == "kafka"
    assert target["scalableDimension"] == "kafka:broker-storage:VolumeSize"
    assert target["minCapacity"] == 1
    assert target["maxCapacity"] == 400  # 4 x 100 GiB
    assert target["resourceId"] == prod.outputs["clusterArn"]
    policy = one(prod, "aws:appautoscaling/policy:Policy").inputs
    assert policy["policyType"] == "TargetTrackingScaling"
    assert policy["resourceId"] == target["resourceId"]
    assert policy["scalableDimension"] == target["scalableDimension"]
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 60
    assert tracking["predefinedMetricSpecification"] == {
        "predefinedMetricType": "KafkaBrokerStorageUtilization"
    }


def test_storage_ceiling_is_capped_at_the_msk_maximum():
    target = one(run(volume_size_gb=10000), "aws:appautoscaling/target:Target")
    assert target.inputs["maxCapacity"] == 16384


# --- serverless ---


def test_serverless_has_iam_auth_and_nothing_provisioned(serverless):
    cluster = one(serverless, "aws:msk/serverlessCluster:ServerlessCluster").inputs
    assert cluster["clientAuthentication"] == {"sasl": {"iam": {"enabled": True}}}
    assert cluster["vpcConfigs"] == [{"subnetIds": SUBNETS, "securityGroupIds": ["events-sg-id"]}]
    for absent in (
        "aws:msk/cluster:Cluster",
        "aws:msk/configuration:Configuration",
        "aws:kms/key:Key",
        "aws:appautoscaling/target:Target",
        "aws:appautoscaling/policy:Policy",
    ):
        assert not serverless.of_type(absent), absent


# --- argument validation ---


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"brokers": 0}, "brokers"),
        ({"volume_size_gb": 0}, "volume_size_gb"),
        ({"volume_size_gb": 16385}, "volume_size_gb"),
        ({"mode": "dedicated"}, "mode"),
        ({"environment": "staging"}, "environment"),
        ({"version": ""}, "version"),
        ({"broker_instance_type": "m7g.large"}, "broker_instance_type"),
        ({"log_retention_days": 10}, "log_retention_days"),
    ],
)
def test_bad_args_fail_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=rf"KafkaArgs\.{field} must be"):
        kafka_args(**changes)


# --- pure helpers ---


@pytest.mark.parametrize(
    ("environment", "brokers", "replication", "min_insync", "partitions"),
    [
        ("prod", 3, "3", "2", "6"),
        ("prod", 6, "3", "2", "6"),
        ("prod", 2, "2", "1", "6"),
        ("dev", 3, "3", "2", "3"),
        ("dev", 2, "2", "1", "3"),
        ("dev", 1, "1", "1", "3"),
    ],
)
def test_server_properties(environment, brokers, replication, min_insync, partitions):
    props = parse_properties(server_properties(environment, brokers))
    assert props["auto.create.topics.enable"] == "false"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["default.replication.factor"] == replication
    assert props["offsets.topic.replication.factor"] == replication
    assert props["transaction.state.log.replication.factor"] == replication
    assert props["min.insync.replicas"] == min_insync
    assert props["transaction.state.log.min.isr"] == min_insync
    assert props["num.partitions"] == partitions


@pytest.mark.parametrize(
    ("helper", "name", "expected"),
    [
        (topic_arn, "transactions", "topic/ascent-events/4f1c-9a7e-2/transactions"),
        (topic_arn, "*", "topic/ascent-events/4f1c-9a7e-2/*"),
        (group_arn, "trainer", "group/ascent-events/4f1c-9a7e-2/trainer"),
        (group_arn, "fraud-scores", "group/ascent-events/4f1c-9a7e-2/fraud-scores"),
    ],
)
def test_topic_and_group_arns(helper, name, expected):
    assert helper(CLUSTER, name) == f"arn:aws:kafka:us-east-1:123456789012:{expected}"


def test_arns_keep_the_partition():
    cn = "arn:aws-cn:kafka:cn-north-1:123456789012:cluster/c/u"
    assert topic_arn(cn, "t") == "arn:aws-cn:kafka:cn-north-1:123456789012:topic/c/u/t"


@pytest.mark.parametrize(
    "cluster",
    [
        "arn:aws:kafka:us-east-1:123456789012:topic/ascent-events/4f1c/t",
        "arn:aws:kafka:us-east-1:123456789012:cluster/ascent-events",
        "arn:aws:s3:::bucket",
        "ascent-events",
    ],
)
def test_arn_helpers_refuse_what_is_not_a_cluster_arn(cluster):
    with pytest.raises(ValueError, match="not an MSK cluster ARN"):
        topic_arn(cluster, "transactions")


@pytest.mark.parametrize("name", ["", "a/b"])
def test_arn_helpers_refuse_bad_names(name):
    with pytest.raises(ValueError, match="group name"):
        group_arn(CLUSTER, name)
