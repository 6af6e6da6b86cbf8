"""The training workload: what a training run needs, declared; the runs themselves are not.

A run takes hours on a GPU pool that starts at zero nodes, and pulumi-kubernetes awaits a
`batch/v1` Job until it completes (10 minutes by default), so a Job in the program makes the
first `pulumi up` hang and then fail, and every later `up` replace (and so restart) training.
Runs are therefore not infrastructure. The program declares:

- the run TEMPLATE, a CronJob named `trainer` (`TEMPLATE`) whose `jobTemplate` is the run
  (`job_template`). A CronJob is not awaited. Without `trainingSchedule` it is suspended
  (`spec.suspend: true`) and only instantiated on demand, by `ascent train --stack S`
  (`infra/train.py`, through `run_job`) or `kubectl create job --from=cronjob/trainer NAME`;
  with a schedule it also starts runs on that schedule.
- for a multi-node run (an Indexed Job), the headless Service `trainer` its pods resolve under
  (`trainer-<run>-<index>.trainer.training.svc`) for torchrun's c10d rendezvous. A headless
  Service is not awaited either. The rendezvous host and id come from the run's own name
  (the pod label `batch.kubernetes.io/job-name`), so every run, scheduled or manual, meets at
  its own index 0.
- the RBAC to start and follow runs (`runner_rules`): a Role in the training namespace bound
  to the Kubernetes group `RUNNERS_GROUP` (the trainer's own ServiceAccount is declared with the
  other workload identities; its pods call no Kubernetes API).

Retries: spot reclaims and drains (the pod's `DisruptionTarget` condition) do not count against
`backoffLimit`; the trainer's own failures (exit 1: a failed run, 2: bad settings, 3: the metric
gate) fail the Job at once, since a retry would fail the same way. After a retry the trainer
resumes from its last checkpoint.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import NS_TRAINING, TOPIC_FEATURES, PlatformContract
from infra.k8s.pods import (
    app_labels,
    container_security,
    env,
    gpu_placement,
    kafka_ca,
    plain,
    resources,
    restricted_pod,
    scratch_volumes,
)

CONTAINER = "trainer"
TEMPLATE = "trainer"  # the CronJob every run is made from
RENDEZVOUS = "trainer"  # the headless Service (and the pods' subdomain) of multi-node runs
RDZV_PORT = 29400
APP_ERROR_EXIT_CODES = [1, 2, 3]
BACKOFF_LIMIT = 6
TTL_AFTER_FINISHED_S = 7 * 24 * 3600
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # set on a Job's pods by the Job controller
STACK_ANNOTATION = "ascent.dev/stack"  # which Pulumi stack declared the template
MANUAL_ANNOTATION = {"cronjob.kubernetes.io/instantiate": "manual"}  # as kubectl marks it
# A suspended CronJob never starts a run; its schedule only has to parse.
UNSCHEDULED = "0 0 1 1 *"
FEATURE_INPUT = {"TRAIN_INPUT": "features", "TRAIN_TOPIC": TOPIC_FEATURES}
"""Runs read the feature stage's Arrow batches (`infra/k8s/features.py`), never raw JSON (flags
win over these: `--input records --topic transactions` still trains on the records)."""
RUNNERS_GROUP = "ascent:training-runners"
"""The Kubernetes group allowed to start and follow runs (map CI's and people's IAM principals
to it with an EKS access entry; cluster admins can already)."""


@dataclass(frozen=True)
class TrainingArgs:
    contract: PlatformContract
    image_tag: str
    nodes: int = 1
    active_deadline_seconds: int = 86400
    schedule: str = ""  # cron; empty: the template is suspended (runs only on demand)
    args: tuple[str, ...] = ("--idle-timeout-s", "300", "--fail-on-gate")
    stack: str = ""  # the Pulumi stack, recorded on the template for `ascent train --stack`


def failure_policy() -> dict[str, Any]:
    return {
        "rules": [
            {
                "action": "Ignore",
                # `status` is required by the batch/v1 schema of Kubernetes 1.34
                "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
            },
            {
                "action": "FailJob",
                "onExitCodes": {
                    "containerName": CONTAINER,
                    "operator": "In",
                    "values": APP_ERROR_EXIT_CODES,
                },
            },
        ]
    }


def rendezvous_env(nodes: int) -> list[dict[str, Any]]:
    """torchrun's settings for a run over `nodes` nodes, from the run's own (Job) name: the
    rendezvous host is the run's index-0 pod under the headless Service. Kubernetes expands
    `$(RUN_NAME)` from the variable defined before it."""
    host = f"$(RUN_NAME)-0.{RENDEZVOUS}.{NS_TRAINING}.svc"
    return [
        {
            "name": "RUN_NAME",
            "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{JOB_NAME_LABEL}']"}},
        },
        {"name": "NNODES", "value": str(nodes)},
        {"name": "RDZV_ENDPOINT", "value": f"{host}:{RDZV_PORT}"},
        {"name": "RDZV_ID", "value": "$(RUN_NAME)"},
    ]


def training_pod(args: TrainingArgs) -> dict[str, Any]:
    """The trainer's pod template spec: on the training pool with its GPUs, or on CPU nodes."""
    contract = args.contract
    pools = contract.pools("training")
    gpus = pools[0].gpus_per_node if pools else 0
    volumes, mounts = scratch_volumes(shm=bool(gpus))
    ca_volumes, ca_mounts = kafka_ca(contract, NS_TRAINING)
    sizing = resources("8", "32Gi", "16", gpus) if gpus else resources("1", "4Gi", "2")
    multi = args.nodes > 1
    container = {
        "name": CONTAINER,
        "image": contract.image("training", args.image_tag),
        "imagePullPolicy": "IfNotPresent",
        "args": list(args.args),
        "env": env(contract, "trainer", NPROC_PER_NODE=max(gpus, 1), **FEATURE_INPUT)
        + (rendezvous_env(args.nodes) if multi else []),
        "resources": sizing,
        "securityContext": container_security(),
        "volumeMounts": mounts + ca_mounts,
    }
    extra: dict[str, Any] = {"subdomain": RENDEZVOUS} if multi else {}
    return restricted_pod(
        contract,
        "trainer",
        container,
        volumes + ca_volumes,
        restartPolicy="Never",
        **extra,
        **gpu_placement(pools),
    )


