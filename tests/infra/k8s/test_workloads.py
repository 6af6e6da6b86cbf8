"""The workloads layer on every stack, through the harness: what each object says, how GPU pods
are placed, and that the autoscalers target the right workloads within the right bounds."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from infra.config import parse_config
from infra.contract import GROUP_SCORER, NS_SERVING, NS_TRAINING, TOPIC_TRANSACTIONS
from infra.k8s.render import manifest, manifests
from infra.offline import Inventory, stack_config

STACKS = ("local", "aws-dev", "aws-prod")
GPU = "nvidia.com/gpu"
DIGEST = "sha256:" + "ab" * 32


def one(inv: Inventory, kind: str, name: str) -> dict[str, Any]:
    found = [
        manifest(r)
        for r in inv.resources
        if r.custom
        and r.type.endswith(f":{kind}")
        and r.inputs.get("metadata", {}).get("name") == name
    ]
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def pod_of(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


def gpu_problems(pod: dict[str, Any]) -> list[str]:
    """What keeps a GPU pod off its GPU nodes: no GPU limit, or no toleration for the taint."""
    problems = []
    for c in pod["containers"]:
        res = c.get("resources", {})
        if GPU in res.get("requests", {}) and GPU not in res.get("limits", {}):
            problems.append(f"{c['name']}: requests {GPU} without a limit")
    wants_gpu = any(GPU in c.get("resources", {}).get("limits", {}) for c in pod["containers"])
    tolerated = any(t.get("key") == GPU for t in pod.get("tolerations", []))
    if wants_gpu and not tolerated:
        problems.append(f"asks for {GPU} but does not tolerate the {GPU} taint")
    return problems


def workload_pods(inv: Inventory) -> dict[str, dict[str, Any]]:
    return {
        "trainer": pod_of(one(inv, "Job", "trainer")),
        "inference": pod_of(one(inv, "Deployment", "inference")),
        "scorer": pod_of(one(inv, "Deployment", "scorer")),
    }


@pytest.fixture(scope="module")
def variants(run_stack) -> dict[str, Inventory]:
    """Shipped stacks with the options the shipped files leave off."""
    return {
        "multi-node": run_stack(
            "aws-prod", trainingNodes=2, trainingSchedule="0 3 * * 1", enableMonitoring=True
        ),
        "digest": run_stack("local", imageTag=DIGEST, enableMonitoring=True),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_workload_runs_restricted_with_requests_and_limits(inventories, stack):
    for name, pod in workload_pods(inventories[stack]).items():
        sec = pod["securityContext"]
        assert sec["runAsNonRoot"] and sec["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["serviceAccountName"] == name
        for c in pod["containers"]:
            cs = c["securityContext"]
            assert cs["readOnlyRootFilesystem"] and not cs["allowPrivilegeEscalation"]
            assert cs["capabilities"] == {"drop": ["ALL"]}
            assert (
                {"cpu", "memory"}
                <= set(c["resources"]["requests"])
                <= set(c["resources"]["limits"])
            )
            assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"])
        assert gpu_problems(pod) == []


@pytest.mark.parametrize("stack", STACKS)
def test_images_come_from_the_contract_registry_with_the_configured_tag(inventories, stack):
    config = parse_config(stack_config(stack))
    for name, pod in workload_pods(inventories[stack]).items():
        image = pod["containers"][0]["image"]
        assert image.endswith(f":{config.image_tag}") and not image.endswith(":latest"), name
        repo = "training" if name == "trainer" else "inference"
        assert image.split(":")[0].endswith(repo) or repo in image


def test_a_digest_pins_images_by_digest(variants):
    for pod in workload_pods(variants["digest"]).values():
        assert pod["containers"][0]["image"].endswith(f"@{DIGEST}")


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_the_trainer_lands_on_the_training_pool_with_its_gpus(inventories, stack):
    pod = workload_pods(inventories[stack])["trainer"]
    (c,) = pod["containers"]
    assert c["resources"]["limits"][GPU] == "4"  # g6.12xlarge / g6e.12xlarge: 4 GPUs each
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    (expr,) = terms["nodeSelectorTerms"][0]["matchExpressions"]
    assert expr == {"key": "ascent.dev/pool", "operator": "In", "values": ["training"]}
    assert {"key": GPU, "operator": "Equal", "value": "true", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["NPROC_PER_NODE"] == "4" and "NNODES" not in env
    assert any(v["name"] == "shm" and v["emptyDir"]["medium"] == "Memory" for v in pod["volumes"])


def test_the_local_trainer_runs_on_cpu(inventories):
    pod = workload_pods(inventories["local"])["trainer"]
    assert GPU not in pod["containers"][0]["resources"]["limits"]
    assert "tolerations" not in pod and "affinity" not in pod


def test_a_gpu_pod_missing_its_toleration_or_limit_is_caught(inventories):
    pod = workload_pods(inventories["aws-prod"])["trainer"]
    untolerated = {**pod, "tolerations": []}
    assert gpu_problems(untolerated) == [f"asks for {GPU} but does not tolerate the {GPU} taint"]
    c = pod["containers"][0]
    no_limit = {
        **pod,
        "containers": [{**c, "resources": {**c["resources"], "limits": {"cpu": "1"}}}],
    }
    assert gpu_problems(no_limit) == [f"trainer: requests {GPU} without a limit"]


@pytest.mark.parametrize("stack", STACKS)
def test_training_job_retries_disruptions_not_application_errors(inventories, stack):
    config = parse_config(stack_config(stack))
    job = one(inventories[stack], "Job", "trainer")
    assert job["metadata"]["namespace"] == NS_TRAINING
    spec = job["spec"]
    assert spec["activeDeadlineSeconds"] == config.training_active_deadline_seconds
    assert spec["backoffLimit"] >= 1 and spec["ttlSecondsAfterFinished"] > 0
    ignore, fail = spec["podFailurePolicy"]["rules"]
    assert ignore == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}
    assert fail["action"] == "FailJob" and fail["onExitCodes"]["values"] == [1, 2, 3]
    assert pod_of(job)["restartPolicy"] == "Never"
    assert "completionMode" not in spec  # one node: a plain Job


def test_multi_node_training_is_an_indexed_job_with_a_rendezvous_service(variants):
    inv = variants["multi-node"]
    job = one(inv, "Job", "trainer")
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == 2
    service = one(inv, "Service", "trainer")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == {"job-name": "trainer"}
    pod = pod_of(job)
    assert pod["subdomain"] == "trainer"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["NNODES"] == "2" and env["NPROC_PER_NODE"] == "4"
    assert env["RDZV_ENDPOINT"] == f"trainer-0.trainer.{NS_TRAINING}.svc:29400"


def test_a_schedule_adds_a_cronjob_for_retraining(variants, inventories):
    cron = one(variants["multi-node"], "CronJob", "trainer-scheduled")
    assert cron["spec"]["schedule"] == "0 3 * * 1"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert gpu_problems(pod_of(cron)) == []
    assert not inventories["aws-prod"].of_type("kubernetes:batch/v1:CronJob")


@pytest.mark.parametrize("stack", STACKS)
def test_inference_deployment_probes_drains_and_spreads(inventories, stack):
    config = parse_config(stack_config(stack))
    deployment = one(inventories[stack], "Deployment", "inference")
    assert deployment["metadata"]["namespace"] == NS_SERVING
    assert deployment["spec"]["replicas"] == config.inference_min_replicas
    pod = pod_of(deployment)
    (c,) = pod["containers"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert c["startupProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] > 0
    assert pod["terminationGracePeriodSeconds"] > c["lifecycle"]["preStop"]["sleep"]["seconds"]
    keys = {t["topologyKey"] for t in pod["topologySpreadConstraints"]}
    assert "topology.kubernetes.io/zone" in keys
    has_gpu = GPU in c["resources"]["limits"]
    assert has_gpu == config.inference_use_gpu
    if has_gpu:
        assert pod["affinity"]["nodeAffinity"]  # on the inference pool
    service = one(inventories[stack], "Service", "inference")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    pdb = one(inventories[stack], "PodDisruptionBudget", "inference")
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    assert pdb["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("stack", STACKS)
def test_hpa_scales_the_inference_deployment_on_cpu(inventories, stack):
    config = parse_config(stack_config(stack))
    hpa = one(inventories[stack], "HorizontalPodAutoscaler", "inference")
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "inference",
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (
        config.inference_min_replicas,
        config.inference_max_replicas,
    )
    assert [m["type"] for m in spec["metrics"]] == ["Resource"]
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
    assert not inventories[stack].of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")


def test_with_monitoring_the_hpa_also_reads_in_flight_requests(variants):
    inv = variants["multi-node"]
    metrics = one(inv, "HorizontalPodAutoscaler", "inference")["spec"]["metrics"]
    pods = [m for m in metrics if m["type"] == "Pods"]
    assert pods[0]["pods"]["metric"]["name"] == "ascent_inference_in_flight_requests"
    monitor = one(inv, "ServiceMonitor", "inference")
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    adapter = inv.named("addons-prometheus-adapter")
    (rule,) = adapter.inputs["values"]["rules"]["custom"]
    assert "ascent_inference_in_flight_requests" in rule["seriesQuery"]


@pytest.mark.parametrize("stack", STACKS)
def test_keda_scales_the_scorer_on_its_lag_within_the_partitions(inventories, stack):
    config = parse_config(stack_config(stack))
    inv = inventories[stack]
    scaled = one(inv, "ScaledObject", "scorer")["spec"]
    assert scaled["scaleTargetRef"]["name"] == "scorer"
    one(inv, "Deployment", "scorer")
    assert scaled["minReplicaCount"] == config.scorer_min_replicas
    assert scaled["minReplicaCount"] == (1 if config.environment == "prod" else 0)
    partitions = config.scorer_max_replicas  # both targets create the topic with this many
    assert 1 <= scaled["maxReplicaCount"] <= partitions
    (trigger,) = scaled["triggers"]
    meta = trigger["metadata"]
    assert trigger["type"] == "kafka" and trigger["authenticationRef"] == {"name": "scorer-kafka"}
    assert (meta["consumerGroup"], meta["topic"]) == (GROUP_SCORER, TOPIC_TRANSACTIONS)
    assert meta["lagThreshold"] == str(config.scorer_lag_threshold)
    assert int(meta["activationLagThreshold"]) >= 1 and meta["tls"] == "enable"
    auth = one(inv, "TriggerAuthentication", "scorer-kafka")["spec"]
    if config.target == "aws":
        assert meta["sasl"] == "aws_msk_iam" and meta["awsRegion"] == config.region
        assert auth == {"podIdentity": {"provider": "aws"}}
    else:
        assert meta["sasl"] == "scram_sha512"
        params = {r["parameter"]: r["name"] for r in auth["secretTargetRef"]}
        assert set(params) == {"username", "password", "ca"}
        env = pod_of(one(inv, "Deployment", "scorer"))["containers"][0]["env"]
        user_secret = next(e for e in env if e["name"] == "KAFKA_USERNAME")
        assert params["username"] == user_secret["valueFrom"]["secretKeyRef"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_workloads_wait_for_their_service_accounts(inventories, stack):
    inv = inventories[stack]
    accounts = inv.of_type("kubernetes:core/v1:ServiceAccount")
    names = {(a.inputs["metadata"]["namespace"], a.inputs["metadata"]["name"]) for a in accounts}
    assert {(NS_TRAINING, "trainer"), (NS_SERVING, "inference"), (NS_SERVING, "scorer")} <= names
    for component in ("workloads-training", "workloads-inference", "workloads-scorer"):
        comp = inv.named(component)
        assert all(inv.depends_on(comp, a) for a in accounts if "workloads-sa" in a.name)


@pytest.mark.parametrize("variant", ["multi-node", "digest"])
def test_variant_objects_validate_strictly(variants, variant):
    inv = variants[variant]
    stack = "aws-prod" if variant == "multi-node" else "local"
    version = parse_config(stack_config(stack)).kubernetes_version + ".0"
    for doc in manifests(inv):
        kubernetes_validate.validate(doc, version, strict=True)


def test_keda_reads_lag_on_aws_with_a_describe_only_role(inventories):
    import json

    inv = inventories["aws-prod"]
    role = inv.named("keda-identity-policy")
    policy = role.inputs["policy"]
    doc = json.loads(policy) if isinstance(policy, str) else policy
    actions = {a for s in doc["Statement"] for a in s["Action"]}
    assert actions == {
        "kafka-cluster:Connect",
        "kafka-cluster:DescribeCluster",
        "kafka-cluster:DescribeTopic",
        "kafka-cluster:DescribeGroup",
    }
    binding = inv.named("keda-identity-binding")
    assert (binding.inputs["namespace"], binding.inputs["serviceAccount"]) == (
        "keda",
        "keda-operator",
    )
