"""Kubernetes rules: a GPU Deployment that every rule of the pack accepts, and one compliant
object of each other type the Kubernetes rules look at (Pod, StatefulSet, DaemonSet, Job,
CronJob, Service, PodDisruptionBudget, HorizontalPodAutoscaler)."""

from __future__ import annotations

import copy
from typing import Any

from tests.policies.cases import DELETE, Case, Mutation

POD_TYPE = "kubernetes:core/v1:Pod"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
SERVICE = "kubernetes:core/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"

GPU = "nvidia.com/gpu"
MIG = "nvidia.com/mig-1g.10gb"
GPU_TOLERATION = {"key": GPU, "operator": "Exists", "effect": "NoSchedule"}
EVERY_TAINT = {"operator": "Exists"}  # no key: tolerates every taint, the GPU one included
SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"


def resources(gpu: str | None = None, count: str = "1") -> dict[str, Any]:
    requests: dict[str, Any] = {"cpu": "1", "memory": "1Gi"}
    limits: dict[str, Any] = {"cpu": "2", "memory": "1Gi"}
    if gpu:
        requests[gpu] = limits[gpu] = count
    return {"requests": requests, "limits": limits}


def container(name: str, image: str, gpu: str | None = None, **extra: Any) -> dict[str, Any]:
    """A restricted container: no escalation, read-only root, no capabilities."""
    return {
        "name": name,
        "image": image,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": resources(gpu),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        **extra,
    }


