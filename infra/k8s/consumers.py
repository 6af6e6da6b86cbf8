"""Kafka consumers that KEDA scales on their consumer group's lag (`infra.names.LAG_SCALED`: the
stream scorer, the feature stage): a Deployment, and with KEDA a ScaledObject and the
TriggerAuthentication for the target's Kafka auth.

- AWS: MSK IAM. KEDA's `kafka` scaler (Sarama) takes `sasl: oauthbearer` with
  `saslTokenProvider: aws_msk_iam`, `awsRegion` and `tls: enable` (its `sasl` values are none,
  plaintext, scram_sha256, scram_sha512, oauthbearer and gssapi; `aws_msk_iam` as a `sasl` value
  belongs to the experimental `apache-kafka` scaler). The TriggerAuthentication's
  `podIdentity.provider: aws` makes the KEDA operator sign with its own Pod Identity role (see
  `infra/aws/identity.py:keda_policy`), which may describe exactly these groups and topics.
- Local: SCRAM-SHA-512 over TLS, from the consumer's own KafkaUser Secret and the brokers' CA.

Replicas never exceed the topic's partitions: an extra consumer would sit idle. With KEDA the
ScaledObject owns the replica count (the Deployment sets none); without KEDA (`enableKeda:
false`, so no KEDA CRDs) no ScaledObject or TriggerAuthentication is declared and the Deployment
runs a fixed count: the configured minimum, at least 1.

Not awaited (`pulumi.com/skipAwait`): a KEDA minimum of 0 may scale a consumer away before it is
ever ready, and each module says what else its readiness waits for. Liveness and readiness are a
heartbeat file the consume loop touches (no HTTP port).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import LAG_SCALED, WORKLOADS, PlatformContract
from infra.k8s.pods import SKIP_AWAIT, app_labels, deployment, plain

HEARTBEAT = "/tmp/heartbeat"  # touched by every loop of the consumer
HEARTBEAT_MAX_AGE_S = 120  # a poll, a flush (30 s at most), a scorer's model reload fit inside
ACTIVATION_LAG = 10  # records: below this a consumer at zero replicas stays at zero
POLLING_S = 15
COOLDOWN_S = 300


@dataclass(frozen=True)
class LagScaledArgs:
    contract: PlatformContract
    image_tag: str
    min_replicas: int = 0
    max_replicas: int = 6
    lag_threshold: int = 1000
    keda: bool = True  # the KEDA add-on is installed (its CRDs exist)


@dataclass(frozen=True)
class LagScaled:
    """Who a lag-scaled consumer is: its workload identity (`WORKLOADS[name]`: namespace,
    service account, consumer group), the topic KEDA reads its lag over (`LAG_SCALED[name]`),
    and its `app.kubernetes.io/component` label."""

    name: str
    component: str

    def __post_init__(self) -> None:
        if self.name not in LAG_SCALED or WORKLOADS[self.name].group is None:
            raise ValueError(
                f"LagScaled.name {self.name!r}: must be a workload of infra.names.LAG_SCALED "
                "with a consumer group"
            )

    @property
    def namespace(self) -> str:
        return WORKLOADS[self.name].namespace

    @property
    def group(self) -> str:
        return str(WORKLOADS[self.name].group)

    @property
    def topic(self) -> str:
        return LAG_SCALED[self.name]

    @property
    def auth_name(self) -> str:
        """The TriggerAuthentication's name."""
        return f"{self.name}-kafka"


def max_replicas(args: LagScaledArgs) -> int:
    return max(1, min(args.max_replicas, args.contract.kafka.partitions))


def fixed_replicas(args: LagScaledArgs) -> int:
    """The replica count without KEDA: the minimum, at least 1 (nothing would scale it up)."""
    return min(max(1, args.min_replicas), max_replicas(args))


def trigger_auth_spec(contract: PlatformContract, name: str, namespace: str) -> dict[str, Any]:
    """How KEDA authenticates for workload `name`: its Pod Identity role on MSK, else the
    workload's SCRAM Secret and the CA Secret of its `namespace`."""
    kafka = contract.kafka
    if kafka.auth == "aws-iam":
        return {"podIdentity": {"provider": "aws"}}
    secret, ca = kafka.secrets[name], kafka.ca_secrets[namespace]
    return {
        "secretTargetRef": [
            {"parameter": "username", "name": secret, "key": "username"},
            {"parameter": "password", "name": secret, "key": "password"},
            {"parameter": "ca", "name": ca, "key": "ca.crt"},
        ]
    }


