"""Names both targets and the workloads agree on: topics, consumer groups, prefixes, identities.

Plain Python (no Pulumi import): the workload images import it too.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kafka topics and consumer groups
TOPIC_TRANSACTIONS = "transactions"
TOPIC_SCORES = "fraud-scores"
TOPIC_DLQ = "transactions-dlq"
TOPICS = (TOPIC_TRANSACTIONS, TOPIC_SCORES, TOPIC_DLQ)
GROUP_TRAINER = "trainer"
GROUP_SCORER = "fraud-scores"

# Object storage: one bucket, one prefix per kind of artifact
PREFIX_DATASETS = "datasets/"
PREFIX_CHECKPOINTS = "checkpoints/"
PREFIX_MODELS = "models/"

# Namespaces
NS_PLATFORM = "ascent-system"
NS_TRAINING = "training"
NS_SERVING = "serving"

# Container images built from workloads/
IMAGES = ("training", "inference")


@dataclass(frozen=True)
class WorkloadIdentity:
    """Who a workload is in Kubernetes, and what it may touch."""

    name: str
    namespace: str
    service_account: str
    bucket_read: tuple[str, ...] = ()
    bucket_write: tuple[str, ...] = ()
    topics_read: tuple[str, ...] = ()
    topics_write: tuple[str, ...] = ()
    group: str | None = None


WORKLOADS: dict[str, WorkloadIdentity] = {
    w.name: w
    for w in (
        WorkloadIdentity(
            "trainer",
            NS_TRAINING,
            "trainer",
            bucket_read=(PREFIX_DATASETS, PREFIX_CHECKPOINTS, PREFIX_MODELS),
            bucket_write=(PREFIX_DATASETS, PREFIX_CHECKPOINTS, PREFIX_MODELS),
            topics_read=(TOPIC_TRANSACTIONS,),
            topics_write=(TOPIC_DLQ,),
            group=GROUP_TRAINER,
        ),
        WorkloadIdentity("inference", NS_SERVING, "inference", bucket_read=(PREFIX_MODELS,)),
        WorkloadIdentity(
            "scorer",
            NS_SERVING,
            "scorer",
            bucket_read=(PREFIX_MODELS,),
            topics_read=(TOPIC_TRANSACTIONS,),
            topics_write=(TOPIC_SCORES, TOPIC_DLQ),
            group=GROUP_SCORER,
        ),
    )
}


TOPIC_ADMIN = WorkloadIdentity("topics", NS_PLATFORM, "topic-admin", topics_write=TOPICS)
"""Who creates the topics on MSK (`python -m workloads.topics`, a short Job on each `up`): not a
workload of `WORKLOADS` (the local target's topics are Strimzi KafkaTopics)."""
