"""The platform's topics on MSK: a short Job that runs `python -m workloads.topics` (inference
image) under the topic-admin identity on every `up` that changes its image, partitions or
topics, creating every topic of `TOPICS` (named on its command line, so a new topic is a new
run) with `partitions` = the scorer's maximum replicas, or growing them to it. Every topic has
the same count: the feature stage writes each partition of `features` from the same partition
of `transactions`. Idempotent.

It is the one Job the program declares, and pulumi-kubernetes awaits it: it is bounded (a
5-minute deadline, 3 retries, a 6-minute create timeout), runs on the system nodes (no GPU pool
to scale up) and needs only the image CI pushed before deploying. The workloads that read or
write the topics wait for it. The local target declares Strimzi KafkaTopics instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import PlatformContract
from infra.k8s.pods import (
    app_labels,
    container_security,
    env,
    plain,
    resources,
    restricted_pod,
    scratch_volumes,
)
from infra.names import NS_PLATFORM, TOPIC_ADMIN, TOPICS

DEADLINE_S = 300
TTL_AFTER_FINISHED_S = 24 * 3600


@dataclass(frozen=True)
class TopicsArgs:
    contract: PlatformContract
    image_tag: str


def needed(contract: PlatformContract) -> bool:
    """Only where the contract hands over a topic admin (MSK)."""
    return TOPIC_ADMIN.name in contract.service_accounts


def job_spec(args: TopicsArgs) -> dict:
    contract = args.contract
    volumes, mounts = scratch_volumes()  # /tmp: the root filesystem is read-only
    container = {
        "name": "topics",
        "image": contract.image("inference", args.image_tag),
        "args": ["workloads.topics", "--partitions", str(contract.kafka.partitions), *TOPICS],
        "env": env(contract, TOPIC_ADMIN.name),
        "resources": resources("100m", "256Mi", "500m"),
        "securityContext": container_security(),
        "volumeMounts": mounts,
    }
    pod = restricted_pod(contract, TOPIC_ADMIN.name, container, volumes, restartPolicy="Never")
    return {
        "backoffLimit": 3,
        "activeDeadlineSeconds": DEADLINE_S,
        "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_S,
        "template": {
            "metadata": {"labels": app_labels("topics", "bootstrap")},
            "spec": pod,
        },
    }


class PlatformTopics(pulumi.ComponentResource):
    def __init__(self, name: str, args: TopicsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:k8s:PlatformTopics", name, None, opts)
        # no metadata.name: Pulumi auto-names the Job, so a changed pod template (immutable in
        # a Job: a new image or partition count) is a replacement, created before the old one
        # is deleted, i.e. a new run; an unchanged one does not run again
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=plain({"namespace": NS_PLATFORM, "labels": app_labels("topics", "bootstrap")}),
            spec=plain(job_spec(args)),
            opts=pulumi.ResourceOptions(
                parent=self, custom_timeouts=pulumi.CustomTimeouts(create="6m", update="6m")
            ),
        )
        self.register_outputs({"partitions": args.contract.kafka.partitions})
