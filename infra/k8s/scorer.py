"""The stream scorer: a Deployment scaled by KEDA on its consumer group's (`fraud-scores`) lag
over `transactions`, with the TriggerAuthentication for the target's Kafka auth (the shared
parts, for every lag-scaled consumer: `infra/k8s/consumers.py`).

Not awaited (`pulumi.com/skipAwait`), like the inference server: the scorer is ready only once
its consume loop runs, which needs the model the first training run publishes after `up`, and a
KEDA minimum of 0 may scale it away before it ever is. CI's `smoke` step checks its rollout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.contract import NS_SERVING
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

NAME = "scorer"
SCORER = LagScaled(NAME, component="serving")


@dataclass(frozen=True)
class ScorerArgs(LagScaledArgs):
    """The scorer's bounds: `scorerMinReplicas`, `scorerMaxReplicas`, `scorerLagThreshold`."""


def scorer_pod(args: ScorerArgs) -> dict[str, Any]:
    contract = args.contract
    volumes, mounts = scratch_volumes()
    ca_volumes, ca_mounts = kafka_ca(contract, NS_SERVING)
    container = {
        "name": NAME,
        "image": contract.image("inference", args.image_tag),
        "imagePullPolicy": "IfNotPresent",
        "args": ["workloads.inference.scorer"],
        "env": env(contract, NAME, SCORER_THREADS=1, SCORER_HEARTBEAT_FILE=HEARTBEAT),
        "resources": resources("500m", "1Gi", "1"),
        "securityContext": container_security(),
        "volumeMounts": mounts + ca_mounts,
        **heartbeat_probes(),
    }
    return restricted_pod(
        contract, NAME, container, volumes + ca_volumes, terminationGracePeriodSeconds=30
    )


class StreamScorer(LagScaledConsumer):
    def __init__(self, name: str, args: ScorerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:k8s:StreamScorer", name, SCORER, args, scorer_pod(args), opts)
