"""The stream scorer: a Deployment scaled by KEDA on its consumer group's lag over
`transactions`, with the TriggerAuthentication for the target's Kafka auth.

- AWS: MSK IAM. KEDA's `kafka` scaler (Sarama) takes `sasl: oauthbearer` with
  `saslTokenProvider: aws_msk_iam`, `awsRegion` and `tls: enable` (its `sasl` values are none,
  plaintext, scram_sha256, scram_sha512, oauthbearer and gssapi; `aws_msk_iam` as a `sasl` value
  belongs to the experimental `apache-kafka` scaler). The TriggerAuthentication's
  `podIdentity.provider: aws` makes the KEDA operator sign with its own Pod Identity role (see
  `infra/aws/identity.py:keda_policy`).
- Local: SCRAM-SHA-512 over TLS, from the scorer's own KafkaUser Secret and the brokers' CA.

Replicas never exceed the topic's partitions: an extra consumer would sit idle. With KEDA the
ScaledObject owns the replica count (the Deployment sets none); without KEDA (`enableKeda:
false`, so no KEDA CRDs) no ScaledObject or TriggerAuthentication is declared and the Deployment
runs a fixed count: the configured minimum, at least 1.

Not awaited (`pulumi.com/skipAwait`), like the inference server: the scorer is ready only once
its consume loop runs, which needs the model the first training run publishes after `up`, and a
KEDA minimum of 0 may scale it away before it ever is. CI's `smoke` step checks its rollout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import GROUP_SCORER, NS_SERVING, TOPIC_TRANSACTIONS, PlatformContract
from infra.k8s.pods import (
    SKIP_AWAIT,
    app_labels,
    container_security,
    deployment,
    env,
    kafka_ca,
    plain,
    resources,
    restricted_pod,
    scratch_volumes,
)

NAME = "scorer"
HEARTBEAT = "/tmp/heartbeat"  # touched by every loop of the scorer
HEARTBEAT_MAX_AGE_S = 120  # a poll, a flush (30 s at most) and a model reload fit well inside
ACTIVATION_LAG = 10  # records: below this a scorer at zero replicas stays at zero
POLLING_S = 15
COOLDOWN_S = 300


@dataclass(frozen=True)
class ScorerArgs:
    contract: PlatformContract
    image_tag: str
    min_replicas: int = 0
    max_replicas: int = 6
    lag_threshold: int = 1000
    keda: bool = True  # the KEDA add-on is installed (its CRDs exist)


def max_replicas(args: ScorerArgs) -> int:
    return max(1, min(args.max_replicas, args.contract.kafka.partitions))


def fixed_replicas(args: ScorerArgs) -> int:
    """The replica count without KEDA: the minimum, at least 1 (nothing would scale it up)."""
    return min(max(1, args.min_replicas), max_replicas(args))


def trigger_auth_spec(contract: PlatformContract) -> dict[str, Any]:
    kafka = contract.kafka
    if kafka.auth == "aws-iam":
        return {"podIdentity": {"provider": "aws"}}
    secret, ca = kafka.secrets[NAME], kafka.ca_secrets[NS_SERVING]
    return {
        "secretTargetRef": [
            {"parameter": "username", "name": secret, "key": "username"},
            {"parameter": "password", "name": secret, "key": "password"},
            {"parameter": "ca", "name": ca, "key": "ca.crt"},
        ]
    }


def trigger_metadata(args: ScorerArgs) -> dict[str, Any]:
    kafka = args.contract.kafka
    meta: dict[str, Any] = {
        "bootstrapServers": kafka.bootstrap_servers,
        "consumerGroup": GROUP_SCORER,
        "topic": TOPIC_TRANSACTIONS,
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


def heartbeat_probes() -> dict[str, Any]:
    """No HTTP port: live and ready while the consume loop keeps touching its heartbeat."""
    fresh = f"test $(( $(date +%s) - $(stat -c %Y {HEARTBEAT}) )) -lt {HEARTBEAT_MAX_AGE_S}"
    check = {"exec": {"command": ["sh", "-c", fresh]}, "timeoutSeconds": 5}
    return {
        "startupProbe": {**check, "periodSeconds": 10, "failureThreshold": 36},
        "livenessProbe": {**check, "periodSeconds": 30, "failureThreshold": 3},
        "readinessProbe": {**check, "periodSeconds": 15, "failureThreshold": 2},
    }


def scorer_pod(args: ScorerArgs) -> dict[str, Any]:
    contract = args.contract
    volumes, mounts = scratch_volumes()
    ca_volumes, ca_mounts = kafka_ca(contract, NS_SERVING)
    container = {
        "name": NAME,
        "image": contract.image("inference", args.image_tag),
        "imagePullPolicy": "IfNotPresent",
        "args": ["workloads.inference.scorer"],
        "env": env(contract, "scorer", SCORER_THREADS=1, SCORER_HEARTBEAT_FILE=HEARTBEAT),
        "resources": resources("500m", "1Gi", "1"),
        "securityContext": container_security(),
        "volumeMounts": mounts + ca_mounts,
        **heartbeat_probes(),
    }
    return restricted_pod(
        contract, "scorer", container, volumes + ca_volumes, terminationGracePeriodSeconds=30
    )


class StreamScorer(pulumi.ComponentResource):
    def __init__(self, name: str, args: ScorerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:k8s:StreamScorer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = app_labels(NAME, "serving")
        meta = {"name": NAME, "namespace": NS_SERVING, "labels": labels}
        unawaited = {**meta, "annotations": dict(SKIP_AWAIT)}  # see the module docstring
        self.deployment = deployment(
            f"{name}-deployment",
            unawaited,
            None if args.keda else fixed_replicas(args),  # with KEDA, KEDA owns the count
            scorer_pod(args),
            child,
        )
        self.auth: k8s.apiextensions.CustomResource | None = None
        self.scaled_object: k8s.apiextensions.CustomResource | None = None
        if not args.keda:
            self.register_outputs({"deployment": self.deployment.metadata["name"]})
            return
        self.auth = k8s.apiextensions.CustomResource(
            f"{name}-kafka-auth",
            api_version="keda.sh/v1alpha1",
            kind="TriggerAuthentication",
            metadata=plain({"name": f"{NAME}-kafka", "namespace": NS_SERVING, "labels": labels}),
            spec=plain(trigger_auth_spec(args.contract)),
            opts=child,
        )
        self.scaled_object = k8s.apiextensions.CustomResource(
            f"{name}-scaler",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=plain(meta),
            spec=plain(
                {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                    "minReplicaCount": args.min_replicas,
                    "maxReplicaCount": max_replicas(args),
                    "pollingInterval": POLLING_S,
                    "cooldownPeriod": COOLDOWN_S,
                    "triggers": [
                        {
                            "type": "kafka",
                            "metadata": trigger_metadata(args),
                            "authenticationRef": {"name": f"{NAME}-kafka"},
                        }
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployment, self.auth]),
        )
        self.register_outputs({"deployment": self.deployment.metadata["name"]})
