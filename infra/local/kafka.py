"""Strimzi Kafka on any cluster: a KRaft cluster with one TLS listener and SCRAM users.

The brokers present a certificate from our own CA (Strimzi's generated cluster CA lives in the
kafka namespace, where workloads cannot read it); each workload namespace gets the CA's `ca.crt`.
Each Kafka-using workload gets a SCRAM user whose ACLs name exactly its topics and group, and a
Secret with `username`/`password` in its own namespace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.contract import TOPICS, WORKLOADS, KafkaAccess, WorkloadIdentity
from infra.local.certs import broker_tls

STRIMZI_CHART = "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
STRIMZI_VERSION = "0.51.0"  # the last release serving kafka.strimzi.io/v1beta2
API_VERSION = "kafka.strimzi.io/v1beta2"
KAFKA_VERSIONS = ("4.1.0", "4.1.1")  # what Strimzi 0.50-1.0 all run
TLS_PORT = 9093
CA_SECRET = "kafka-ca"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _default_namespaces() -> dict[str, str]:
    return {w.name: w.namespace for w in WORKLOADS.values()}


@dataclass(frozen=True)
class StrimziKafkaArgs:
    replicas: int
    storage_gb: int
    partitions: int
    namespace: str = "kafka"
    cluster: str = "events"  # the Kafka resource's name; prefixes its services
    kafka_version: str = "4.1.1"
    workload_namespaces: dict[str, str] = field(default_factory=_default_namespaces)

    def __post_init__(self) -> None:
        names = self.workload_namespaces
        checks = {
            "replicas": (self.replicas >= 1, ">= 1"),
            "storage_gb": (self.storage_gb >= 1, ">= 1"),
            "partitions": (self.partitions >= 1, ">= 1"),
            "namespace": (bool(_DNS_LABEL.match(self.namespace)), "a DNS label"),
            "cluster": (bool(_DNS_LABEL.match(self.cluster)), "a DNS label"),
            "kafka_version": (self.kafka_version in KAFKA_VERSIONS, f"one of {KAFKA_VERSIONS}"),
            "workload_namespaces": (
                set(names) <= set(WORKLOADS) and all(map(_DNS_LABEL.match, names.values())),
                "workloads from infra.contract.WORKLOADS mapped to DNS labels",
            ),
        }
        for name, (ok, allowed) in checks.items():
            if not ok:
                raise ValueError(
                    f"StrimziKafkaArgs.{name} must be {allowed}, got {getattr(self, name)!r}"
                )


def replication(replicas: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas): 3 where there are 3 brokers, ISR one less."""
    factor = min(3, replicas)
    return factor, max(1, factor - 1)


def broker_config(replicas: int) -> dict[str, Any]:
    factor, min_insync = replication(replicas)
    return {
        "auto.create.topics.enable": False,
        "default.replication.factor": factor,
        "min.insync.replicas": min_insync,
        "offsets.topic.replication.factor": factor,
        "transaction.state.log.replication.factor": factor,
        "transaction.state.log.min.isr": min_insync,
    }


def uses_kafka(workload: WorkloadIdentity) -> bool:
    return bool(workload.topics_read or workload.topics_write or workload.group)


def user_acls(workload: WorkloadIdentity) -> list[dict[str, Any]]:
    """Read+Describe its read topics, Write+Describe its write topics, Read its group."""

    def acl(kind: str, name: str, operations: list[str]) -> dict[str, Any]:
        resource = {"type": kind, "name": name, "patternType": "literal"}
        return {"resource": resource, "operations": operations, "host": "*"}

    return (
        [acl("topic", t, ["Read", "Describe"]) for t in workload.topics_read]
        + [acl("topic", t, ["Write", "Describe"]) for t in workload.topics_write]
        + ([acl("group", workload.group, ["Read"])] if workload.group else [])
    )


def _strimzi(
    res_name: str,
    kind: str,
    metadata: dict[str, Any],
    spec: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        res_name, api_version=API_VERSION, kind=kind, metadata=metadata, spec=spec, opts=opts
    )


def tls_listener(secret_name: str) -> dict[str, Any]:
    """The one listener: in-cluster TLS on 9093, SCRAM-SHA-512, our certificate."""
    chain = {"secretName": secret_name, "certificate": "tls.crt", "key": "tls.key"}
    return {
        "name": "tls",
        "port": TLS_PORT,
        "type": "internal",
        "tls": True,
        "authentication": {"type": "scram-sha-512"},
        "configuration": {"brokerCertChainAndKey": chain},
    }


