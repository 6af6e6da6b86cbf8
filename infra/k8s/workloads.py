"""The workloads layer: service accounts for every workload identity, then what training runs
need (their template; the runs are started by `ascent train`, see `infra.k8s.training`) and the
feature stage that feeds them, the inference service and the stream scorer, all from the
platform contract and stack config."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.config import StackConfig
from infra.contract import PlatformContract
from infra.k8s import consumers
from infra.k8s.features import FEATURES, FeaturesArgs, FeatureStage
from infra.k8s.inference import InferenceArgs, InferenceService
from infra.k8s.pods import app_labels, plain
from infra.k8s.scorer import SCORER, ScorerArgs, StreamScorer
from infra.k8s.topics import PlatformTopics, TopicsArgs
from infra.k8s.topics import needed as needs_topics
from infra.k8s.training import TEMPLATE, TrainingArgs, TrainingRuns


@dataclass(frozen=True)
class WorkloadsArgs:
    training: TrainingArgs
    inference: InferenceArgs
    scorer: ScorerArgs
    features: FeaturesArgs


def workloads_args(config: StackConfig, contract: PlatformContract) -> WorkloadsArgs:
    tag = config.image_tag
    stack = pulumi.get_stack()
    return WorkloadsArgs(
        training=TrainingArgs(
            contract,
            tag,
            nodes=config.training_nodes,
            active_deadline_seconds=config.training_active_deadline_seconds,
            schedule=config.training_schedule,
            stack=stack,
        ),
        inference=InferenceArgs(
            contract,
            tag,
            min_replicas=config.inference_min_replicas,
            max_replicas=config.inference_max_replicas,
            use_gpu=config.inference_use_gpu,
            monitoring=config.enable_monitoring,
        ),
        scorer=ScorerArgs(
            contract,
            tag,
            min_replicas=config.scorer_min_replicas,
            max_replicas=config.scorer_max_replicas,
            lag_threshold=config.scorer_lag_threshold,
            keda=config.enable_keda,
        ),
        features=FeaturesArgs(
            contract,
            tag,
            min_replicas=config.features_min_replicas,
            max_replicas=config.features_max_replicas,
            lag_threshold=config.features_lag_threshold,
            keda=config.enable_keda,
        ),
    )


class Workloads(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkloadsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:k8s:Workloads", name, None, opts)
        contract = args.training.contract
        self.service_accounts = {
            w.name: k8s.core.v1.ServiceAccount(
                f"{name}-sa-{w.name}",
                metadata=plain(
                    {
                        "name": w.service_account,
                        "namespace": w.namespace,
                        "labels": app_labels(w.name, "identity"),
                    }
                ),
                automount_service_account_token=False,  # no workload calls the Kubernetes API
                opts=pulumi.ResourceOptions(parent=self),
            )
            for w in contract.service_accounts.values()
        }
        after = pulumi.ResourceOptions(
            parent=self, depends_on=[*self.service_accounts.values(), *contract.depends_on]
        )
        self.topics = (
            PlatformTopics(f"{name}-topics", TopicsArgs(contract, args.training.image_tag), after)
            if needs_topics(contract)
            else None
        )
        topics = [self.topics] if self.topics else []
        with_topics = pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=topics))
        self.training = TrainingRuns(f"{name}-training", args.training, opts=with_topics)
        self.inference = InferenceService(f"{name}-inference", args.inference, opts=after)
        self.scorer = StreamScorer(f"{name}-scorer", args.scorer, opts=with_topics)
        self.features = FeatureStage(f"{name}-features", args.features, opts=with_topics)
        self.summary = summary(args)
        self.register_outputs({"workloads": self.summary})


def summary(args: WorkloadsArgs) -> dict[str, str]:
    """One line per workload and its autoscaler, for `ascent plan` and the stack outputs."""
    t, i = args.training, args.inference
    pools = t.contract.pools("training")
    where = f"pool {pools[0].name}, {pools[0].gpus_per_node} GPU/node" if pools else "CPU nodes"
    kind = f"Indexed Job x{t.nodes}" if t.nodes > 1 else "Job"
    when = f"schedule '{t.schedule}' and `ascent train`" if t.schedule else "`ascent train`"
    metrics = "cpu 70% + in-flight requests" if i.monitoring else "cpu 70%"
    return {
        "trainer": f"{kind} on {where}, from CronJob template '{TEMPLATE}' by {when}",
        "inference": f"Deployment + HPA {i.min_replicas}..{i.max_replicas} on {metrics}"
        + (" (GPU)" if i.use_gpu else ""),
        "scorer": consumers.summary(SCORER, args.scorer),
        "features": consumers.summary(FEATURES, args.features) + ", on CPU nodes",
    }