def job_spec(args: TrainingArgs) -> dict[str, Any]:
    """A run's Job spec: retries, deadline, TTL, the pod; Indexed over `nodes` when > 1."""
    spec: dict[str, Any] = {
        "backoffLimit": BACKOFF_LIMIT,
        "podFailurePolicy": failure_policy(),
        "activeDeadlineSeconds": args.active_deadline_seconds,
        "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_S,
        "template": {
            "metadata": {"labels": app_labels("trainer", "training")},
            "spec": training_pod(args),
        },
    }
    if args.nodes > 1:
        spec |= {
            "completionMode": "Indexed",
            "completions": args.nodes,
            "parallelism": args.nodes,
        }
    return spec


def job_template(args: TrainingArgs) -> dict[str, Any]:
    """The template's `jobTemplate`: what every run is (the labels let runs be listed)."""
    return {"metadata": {"labels": app_labels("trainer", "training")}, "spec": job_spec(args)}


def cronjob_spec(args: TrainingArgs) -> dict[str, Any]:
    return {
        "schedule": args.schedule or UNSCHEDULED,
        "suspend": not args.schedule,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 3600,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": job_template(args),
    }


def run_job(name: str, template: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    """A run: the Job `name` made from a template's `jobTemplate` (plain data, as the API
    returns it), as `kubectl create job --from=cronjob/trainer` makes it, minus the owner
    reference (deleting or replacing the template must not take running runs with it)."""
    meta = template.get("metadata") or {}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": NS_TRAINING,
            "labels": dict(meta.get("labels") or {}),
            "annotations": {**annotations, **MANUAL_ANNOTATION, **(meta.get("annotations") or {})},
        },
        "spec": copy.deepcopy(template["spec"]),
    }


def runner_rules() -> list[dict[str, Any]]:
    """What starting and following a run takes: read the template, create, watch and delete
    runs, and read their pods and logs."""
    return [
        {"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": ["get", "list"]},
        {
            "apiGroups": ["batch"],
            "resources": ["jobs"],
            "verbs": ["get", "list", "watch", "create", "delete"],
        },
        {"apiGroups": ["batch"], "resources": ["jobs/status"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]},
    ]


class TrainingRuns(pulumi.ComponentResource):
    """The template of training runs, the multi-node rendezvous Service and the runners' RBAC;
    never a Job (see the module docstring)."""

    def __init__(self, name: str, args: TrainingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:k8s:TrainingRuns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = app_labels("trainer", "training")
        self.service: k8s.core.v1.Service | None = None
        if args.nodes > 1:
            self.service = k8s.core.v1.Service(
                f"{name}-rendezvous",
                metadata=plain({"name": RENDEZVOUS, "namespace": NS_TRAINING, "labels": labels}),
                spec=plain(
                    {
                        "clusterIP": "None",  # headless: not awaited, one record per pod
                        "selector": labels,
                        "ports": [{"name": "c10d", "port": RDZV_PORT, "targetPort": RDZV_PORT}],
                        "publishNotReadyAddresses": True,
                    }
                ),
                opts=child,
            )
        annotations = {STACK_ANNOTATION: args.stack} if args.stack else {}
        self.template = k8s.batch.v1.CronJob(
            f"{name}-template",
            metadata=plain(
                {
                    "name": TEMPLATE,
                    "namespace": NS_TRAINING,
                    "labels": labels,
                    "annotations": annotations,
                }
            ),
            spec=plain(cronjob_spec(args)),
            opts=child,
        )
        runner = {"name": "training-runner", "namespace": NS_TRAINING, "labels": labels}
        self.role = k8s.rbac.v1.Role(
            f"{name}-runner-role", metadata=plain(runner), rules=plain(runner_rules()), opts=child
        )
        self.role_binding = k8s.rbac.v1.RoleBinding(
            f"{name}-runner-binding",
            metadata=plain(runner),
            role_ref=plain(
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "training-runner"}
            ),
            subjects=plain(
                [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": RUNNERS_GROUP}]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role]),
        )
        self.register_outputs({"template": self.template.metadata["name"]})
