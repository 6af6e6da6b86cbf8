"""Names both targets and the workloads agree on: topics, consumer groups, prefixes, identities.

Plain Python (no Pulumi import): the workload images import it too.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kafka topics and consumer groups
TOPIC_TRANSACTIONS = "transactions"
TOPIC_SCORES = "fraud-scores"
TOPIC_DLQ = "transactions-dlq"
TOPIC_FEATURES = "features"  # Arrow record batches of decoded transactions, for the trainer
TOPICS = (TOPIC_TRANSACTIONS, TOPIC_SCORES, TOPIC_DLQ, TOPIC_FEATURES)
GROUP_TRAINER = "trainer"
GROUP_SCORER = "fraud-scores"
GROUP_FEATURES = "features"

# Object storage: one bucket, one prefix per kind of artifact
PREFIX_DATASETS = "datasets/"
PREFIX_CHECKPOINTS = "checkpoints/"
PREFIX_MODELS = "models/"
PREFIX_DEAD_LETTERS = "dead-letters/"  # dead-letter payloads too large for a Kafka record

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
            bucket_write=(PREFIX_DATASETS, PREFIX_CHECKPOINTS, PREFIX_MODELS, PREFIX_DEAD_LETTERS),
            # the feature stage's batches; `transactions` too, for a run with `--input records`
            topics_read=(TOPIC_FEATURES, TOPIC_TRANSACTIONS),
            topics_write=(TOPIC_DLQ,),
            group=GROUP_TRAINER,
        ),
        WorkloadIdentity("inference", NS_SERVING, "inference", bucket_read=(PREFIX_MODELS,)),
        WorkloadIdentity(
            "scorer",
            NS_SERVING,
            "scorer",
            bucket_read=(PREFIX_MODELS,),
            bucket_write=(PREFIX_DEAD_LETTERS,),
            topics_read=(TOPIC_TRANSACTIONS,),
            topics_write=(TOPIC_SCORES, TOPIC_DLQ),
            group=GROUP_SCORER,
        ),
        WorkloadIdentity(  # the feature stage: transactions -> Arrow batches for the trainer
            "features",
            NS_TRAINING,
            "features",
            bucket_write=(PREFIX_DEAD_LETTERS,),
            topics_read=(TOPIC_TRANSACTIONS,),
            topics_write=(TOPIC_FEATURES, TOPIC_DLQ),
            group=GROUP_FEATURES,
        ),
    )
}

LAG_SCALED: dict[str, str] = {"scorer": TOPIC_TRANSACTIONS, "features": TOPIC_TRANSACTIONS}
"""The workloads KEDA scales on their consumer group's lag (workload -> the topic it reads the
lag over): their ScaledObjects, and on MSK what KEDA's operator role may describe."""


TOPIC_ADMIN = WorkloadIdentity("topics", NS_PLATFORM, "topic-admin", topics_write=TOPICS)
"""Who creates the topics on MSK (`python -m workloads.topics`, a short Job on each `up`): not a
workload of `WORKLOADS` (the local target's topics are Strimzi KafkaTopics)."""