def pod(*containers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A restricted pod spec: non-root, RuntimeDefault seccomp, no API token, GPU toleration."""
    return {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "automountServiceAccountToken": False,
        "tolerations": [GPU_TOLERATION],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
        "containers": list(containers),
        **extra,
    }


PROBE = {"httpGet": {"path": "/", "port": 80}}
TRAINER = container("trainer", "repo/training:abc123", GPU, readinessProbe=PROBE)
GPU_POD = {"spec": {"template": {"spec": pod(TRAINER)}}}  # a Deployment
POD = ("spec", "template", "spec")
C = (*POD, "containers", 0)  # the first container
SC = (*C, "securityContext")

# A Pod that a controller owns, with an init container.
OWNED_POD = {
    "metadata": {
        "ownerReferences": [
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Workflow",
                "name": "w",
                "uid": "u",
                "controller": True,
            }
        ]
    },
    "spec": pod(
        container("trainer", "repo/training@sha256:" + "a" * 64, GPU),
        initContainers=[container("fetch", "repo/fetch:v1")],
    ),
}
# A GPU StatefulSet tolerating every taint; its containers (not the pod) pick the profile.
_sts_pod = pod(container("shard", "repo/shard:v2", GPU), tolerations=[EVERY_TAINT])
_sts_pod["securityContext"].pop("seccompProfile")
_sts_pod["containers"][0]["securityContext"]["seccompProfile"] = {
    "type": "Localhost",
    "localhostProfile": "profiles/shard.json",
}
STATEFUL = {"spec": {"serviceName": "shard", "template": {"spec": _sts_pod}}}
STS_POD = ("spec", "template", "spec")
# A node agent: runs on GPU nodes too (tolerates every taint) without asking for a GPU.
_agent = container("agent", "repo/agent:v3")
_agent["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
NODE_AGENT = {"spec": {"template": {"spec": pod(_agent, tolerations=[EVERY_TAINT])}}}
DS_POD = ("spec", "template", "spec")
# A training Job on a MIG slice.
MIG_JOB = {
    "spec": {
        "activeDeadlineSeconds": 86400,
        "ttlSecondsAfterFinished": 604800,
        "backoffLimit": 3,
        "template": {
            "spec": pod(container("trainer", "repo/training:abc123", MIG), restartPolicy="Never")
        },
    }
}
JOB_POD = ("spec", "template", "spec")
CRON = {"spec": {"schedule": "0 3 * * *", "jobTemplate": copy.deepcopy(MIG_JOB)}}
LB_SERVICE = {
    "metadata": {"annotations": {SCHEME: "internal"}},
    "spec": {"type": "LoadBalancer", "selector": {"app": "inference"}, "ports": [{"port": 80}]},
}
LEGACY_LB_SERVICE = {**LB_SERVICE, "metadata": {"annotations": {INTERNAL: "true"}}}
PDB_SPEC = {"spec": {"selector": {"matchLabels": {"app": "inference"}}, "maxUnavailable": 1}}
MIN_PDB = {"spec": {"selector": {"matchLabels": {"app": "inference"}}, "minAvailable": "50%"}}
AUTOSCALER = {
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "inference"},
        "minReplicas": 1,
        "maxReplicas": 4,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ],
    }
}
CPU_ONLY = resources()


def _case(rule: str, *mutations: Mutation) -> Case:
    return Case(rule, DEPLOYMENT, GPU_POD, mutations)


CASES = [
    _case(
        "k8s-container-requests-limits",
        Mutation((*C, "resources", "limits", "memory"), DELETE, "lacks limits.memory"),
    ),
    _case(
        "k8s-gpu-pod-toleration-and-limit",
        Mutation((*POD, "tolerations"), [], "does not tolerate"),
        Mutation((*C, "resources", "limits", GPU), DELETE, f"requests {GPU} without a limit"),
        Mutation(
            (*POD, "tolerations"), [{**GPU_TOLERATION, "effect": "NoExecute"}], "does not tolerate"
        ),
        Mutation(
            (*C, "resources"),
            {"requests": {**CPU_ONLY["requests"], MIG: "1"}, "limits": CPU_ONLY["limits"]},
            f"requests {MIG} without a limit",
        ),
    ),
    Case(
        "k8s-gpu-pod-toleration-and-limit",
        JOB,
        MIG_JOB,
        (Mutation((*JOB_POD, "tolerations"), [], "does not tolerate"),),
    ),
    # a key-less Exists toleration tolerates the GPU taint; Equal without a key tolerates none
    Case(
        "k8s-gpu-pod-toleration-and-limit",
        STATEFUL_SET,
        STATEFUL,
        (Mutation((*STS_POD, "tolerations", 0, "operator"), "Equal", "does not tolerate"),),
    ),
    _case(
        "k8s-gpu-toleration-needs-gpu",
        Mutation((*C, "resources"), CPU_ONLY, "asks for no GPU"),
        Mutation((*C, "resources"), resources(GPU, "0"), "asks for no GPU"),
    ),
    Case(
        "k8s-gpu-toleration-needs-gpu",
        STATEFUL_SET,
        STATEFUL,
        (Mutation((*STS_POD, "containers", 0, "resources"), CPU_ONLY, "asks for no GPU"),),
    ),
    _case(
        "k8s-no-privileged-containers",
        Mutation((*SC, "privileged"), True, "is privileged"),
        Mutation((*SC, "allowPrivilegeEscalation"), True, "privilege escalation"),
        Mutation((*SC, "allowPrivilegeEscalation"), DELETE, "privilege escalation (unset"),
    ),
    _case(
        "k8s-capabilities-drop-all",
        Mutation((*SC, "capabilities", "add"), ["SYS_ADMIN"], "adds capabilities SYS_ADMIN"),
        Mutation(
            (*SC, "capabilities", "add"),
            ["NET_BIND_SERVICE", "NET_ADMIN"],
            "capabilities NET_ADMIN",
        ),
        Mutation((*SC, "capabilities", "drop"), ["NET_RAW"], "does not drop ALL"),
        Mutation((*SC, "capabilities"), DELETE, "does not drop ALL"),
    ),
    _case(
        "k8s-no-host-access",
        Mutation((*POD, "hostNetwork"), True, "network namespace"),
        Mutation((*POD, "hostPID"), True, "process namespace"),
        Mutation((*POD, "hostIPC"), True, "IPC namespace"),
        Mutation(
            (*POD, "volumes"),
            [
                {"name": "tmp", "emptyDir": {}},
                {"name": "runtime", "hostPath": {"path": "/run/containerd"}},
            ],
            "host path /run/containerd",
        ),
        Mutation((*C, "ports"), [{"containerPort": 80, "hostPort": 80}], "host port 80"),
    ),
    Case(
        "k8s-no-host-access",
        DAEMON_SET,
        NODE_AGENT,
        (Mutation((*DS_POD, "hostNetwork"), True, "network namespace"),),
    ),
    _case(
        "k8s-run-as-non-root",
        Mutation((*POD, "securityContext", "runAsNonRoot"), False, "may run as root"),
        Mutation((*POD, "securityContext", "runAsNonRoot"), DELETE, "no runAsNonRoot"),
        Mutation((*SC, "runAsNonRoot"), False, "may run as root (runAsNonRoot false)"),
        Mutation((*SC, "runAsUser"), 0, "container trainer runs as root"),
        Mutation((*POD, "securityContext", "runAsUser"), 0, "pod runs as root"),
    ),
    Case(
        "k8s-run-as-non-root",
        POD_TYPE,
        OWNED_POD,
        (
            Mutation(
                ("spec", "initContainers", 0, "securityContext", "runAsUser"),
                0,
                "container fetch runs as root",
            ),
        ),
    ),
    _case(
        "k8s-pinned-images",
        Mutation((*C, "image"), "repo/training:latest", "latest tag"),
        Mutation((*C, "image"), "repo/training", "no tag"),
        Mutation((*C, "image"), "localhost:5001/training", "no tag"),
    ),
    _case(
        "k8s-deployment-readiness-probe",
        Mutation((*C, "readinessProbe"), DELETE, "no readinessProbe"),
    ),
    _case(
        "k8s-seccomp-profile",
        Mutation((*POD, "securityContext", "seccompProfile"), DELETE, "no seccomp profile"),
        Mutation((*POD, "securityContext", "seccompProfile", "type"), "Unconfined", "Unconfined"),
        Mutation((*SC, "seccompProfile"), {"type": "Unconfined"}, "Unconfined"),
    ),
    Case(
        "k8s-seccomp-profile",
        STATEFUL_SET,
        STATEFUL,
        (
            Mutation(
                (*STS_POD, "containers", 0, "securityContext", "seccompProfile"),
                DELETE,
                "no seccomp profile",
            ),
        ),
    ),
    _case(
        "k8s-read-only-root-filesystem",
        Mutation((*SC, "readOnlyRootFilesystem"), DELETE, "writable root filesystem"),
        Mutation((*SC, "readOnlyRootFilesystem"), False, "writable root filesystem"),
    ),
    Case(
        "k8s-read-only-root-filesystem",
        POD_TYPE,
        OWNED_POD,
        (
            Mutation(
                ("spec", "initContainers", 0, "securityContext", "readOnlyRootFilesystem"),
                False,
                "container fetch has a writable root",
            ),
        ),
    ),
    _case(
        "k8s-service-account-token-not-mounted",
        Mutation((*POD, "automountServiceAccountToken"), DELETE, "unset"),
        Mutation((*POD, "automountServiceAccountToken"), True, "automountServiceAccountToken true"),
    ),
    Case(
        "k8s-no-bare-pods",
        POD_TYPE,
        OWNED_POD,
        (
            Mutation(("metadata", "ownerReferences"), DELETE, "a bare Pod"),
            Mutation(("metadata", "ownerReferences", 0, "controller"), False, "a bare Pod"),
        ),
    ),
    Case(
        "k8s-job-deadline-and-ttl",
        JOB,
        MIG_JOB,
        (
            Mutation(("spec", "activeDeadlineSeconds"), DELETE, "no activeDeadlineSeconds"),
            Mutation(("spec", "ttlSecondsAfterFinished"), DELETE, "no ttlSecondsAfterFinished"),
        ),
    ),
    Case(
        "k8s-job-deadline-and-ttl",
        CRON_JOB,
        CRON,
        (
            Mutation(
                ("spec", "jobTemplate", "spec", "activeDeadlineSeconds"),
                DELETE,
                "no activeDeadlineSeconds",
            ),
        ),
    ),
    Case(
        "k8s-service-internal-load-balancer",
        SERVICE,
        LB_SERVICE,
        (
            Mutation(("metadata", "annotations"), DELETE, "no internal annotation"),
            Mutation(("metadata", "annotations", SCHEME), "internet-facing", "internet-facing"),
            Mutation(("metadata", "annotations", INTERNAL), "false", f"{INTERNAL}: false"),
        ),
    ),
    Case(
        "k8s-service-internal-load-balancer",
        SERVICE,
        LEGACY_LB_SERVICE,
        (Mutation(("metadata", "annotations", INTERNAL), "false", "not internal"),),
    ),
    Case(
        "k8s-pdb-allows-disruption",
        PDB,
        PDB_SPEC,
        (
            Mutation(("spec", "maxUnavailable"), 0, "maxUnavailable 0"),
            Mutation(("spec", "maxUnavailable"), "0%", "maxUnavailable 0%"),
        ),
    ),
    Case(
        "k8s-pdb-allows-disruption",
        PDB,
        MIN_PDB,
        (Mutation(("spec", "minAvailable"), "100%", "minAvailable 100%"),),
    ),
    Case(
        "k8s-hpa-min-at-most-max",
        HPA,
        AUTOSCALER,
        (
            Mutation(("spec", "minReplicas"), 5, "minReplicas 5 > maxReplicas 4"),
            Mutation(("spec", "maxReplicas"), 0, "minReplicas 1 > maxReplicas 0"),
            Mutation(("spec", "maxReplicas"), DELETE, "no maxReplicas"),
        ),
    ),
]