class StrimziKafka(pulumi.ComponentResource):
    """The Strimzi operator, a KRaft cluster, its topics, and one SCRAM user per workload."""

    bootstrap_servers: str
    user_secrets: dict[str, str]  # workload -> Secret (username/password) in its namespace
    ca_secrets: dict[str, str]  # namespace -> Secret with ca.crt

    def __init__(
        self,
        name: str,
        args: StrimziKafkaArgs,
        opts: pulumi.ResourceOptions | None = None,
        namespace_resources: Sequence[pulumi.Resource] = (),
    ) -> None:
        super().__init__("ascent:local:StrimziKafka", name, None, opts)
        ns, cluster, self.partitions = args.namespace, args.cluster, args.partitions
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": ns}, opts=pulumi.ResourceOptions(parent=self)
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        in_workload_ns = pulumi.ResourceOptions(parent=self, depends_on=list(namespace_resources))
        operator = k8s.helm.v3.Release(
            f"{name}-operator",
            name="strimzi",
            chart=STRIMZI_CHART,
            version=STRIMZI_VERSION,
            namespace=ns,
            values={"watchAnyNamespace": False, "watchNamespaces": []},  # its own namespace only
            opts=in_ns,
        )

        ca_pem, cert_pem, key_pem = broker_tls(name, cluster, ns, in_ns)
        listener_secret = f"{cluster}-listener-tls"
        k8s.core.v1.Secret(
            f"{name}-listener-tls",
            metadata={"name": listener_secret, "namespace": ns},
            type="kubernetes.io/tls",
            string_data={"tls.crt": cert_pem, "tls.key": key_pem},
            opts=in_ns,
        )

        labels = {"strimzi.io/cluster": cluster}
        factor, min_insync = replication(args.replicas)
        storage = {"type": "persistent-claim", "size": f"{args.storage_gb}Gi", "deleteClaim": False}
        pool = _strimzi(
            f"{name}-node-pool",
            "KafkaNodePool",
            {"name": "dual-role", "namespace": ns, "labels": labels},
            {"replicas": args.replicas, "roles": ["controller", "broker"], "storage": storage},
            pulumi.ResourceOptions(parent=self, depends_on=[operator]),
        )
        kraft = {"strimzi.io/kraft": "enabled", "strimzi.io/node-pools": "enabled"}
        kafka = _strimzi(
            f"{name}-kafka",
            "Kafka",
            {"name": cluster, "namespace": ns, "annotations": kraft},
            {
                "kafka": {
                    "version": args.kafka_version,
                    "listeners": [tls_listener(listener_secret)],
                    "authorization": {"type": "simple"},
                    "config": broker_config(args.replicas),
                },
                "entityOperator": {"topicOperator": {}, "userOperator": {}},
            },
            pulumi.ResourceOptions(parent=self, depends_on=[operator, pool]),
        )
        after_kafka = pulumi.ResourceOptions(parent=self, depends_on=[kafka])
        for topic in TOPICS:
            _strimzi(
                f"{name}-topic-{topic}",
                "KafkaTopic",
                {"name": topic, "namespace": ns, "labels": labels},
                {
                    "partitions": args.partitions,
                    "replicas": factor,
                    "config": {"min.insync.replicas": min_insync},
                },
                after_kafka,
            )

        users = {
            wl: wns for wl, wns in args.workload_namespaces.items() if uses_kafka(WORKLOADS[wl])
        }
        self.ca_secrets = {}
        for wns in sorted(set(users.values())):
            k8s.core.v1.Secret(
                f"{name}-ca-{wns}",
                metadata={"name": CA_SECRET, "namespace": wns},
                string_data={"ca.crt": ca_pem},
                opts=in_workload_ns,
            )
            self.ca_secrets[wns] = CA_SECRET

        self.user_secrets = {}
        for wl, wns in users.items():
            password = random.RandomPassword(
                f"{name}-{wl}-password", length=32, special=False, opts=in_ns
            )
            source = f"{wl}-scram-password"  # not `wl`: the User Operator writes that Secret
            k8s.core.v1.Secret(
                f"{name}-{wl}-scram-password",
                metadata={"name": source, "namespace": ns},
                string_data={"password": password.result},
                opts=in_ns,
            )
            ref = {"secretKeyRef": {"name": source, "key": "password"}}
            _strimzi(
                f"{name}-user-{wl}",
                "KafkaUser",
                {"name": wl, "namespace": ns, "labels": labels},
                {
                    "authentication": {"type": "scram-sha-512", "password": {"valueFrom": ref}},
                    "authorization": {"type": "simple", "acls": user_acls(WORKLOADS[wl])},
                },
                after_kafka,
            )
            self.user_secrets[wl] = f"kafka-{wl}"
            k8s.core.v1.Secret(
                f"{name}-{wl}-credentials",
                metadata={"name": self.user_secrets[wl], "namespace": wns},
                string_data={"username": wl, "password": password.result},
                opts=in_workload_ns,
            )

        self.bootstrap_servers = f"{cluster}-kafka-bootstrap.{ns}.svc:{TLS_PORT}"
        self.register_outputs(
            {
                "bootstrapServers": self.bootstrap_servers,
                "userSecrets": self.user_secrets,
                "caSecrets": self.ca_secrets,
            }
        )

    def access(self) -> KafkaAccess:
        """What the Kubernetes layer needs to reach this cluster."""
        return KafkaAccess(
            bootstrap_servers=self.bootstrap_servers,
            auth="scram-sha-512",
            partitions=self.partitions,
            secrets=dict(self.user_secrets),
            ca_secrets=dict(self.ca_secrets),
        )
