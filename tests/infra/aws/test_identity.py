"""Workload identity: least-privilege policies (parsed as JSON), one Pod Identity role each."""

from __future__ import annotations

import json

import pytest

from infra.aws.identity import autoscaler_policy, keda_policy, workload_policy
from infra.contract import LAG_SCALED, WORKLOADS

BUCKET = "arn:aws:s3:::ascent-data"
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
MSK = "arn:aws:kafka:us-east-1:123456789012:cluster/ascent/uuid-1"


def _statements(doc):
    return doc["Statement"]


def _actions(stmt):
    return [stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"]


def _resources(stmt):
    return [stmt["Resource"]] if isinstance(stmt["Resource"], str) else stmt["Resource"]


def assert_least_privilege(doc):
    for stmt in _statements(doc):
        assert stmt["Effect"] == "Allow"
        assert not any(a == "*" or a.endswith(":*") for a in _actions(stmt)), stmt
        if "*" in _resources(stmt):  # only where AWS offers no scoping, or under a condition
            assert "Condition" in stmt or all(
                a.split(":")[1].startswith(("Describe", "Get")) for a in _actions(stmt)
            ), stmt


def test_trainer_policy_is_scoped_to_its_prefixes_topics_and_group():
    doc = workload_policy(WORKLOADS["trainer"], BUCKET, KEY, MSK)
    assert_least_privilege(doc)
    by_sid = {s["Sid"]: s for s in _statements(doc)}
    assert set(by_sid["WriteObjects"]["Resource"]) == {
        f"{BUCKET}/datasets/*",
        f"{BUCKET}/checkpoints/*",
        f"{BUCKET}/models/*",
        f"{BUCKET}/dead-letters/*",  # dead letters too large for a Kafka record
    }
    assert by_sid["ReadTopics"]["Resource"] == [  # the feature stage's batches, or raw records
        "arn:aws:kafka:us-east-1:123456789012:topic/ascent/uuid-1/features",
        "arn:aws:kafka:us-east-1:123456789012:topic/ascent/uuid-1/transactions",
    ]
    assert by_sid["WriteTopics"]["Resource"] == [
        "arn:aws:kafka:us-east-1:123456789012:topic/ascent/uuid-1/transactions-dlq"
    ]
    assert by_sid["OwnGroup"]["Resource"] == (
        "arn:aws:kafka:us-east-1:123456789012:group/ascent/uuid-1/trainer"
    )


def test_inference_reads_models_only_and_has_no_kafka():
    doc = workload_policy(WORKLOADS["inference"], BUCKET, KEY, MSK)
    assert_least_privilege(doc)
    actions = {a for s in _statements(doc) for a in _actions(s)}
    assert not any(a.startswith("kafka-cluster:") for a in actions)
    assert "s3:PutObject" not in actions
    read = next(s for s in _statements(doc) if s["Sid"] == "ReadObjects")
    assert read["Resource"] == [f"{BUCKET}/models/*"]


def test_scorer_writes_scores_and_dlq_and_uses_its_group():
    doc = workload_policy(WORKLOADS["scorer"], BUCKET, KEY, MSK)
    by_sid = {s["Sid"]: s for s in _statements(doc)}
    assert [r.rsplit("/", 1)[1] for r in by_sid["WriteTopics"]["Resource"]] == [
        "fraud-scores",
        "transactions-dlq",
    ]
    assert by_sid["OwnGroup"]["Resource"].endswith(":group/ascent/uuid-1/fraud-scores")


def test_scorer_writes_only_dead_letters_to_the_bucket():
    doc = workload_policy(WORKLOADS["scorer"], BUCKET, KEY, MSK)
    assert_least_privilege(doc)
    by_sid = {s["Sid"]: s for s in _statements(doc)}
    assert by_sid["WriteObjects"]["Resource"] == [f"{BUCKET}/dead-letters/*"]
    assert by_sid["ReadObjects"]["Resource"] == [f"{BUCKET}/models/*"]


def test_the_feature_stage_turns_transactions_into_features_under_its_own_group():
    doc = workload_policy(WORKLOADS["features"], BUCKET, KEY, MSK)
    assert_least_privilege(doc)
    by_sid = {s["Sid"]: s for s in _statements(doc)}
    topic = "arn:aws:kafka:us-east-1:123456789012:topic/ascent/uuid-1/"
    assert by_sid["ReadTopics"]["Resource"] == [topic + "transactions"]
    assert by_sid["WriteTopics"]["Resource"] == [topic + "features", topic + "transactions-dlq"]
    assert by_sid["OwnGroup"]["Resource"].endswith(":group/ascent/uuid-1/features")
    assert "kafka-cluster:WriteDataIdempotently" in by_sid["Connect"]["Action"]
    assert by_sid["WriteObjects"]["Resource"] == [f"{BUCKET}/dead-letters/*"]
    assert "ReadObjects" not in by_sid  # it reads no model, no dataset
    assert by_sid["ListOwnPrefixes"]["Condition"]["StringLike"]["s3:prefix"] == ["dead-letters/*"]


def test_keda_may_describe_the_groups_and_topics_it_scales_on_and_nothing_else():
    topics = sorted(set(LAG_SCALED.values()))
    groups = sorted(str(WORKLOADS[w].group) for w in LAG_SCALED)
    assert (topics, groups) == (["transactions"], ["features", "fraud-scores"])
    doc = keda_policy(MSK, topics, groups)
    assert_least_privilege(doc)
    by_sid = {s["Sid"]: s for s in _statements(doc)}
    assert by_sid["DescribeTopic"]["Resource"] == [
        "arn:aws:kafka:us-east-1:123456789012:topic/ascent/uuid-1/transactions"
    ]
    assert by_sid["DescribeGroup"]["Resource"] == [
        "arn:aws:kafka:us-east-1:123456789012:group/ascent/uuid-1/features",
        "arn:aws:kafka:us-east-1:123456789012:group/ascent/uuid-1/fraud-scores",
    ]
    actions = {a for s in _statements(doc) for a in _actions(s)}
    assert not {a for a in actions if "Data" in a or "Alter" in a}


def test_autoscaler_policy_resizes_only_its_own_groups():
    doc = autoscaler_policy("ascent-x", "arn:aws:eks:us-east-1:1:nodegroup/ascent-x")
    assert_least_privilege(doc)
    resize = next(s for s in _statements(doc) if s["Sid"] == "ResizeOwnGroups")
    cond = resize["Condition"]["StringEquals"]
    assert cond == {"aws:ResourceTag/k8s.io/cluster-autoscaler/ascent-x": "owned"}


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_each_workload_has_a_bound_role_with_a_least_privilege_policy(inventories, stack):
    inv = inventories[stack]
    bindings = {r.inputs["serviceAccount"]: r.inputs for r in
                inv.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}  # fmt: skip
    assert set(bindings) == {
        "trainer",
        "inference",
        "scorer",
        "features",
        "cluster-autoscaler",
        "keda-operator",
        "topic-admin",
    }
    assert bindings["trainer"]["namespace"] == "training"
    assert bindings["features"]["namespace"] == "training"
    assert bindings["topic-admin"]["namespace"] == "ascent-system"
    assert bindings["keda-operator"]["namespace"] == "keda"
    assert bindings["cluster-autoscaler"]["namespace"] == "kube-system"
    for policy in inv.of_type("aws:iam/rolePolicy:RolePolicy"):
        assert_least_privilege(json.loads(policy.inputs["policy"]))
    for role in inv.of_type("aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"]["Service"] in {
            "pods.eks.amazonaws.com",
            "eks.amazonaws.com",
            "ec2.amazonaws.com",
            "codebuild.amazonaws.com",  # the deploy runner (a cloud layer's)
        }
        if trust["Principal"]["Service"] == "pods.eks.amazonaws.com":
            tags = trust["Condition"]["StringEquals"]
            assert tags["aws:RequestTag/eks-cluster-name"] == f"ascent-{stack}"
            sa = tags["aws:RequestTag/kubernetes-service-account"]
            assert bindings[sa]["namespace"] == tags["aws:RequestTag/kubernetes-namespace"]


def test_least_privilege_check_catches_wildcards():
    with pytest.raises(AssertionError):
        assert_least_privilege({"Statement": [{"Effect": "Allow", "Action": "s3:*",
                                               "Resource": BUCKET}]})  # fmt: skip
    with pytest.raises(AssertionError):
        assert_least_privilege({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
                                               "Resource": "*"}]})  # fmt: skip
