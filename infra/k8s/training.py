"""The training workload: a Job on the training GPU pool (an Indexed Job and a headless Service
for torchrun's rendezvous when it spans nodes), and optionally a CronJob for retraining.

Retries: spot reclaims and drains (the pod's `DisruptionTarget` condition) do not count against
`backoffLimit`; the trainer's own failures (exit 1: a failed run, 2: bad settings, 3: the metric
gate) fail the Job at once, since a retry would fail the same way. After a retry the trainer
resumes from its last checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import NS_TRAINING, PlatformContract
from infra.k8s.pods import (
    app_labels,
    container_security,
    env,
    gpu_placement,
    image_ref,
    kafka_ca,
    plain,
    resources,
    restricted_pod,
    scratch_volumes,
)

JOB_NAME = "trainer"
RDZV_PORT = 29400
APP_ERROR_EXIT_CODES = [1, 2, 3]
BACKOFF_LIMIT = 6
TTL_AFTER_FINISHED_S = 7 * 24 * 3600


@dataclass(frozen=True)
class TrainingArgs:
    contract: PlatformContract
    image_tag: str
    nodes: int = 1
    active_deadline_seconds: int = 86400
    schedule: str = ""  # cron; empty: no CronJob
    args: tuple[str, ...] = ("--idle-timeout-s", "300", "--fail-on-gate")


def failure_policy() -> dict[str, Any]:
    return {
        "rules": [
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
            {
                "action": "FailJob",
                "onExitCodes": {
                    "containerName": JOB_NAME,
                    "operator": "In",
                    "values": APP_ERROR_EXIT_CODES,
                },
            },
        ]
    }


def training_pod(
    args: TrainingArgs, extra_env: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The trainer's pod template spec: on the training pool with its GPUs, or on CPU nodes."""
    contract = args.contract
    pools = contract.pools("training")
    gpus = pools[0].gpus_per_node if pools else 0
    volumes, mounts = scratch_volumes(shm=bool(gpus))
    ca_volumes, ca_mounts = kafka_ca(contract, NS_TRAINING)
    sizing = resources("8", "32Gi", "16", gpus) if gpus else resources("1", "4Gi", "2")
    container = {
        "name": JOB_NAME,
        "image": image_ref(contract.images["training"], args.image_tag),
        "imagePullPolicy": "IfNotPresent",
        "args": list(args.args),
        "env": env(contract, "trainer", NPROC_PER_NODE=max(gpus, 1)) + (extra_env or []),
        "resources": sizing,
        "securityContext": container_security(),
        "volumeMounts": mounts + ca_mounts,
    }
    return restricted_pod(
        contract,
        "trainer",
        container,
        volumes + ca_volumes,
        restartPolicy="Never",
        **gpu_placement(pools),
    )


class TrainingJob(pulumi.ComponentResource):
    def __init__(self, name: str, args: TrainingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:k8s:TrainingJob", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = app_labels("trainer", "training")
        multi = args.nodes > 1
        rendezvous: list[dict[str, Any]] = []
        self.service: k8s.core.v1.Service | None = None
        if multi:
            self.service = k8s.core.v1.Service(
                f"{name}-rendezvous",
                metadata=plain({"name": JOB_NAME, "namespace": NS_TRAINING, "labels": labels}),
                spec=plain(
                    {
                        "clusterIP": "None",
                        "selector": {"job-name": JOB_NAME},
                        "ports": [{"name": "c10d", "port": RDZV_PORT, "targetPort": RDZV_PORT}],
                        "publishNotReadyAddresses": True,
                    }
                ),
                opts=child,
            )
            rendezvous = [
                {"name": "NNODES", "value": str(args.nodes)},
                {
                    "name": "RDZV_ENDPOINT",
                    "value": f"{JOB_NAME}-0.{JOB_NAME}.{NS_TRAINING}.svc:{RDZV_PORT}",
                },
                {"name": "RDZV_ID", "value": JOB_NAME},
            ]
        pod = training_pod(args, rendezvous)
        if multi:
            pod["subdomain"] = JOB_NAME  # pods resolve as trainer-<index>.trainer
        spec: dict[str, Any] = {
            "backoffLimit": BACKOFF_LIMIT,
            "podFailurePolicy": failure_policy(),
            "activeDeadlineSeconds": args.active_deadline_seconds,
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_S,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        }
        if multi:
            spec |= {
                "completionMode": "Indexed",
                "completions": args.nodes,
                "parallelism": args.nodes,
            }
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=plain({"name": JOB_NAME, "namespace": NS_TRAINING, "labels": labels}),
            spec=plain(spec),
            # a fixed name (the rendezvous host) and an immutable template: replace by delete
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.cron: k8s.batch.v1.CronJob | None = None
        if args.schedule:
            single = TrainingArgs(**{**args.__dict__, "nodes": 1})
            self.cron = k8s.batch.v1.CronJob(
                f"{name}-schedule",
                metadata=plain(
                    {"name": "trainer-scheduled", "namespace": NS_TRAINING, "labels": labels}
                ),
                spec=plain(
                    {
                        "schedule": args.schedule,
                        "concurrencyPolicy": "Forbid",
                        "startingDeadlineSeconds": 3600,
                        "successfulJobsHistoryLimit": 3,
                        "failedJobsHistoryLimit": 3,
                        "jobTemplate": {
                            "spec": {
                                "backoffLimit": BACKOFF_LIMIT,
                                "podFailurePolicy": failure_policy(),
                                "activeDeadlineSeconds": args.active_deadline_seconds,
                                "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_S,
                                "template": {
                                    "metadata": {"labels": labels},
                                    "spec": training_pod(single),
                                },
                            }
                        },
                    }
                ),
                opts=child,
            )
        self.register_outputs({"job": self.job.metadata["name"]})
