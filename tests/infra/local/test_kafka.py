"""infra.local.kafka: Strimzi KRaft, one SCRAM/TLS listener, users scoped to their topics."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from infra.contract import TOPICS, WORKLOADS
from infra.local.certs import broker_dns_names
from infra.local.kafka import (
    STRIMZI_CHART,
    STRIMZI_VERSION,
    StrimziKafka,
    StrimziKafkaArgs,
    broker_config,
    replication,
    user_acls,
    uses_kafka,
)
from infra.offline import Inventory, run_function
from tests.infra.local.helpers import one, secret_data, secrets_by_name

CR = "kubernetes:kafka.strimzi.io/v1beta2:"
KAFKA_USERS = sorted(w.name for w in WORKLOADS.values() if uses_kafka(w))


def kafka_args(**changes: Any) -> StrimziKafkaArgs:
    return dataclasses.replace(StrimziKafkaArgs(replicas=3, storage_gb=50, partitions=6), **changes)


def run(**changes: Any) -> Inventory:
    def program() -> dict[str, Any]:
        provider = k8s.Provider("local", kubeconfig="~/.kube/config")
        kafka = StrimziKafka(
            "kafka",
            kafka_args(**changes),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )
        access = kafka.access()
        return {
            "bootstrap": kafka.bootstrap_servers,
            "users": kafka.user_secrets,
            "cas": kafka.ca_secrets,
            "auth": access.auth,
            "partitions": access.partitions,
        }

    return run_function(program)


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return run()


def test_operator_chart_is_pinned_and_watches_its_namespace(inv):
    release = one(inv, "kubernetes:helm.sh/v3:Release").inputs
    assert release["chart"] == STRIMZI_CHART == "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
    assert release["version"] == STRIMZI_VERSION == "0.51.0"
    assert release["namespace"] == "kafka"
    assert release["values"]["watchAnyNamespace"] is False
    assert release["values"]["watchNamespaces"] == []
    assert one(inv, "kubernetes:core/v1:Namespace").inputs["metadata"]["name"] == "kafka"


def test_every_kubernetes_resource_uses_the_given_provider(inv):
    provider = one(inv, "pulumi:providers:kubernetes")
    component = one(inv, "ascent:local:StrimziKafka")
    kube = [r for r in inv.resources if r.type.startswith("kubernetes:")]
    assert len(kube) > 10
    for res in kube:
        assert res.provider.startswith(provider.urn + "::"), res.name
    for res in inv.resources:
        if res not in (provider, component):
            assert res.parent == component.urn, res.name
            assert res.name.startswith("kafka-"), res.name


def test_kafka_is_kraft_with_one_scram_tls_listener(inv):
    kafka = one(inv, CR + "Kafka").inputs
    assert kafka["metadata"]["annotations"] == {
        "strimzi.io/kraft": "enabled",
        "strimzi.io/node-pools": "enabled",
    }
    spec = kafka["spec"]["kafka"]
    (listener,) = spec["listeners"]
    assert listener["name"] == "tls" and listener["port"] == 9093
    assert listener["type"] == "internal" and listener["tls"] is True
    assert listener["authentication"] == {"type": "scram-sha-512"}
    assert spec["authorization"] == {"type": "simple"}
    assert spec["config"]["auto.create.topics.enable"] is False
    assert kafka["spec"]["entityOperator"] == {"topicOperator": {}, "userOperator": {}}


def test_listener_serves_our_certificate_from_a_tls_secret(inv):
    listener = one(inv, CR + "Kafka").inputs["spec"]["kafka"]["listeners"][0]
    chain = listener["configuration"]["brokerCertChainAndKey"]
    secret = secrets_by_name(inv)[("kafka", chain["secretName"])]
    assert secret.inputs["type"] == "kubernetes.io/tls"
    assert (chain["certificate"], chain["key"]) == ("tls.crt", "tls.key")
    assert secret_data(secret) == {
        "tls.crt": "cert:kafka-broker-cert",
        "tls.key": "pkcs8:kafka-broker-key",
    }
    ca = inv.named("kafka-ca").inputs
    assert ca["isCaCertificate"] is True
    assert ca["privateKeyPem"]["value"] == "key:kafka-ca-key"
    csr = inv.named("kafka-broker-csr").inputs
    assert csr["dnsNames"] == broker_dns_names("events", "kafka")
    assert csr["privateKeyPem"]["value"] == "key:kafka-broker-key"
    cert = inv.named("kafka-broker-cert").inputs
    assert cert["caCertPem"] == "cert:kafka-ca"
    assert cert["certRequestPem"] == "csr:kafka-broker-csr"
    assert cert["allowedUses"] == ["digital_signature", "key_encipherment", "server_auth"]


@pytest.mark.parametrize(("replicas", "storage_gb"), [(3, 50), (1, 10)])
def test_node_pool_runs_both_roles_on_persistent_storage(replicas, storage_gb):
    inv = run(replicas=replicas, storage_gb=storage_gb)
    pool = one(inv, CR + "KafkaNodePool").inputs
    assert pool["metadata"]["labels"] == {"strimzi.io/cluster": "events"}
    assert pool["spec"]["replicas"] == replicas
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    assert pool["spec"]["storage"]["type"] == "persistent-claim"
    assert pool["spec"]["storage"]["size"] == f"{storage_gb}Gi"
    config = one(inv, CR + "Kafka").inputs["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == min(3, replicas)


@pytest.mark.parametrize(("replicas", "partitions"), [(3, 6), (1, 3), (5, 12)])
def test_topics_match_the_contract(replicas, partitions):
    topics = run(replicas=replicas, partitions=partitions).of_type(CR + "KafkaTopic")
    assert sorted(t.inputs["metadata"]["name"] for t in topics) == sorted(TOPICS)
    for topic in topics:
        assert topic.inputs["metadata"]["labels"] == {"strimzi.io/cluster": "events"}
        assert topic.inputs["metadata"]["namespace"] == "kafka"
        assert topic.inputs["spec"]["partitions"] == partitions
        assert topic.inputs["spec"]["replicas"] == min(3, replicas)


def test_each_user_is_limited_to_its_topics_and_group(inv):
    users = {u.inputs["metadata"]["name"]: u.inputs for u in inv.of_type(CR + "KafkaUser")}
    assert sorted(users) == KAFKA_USERS == ["features", "scorer", "trainer"]
    for name, user in users.items():
        workload = WORKLOADS[name]
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        authz = user["spec"]["authorization"]
        assert authz["type"] == "simple"
        granted = {
            (a["resource"]["type"], a["resource"]["name"], op)
            for a in authz["acls"]
            for op in a["operations"]
        }
        expected = (
            {("topic", t, op) for t in workload.topics_read for op in ("Read", "Describe")}
            | {("topic", t, op) for t in workload.topics_write for op in ("Write", "Describe")}
            | {("group", workload.group, "Read")}
        )
        assert granted == expected
        assert all(a["resource"]["patternType"] == "literal" for a in authz["acls"])


def test_user_passwords_come_from_our_secrets(inv):
    secrets = secrets_by_name(inv)
    for user in inv.of_type(CR + "KafkaUser"):
        name = user.inputs["metadata"]["name"]
        ref = user.inputs["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] != name  # the User Operator writes the Secret named after the user
        source = secret_data(secrets[("kafka", ref["name"])])
        assert source == {ref["key"]: f"pw:kafka-{name}-password"}
    passwords = inv.of_type("random:index/randomPassword:RandomPassword")
    assert sorted(p.name for p in passwords) == [f"kafka-{u}-password" for u in KAFKA_USERS]
    for password in passwords:
        assert password.inputs["length"] == 32 and password.inputs["special"] is False


def test_workload_namespaces_get_credentials_and_the_ca(inv):
    secrets = secrets_by_name(inv)
    assert inv.outputs["users"] == {u: f"kafka-{u}" for u in KAFKA_USERS}
    for user in KAFKA_USERS:
        creds = secret_data(secrets[(WORKLOADS[user].namespace, f"kafka-{user}")])
        assert creds == {"username": user, "password": f"pw:kafka-{user}-password"}
    assert inv.outputs["cas"] == {"training": "kafka-ca", "serving": "kafka-ca"}
    for ns in ("training", "serving"):
        assert secret_data(secrets[(ns, "kafka-ca")]) == {"ca.crt": "cert:kafka-ca"}
    # Nothing lands anywhere else; the workload namespaces themselves are not ours to create.
    assert {ns for ns, _ in secrets} == {"kafka", "training", "serving"}
    namespaces = inv.of_type("kubernetes:core/v1:Namespace")
    assert [n.inputs["metadata"]["name"] for n in namespaces] == ["kafka"]


def test_access_for_the_platform_contract(inv):
    assert inv.outputs["bootstrap"] == "events-kafka-bootstrap.kafka.svc:9093"
    assert inv.outputs["auth"] == "scram-sha-512"
    assert inv.outputs["partitions"] == 6


def test_workload_namespaces_can_be_remapped():
    inv = run(workload_namespaces={"scorer": "scoring"})
    assert inv.outputs["users"] == {"scorer": "kafka-scorer"}
    assert inv.outputs["cas"] == {"scoring": "kafka-ca"}
    assert ("scoring", "kafka-scorer") in secrets_by_name(inv)


# --- argument validation ---


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"replicas": 0}, "replicas"),
        ({"storage_gb": 0}, "storage_gb"),
        ({"partitions": 0}, "partitions"),
        ({"namespace": "Kafka"}, "namespace"),
        ({"cluster": "events_1"}, "cluster"),
        ({"kafka_version": "3.9.0"}, "kafka_version"),
        ({"workload_namespaces": {"ghost": "serving"}}, "workload_namespaces"),
        ({"workload_namespaces": {"trainer": "Training"}}, "workload_namespaces"),
    ],
)
def test_bad_args_fail_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=rf"StrimziKafkaArgs\.{field} must be"):
        kafka_args(**changes)


# --- pure helpers ---


@pytest.mark.parametrize(
    ("replicas", "factor", "min_insync"), [(1, 1, 1), (2, 2, 1), (3, 3, 2), (6, 3, 2)]
)
def test_replication(replicas, factor, min_insync):
    assert replication(replicas) == (factor, min_insync)
    config = broker_config(replicas)
    assert config["default.replication.factor"] == factor
    assert config["offsets.topic.replication.factor"] == factor
    assert config["transaction.state.log.replication.factor"] == factor
    assert config["min.insync.replicas"] == min_insync
    assert config["transaction.state.log.min.isr"] == min_insync


@pytest.mark.parametrize(
    ("workload", "expected"),
    [
        (
            "trainer",
            [
                ("topic", "features", ["Read", "Describe"]),
                ("topic", "transactions", ["Read", "Describe"]),
                ("topic", "transactions-dlq", ["Write", "Describe"]),
                ("group", "trainer", ["Read"]),
            ],
        ),
        (
            "features",
            [
                ("topic", "transactions", ["Read", "Describe"]),
                ("topic", "features", ["Write", "Describe"]),
                ("topic", "transactions-dlq", ["Write", "Describe"]),
                ("group", "features", ["Read"]),
            ],
        ),
        (
            "scorer",
            [
                ("topic", "transactions", ["Read", "Describe"]),
                ("topic", "fraud-scores", ["Write", "Describe"]),
                ("topic", "transactions-dlq", ["Write", "Describe"]),
                ("group", "fraud-scores", ["Read"]),
            ],
        ),
        ("inference", []),
    ],
)
def test_user_acls(workload, expected):
    acls = user_acls(WORKLOADS[workload])
    assert [(a["resource"]["type"], a["resource"]["name"], a["operations"]) for a in acls] == (
        expected
    )
    assert uses_kafka(WORKLOADS[workload]) is bool(expected)


def test_broker_dns_names_cover_bootstrap_and_every_broker():
    assert broker_dns_names("events", "kafka") == [
        "events-kafka-bootstrap.kafka.svc",
        "*.events-kafka-brokers.kafka.svc",
        "events-kafka-bootstrap.kafka.svc.cluster.local",
        "*.events-kafka-brokers.kafka.svc.cluster.local",
    ]
