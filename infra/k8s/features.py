"""The feature stage (`python -m workloads.training.features`, training image): a Deployment on
CPU nodes scaled by KEDA on its consumer group's (`features`) lag over `transactions`, with the
TriggerAuthentication for the target's Kafka auth (the shared parts, for every lag-scaled
consumer: `infra/k8s/consumers.py`). It decodes and validates the transactions, dead-letters the
bad ones, and produces Arrow record batches to the same partition of `features`, which the
trainer reads (`TRAIN_INPUT=features`), so the GPU pods never parse JSON.

It runs in the training namespace under its own identity (`WORKLOADS["features"]`), with no GPU
and no GPU toleration: the default scheduling the scorer gets, i.e. the system (CPU) nodes, never
a tainted GPU pool. Every partition of `features` is filled from the same partition of
`transactions`, which is why both topics have the same partition count (every platform topic
does: `infra/k8s/topics.py`, `infra/local/kafka.py`).

Not awaited (`pulumi.com/skipAwait`): a KEDA minimum of 0 scales it away before it is ready, and
on a fresh stack its image and topics may arrive after the Deployment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.contract import NS_TRAINING
from infra.k8s.consumers import (
    HEARTBEAT,
    LagScaled,
    LagScaledArgs,
    LagScaledConsumer,
    heartbeat_probes,
)
from infra.k8s.pods import (
    container_security,
    env,
    kafka_ca,
    resources,
    restricted_pod,
    scratch_volumes,
)

NAME = "features"
FEATURES = LagScaled(NAME, component="training")
COMMAND = ["python", "-m", "workloads.training.features"]  # the image's ENTRYPOINT is the trainer's


@dataclass(frozen=True)
class FeaturesArgs(LagScaledArgs):
    """The stage's bounds: `featuresMinReplicas`, `featuresMaxReplicas`, `featuresLagThreshold`."""

    lag_threshold: int = 5000


def features_pod(args: FeaturesArgs) -> dict[str, Any]:
    contract = args.contract
    volumes, mounts = scratch_volumes()
    ca_volumes, ca_mounts = kafka_ca(contract, NS_TRAINING)
    container = {
        "name": NAME,
        "image": contract.image("training", args.image_tag),
        "imagePullPolicy": "IfNotPresent",
        "command": list(COMMAND),
        "env": env(contract, NAME, FEATURES_HEARTBEAT_FILE=HEARTBEAT, FEATURES_THREADS=1),
        "resources": resources("500m", "1Gi", "1"),
        "securityContext": container_security(),
        "volumeMounts": mounts + ca_mounts,
        **heartbeat_probes(),
    }
    return restricted_pod(
        contract, NAME, container, volumes + ca_volumes, terminationGracePeriodSeconds=30
    )


class FeatureStage(LagScaledConsumer):
    def __init__(self, name: str, args: FeaturesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:k8s:FeatureStage", name, FEATURES, args, features_pod(args), opts)
