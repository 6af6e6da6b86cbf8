"""The topics bootstrap on MSK: one bounded Job per image tag, under its own identity, that the
workloads using the topics wait for; none on the local target (Strimzi KafkaTopics)."""

from __future__ import annotations

import json

import pytest

from infra.aws.identity import topic_admin_policy
from infra.config import parse_config
from infra.contract import TOPIC_FEATURES, TOPIC_TRANSACTIONS, TOPICS
from infra.offline import stack_config


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_msk_stacks_create_their_topics_with_the_promised_partitions(inventories, stack):
    inv = inventories[stack]
    (job,) = inv.of_type("kubernetes:batch/v1:Job")
    spec = job.inputs["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    partitions = parse_config(stack_config(stack)).scorer_max_replicas
    # every platform topic named, `features` included: a new topic is a new run of the Job
    assert container["args"] == ["workloads.topics", "--partitions", str(partitions), *TOPICS]
    assert TOPIC_FEATURES in container["args"]
    assert pod["serviceAccountName"] == "topic-admin"
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]  # read-only root, scratch in /tmp
    assert spec["activeDeadlineSeconds"] <= 300 and spec["ttlSecondsAfterFinished"] > 0
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["KAFKA_AUTH"] == "aws-iam" and env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    for name in ("workloads-scorer", "workloads-features", "workloads-training-template"):
        assert inv.depends_on(inv.named(name), job), name
    assert not inv.depends_on(inv.named("workloads-inference"), job)  # serving needs no topic


def test_the_topics_job_is_auto_named_so_a_new_template_is_a_new_run(inventories):
    """A Job's pod template is immutable: with a fixed name a new image would fail the update;
    auto-named, Pulumi replaces it (create, then delete) and the new Job runs."""
    (job,) = inventories["aws-prod"].of_type("kubernetes:batch/v1:Job")
    assert "name" not in job.inputs["metadata"]


def test_the_local_target_uses_strimzi_topics_instead(inventories):
    inv = inventories["local"]
    assert inv.of_type("kubernetes:batch/v1:Job") == []
    topics = inv.of_type("kubernetes:kafka.strimzi.io/v1beta2:KafkaTopic")
    assert sorted(t.inputs["metadata"]["name"] for t in topics) == sorted(TOPICS)  # 4: features


@pytest.mark.parametrize("stack", ["local", "aws-dev", "aws-prod"])
def test_features_has_as_many_partitions_as_transactions(inventories, stack):
    """The feature stage writes each partition of `features` from the same partition of
    `transactions`: both topics need one count, on MSK (the Job) and Strimzi (KafkaTopics)."""
    inv = inventories[stack]
    partitions = parse_config(stack_config(stack)).scorer_max_replicas
    if stack == "local":
        topics = inv.of_type("kubernetes:kafka.strimzi.io/v1beta2:KafkaTopic")
        found = {t.inputs["metadata"]["name"]: t.inputs["spec"]["partitions"] for t in topics}
        assert found[TOPIC_FEATURES] == found[TOPIC_TRANSACTIONS] == partitions
    else:  # one --partitions for every topic the Job names
        (job,) = inv.of_type("kubernetes:batch/v1:Job")
        args = job.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[1:3] == ["--partitions", str(partitions)]
        assert {TOPIC_FEATURES, TOPIC_TRANSACTIONS} <= set(args[3:])
        policy = json.loads(inv.named("topics-identity-policy").inputs["policy"])
        (manage,) = [s for s in policy["Statement"] if s["Sid"] == "ManageOwnTopics"]
        assert any(r.endswith("/" + TOPIC_FEATURES) for r in manage["Resource"])


def test_the_topic_admin_may_manage_only_the_platform_topics():
    arn = "arn:aws:kafka:us-east-1:123456789012:cluster/c/uuid"
    doc = topic_admin_policy(arn, ("transactions", "fraud-scores"))
    actions = {a for s in doc["Statement"] for a in s["Action"]}
    assert "kafka-cluster:CreateTopic" in actions
    assert not {a for a in actions if "Data" in a or "Group" in a}  # no reading or writing
    (manage,) = [s for s in doc["Statement"] if s["Sid"] == "ManageOwnTopics"]
    assert manage["Resource"] == [
        "arn:aws:kafka:us-east-1:123456789012:topic/c/uuid/transactions",
        "arn:aws:kafka:us-east-1:123456789012:topic/c/uuid/fraud-scores",
    ]
    assert json.dumps(doc)  # a plain JSON document