def trigger_metadata(args: LagScaledArgs, group: str, topic: str) -> dict[str, Any]:
    """The `kafka` trigger: `group`'s lag over `topic`, per replica `args.lag_threshold`."""
    kafka = args.contract.kafka
    meta: dict[str, Any] = {
        "bootstrapServers": kafka.bootstrap_servers,
        "consumerGroup": group,
        "topic": topic,
        "lagThreshold": str(args.lag_threshold),
        "activationLagThreshold": str(ACTIVATION_LAG),
        "offsetResetPolicy": "earliest",
        "allowIdleConsumers": "false",
        "tls": "enable",
    }
    if kafka.auth == "aws-iam":
        meta |= {
            "sasl": "oauthbearer",
            "saslTokenProvider": "aws_msk_iam",
            "awsRegion": args.contract.object_store.region,
        }
    else:
        meta["sasl"] = "scram_sha512"
    return meta


def heartbeat_probes(path: str = HEARTBEAT, max_age_s: int = HEARTBEAT_MAX_AGE_S) -> dict[str, Any]:
    """No HTTP port: live and ready while the consume loop keeps touching `path`."""
    fresh = f"test $(( $(date +%s) - $(stat -c %Y {path}) )) -lt {max_age_s}"
    check = {"exec": {"command": ["sh", "-c", fresh]}, "timeoutSeconds": 5}
    return {
        "startupProbe": {**check, "periodSeconds": 10, "failureThreshold": 36},
        "livenessProbe": {**check, "periodSeconds": 30, "failureThreshold": 3},
        "readinessProbe": {**check, "periodSeconds": 15, "failureThreshold": 2},
    }


def scaled_object_spec(consumer: LagScaled, args: LagScaledArgs) -> dict[str, Any]:
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": consumer.name},
        "minReplicaCount": args.min_replicas,
        "maxReplicaCount": max_replicas(args),
        "pollingInterval": POLLING_S,
        "cooldownPeriod": COOLDOWN_S,
        "triggers": [
            {
                "type": "kafka",
                "metadata": trigger_metadata(args, consumer.group, consumer.topic),
                "authenticationRef": {"name": consumer.auth_name},
            }
        ],
    }


def summary(consumer: LagScaled, args: LagScaledArgs) -> str:
    """One line for `ascent plan` and the stack outputs."""
    if not args.keda:
        return f"Deployment x{fixed_replicas(args)} (no KEDA: a fixed count)"
    return (
        f"Deployment + KEDA {args.min_replicas}..{max_replicas(args)} on lag "
        f"> {args.lag_threshold} of group {consumer.group}"
    )


class LagScaledConsumer(pulumi.ComponentResource):
    """The Deployment of `pod` and, with KEDA, its TriggerAuthentication and ScaledObject.

    `type_` is the component's type token (`ascent:k8s:StreamScorer`, ...); the children are
    `{name}-deployment`, `{name}-kafka-auth` and `{name}-scaler`."""

    deployment: k8s.apps.v1.Deployment
    auth: k8s.apiextensions.CustomResource | None
    scaled_object: k8s.apiextensions.CustomResource | None

    def __init__(
        self,
        type_: str,
        name: str,
        consumer: LagScaled,
        args: LagScaledArgs,
        pod: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(type_, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = app_labels(consumer.name, consumer.component)
        meta = {"name": consumer.name, "namespace": consumer.namespace, "labels": labels}
        unawaited = {**meta, "annotations": dict(SKIP_AWAIT)}  # see the module docstring
        self.deployment = deployment(
            f"{name}-deployment",
            unawaited,
            None if args.keda else fixed_replicas(args),  # with KEDA, KEDA owns the count
            pod,
            child,
        )
        self.auth = None
        self.scaled_object = None
        if not args.keda:
            self.register_outputs({"deployment": self.deployment.metadata["name"]})
            return
        auth_meta = {"name": consumer.auth_name, "namespace": consumer.namespace, "labels": labels}
        self.auth = k8s.apiextensions.CustomResource(
            f"{name}-kafka-auth",
            api_version="keda.sh/v1alpha1",
            kind="TriggerAuthentication",
            metadata=plain(auth_meta),
            spec=plain(trigger_auth_spec(args.contract, consumer.name, consumer.namespace)),
            opts=child,
        )
        self.scaled_object = k8s.apiextensions.CustomResource(
            f"{name}-scaler",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=plain(meta),
            spec=plain(scaled_object_spec(consumer, args)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployment, self.auth]),
        )
        self.register_outputs({"deployment": self.deployment.metadata["name"]})
