"""The workloads layer on every stack, through the harness: what each object says, how GPU pods
are placed, that the autoscalers target the right workloads within the right bounds, and that
nothing `pulumi up` would wait on for hours (a training Job) or forever (an unready server) is
declared as such."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import parse_config
from infra.contract import (
    GROUP_FEATURES,
    GROUP_SCORER,
    NS_SERVING,
    NS_TRAINING,
    TOPIC_FEATURES,
    TOPIC_TRANSACTIONS,
)
from infra.k8s.render import manifest
from infra.k8s.training import RUNNERS_GROUP
from infra.offline import Inventory, stack_config
from infra.train import job_from_template
from tests.infra.k8s.conftest import DIGEST, VARIANTS, declaring_stack

STACKS = ("local", "aws-dev", "aws-prod")
GPU = "nvidia.com/gpu"
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}


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
        "trainer": pod_of(one(inv, "CronJob", "trainer")),
        "inference": pod_of(one(inv, "Deployment", "inference")),
        "scorer": pod_of(one(inv, "Deployment", "scorer")),
        "features": pod_of(one(inv, "Deployment", "features")),
    }


def run_spec(inv: Inventory) -> dict[str, Any]:
    """The Job spec of a training run: the template CronJob's `jobTemplate.spec`."""
    spec: dict[str, Any] = one(inv, "CronJob", "trainer")["spec"]["jobTemplate"]["spec"]
    return spec


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
        repo = "training" if name in ("trainer", "features") else "inference"
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


@pytest.mark.parametrize("where", [*STACKS, *VARIANTS])
def test_no_training_job_is_declared_only_its_template(inventories, variants, where):
    """pulumi-kubernetes awaits a Job until it completes (hours, on a pool starting at zero
    nodes), so the program declares no Job (nor bare Pod): only the run template, a CronJob
    (not awaited), suspended unless a schedule is set."""
    inv = inventories[where] if where in inventories else variants[where]
    jobs = [j.name for j in inv.of_type("kubernetes:batch/v1:Job")]
    assert jobs in ([], ["workloads-topics-job"])  # the bounded topics bootstrap, on MSK only
    assert inv.of_type("kubernetes:core/v1:Pod") == []
    (template,) = inv.of_type("kubernetes:batch/v1:CronJob")
    spec = manifest(template)["spec"]
    _, overrides = VARIANTS.get(where, (where, {}))
    schedule = overrides.get("trainingSchedule", "")
    assert spec["suspend"] is (not schedule)
    if schedule:
        assert spec["schedule"] == schedule
    assert manifest(template)["metadata"]["annotations"] == {
        "ascent.dev/stack": declaring_stack(inv)
    }


@pytest.mark.parametrize("stack", STACKS)
def test_training_runs_retry_disruptions_not_application_errors(inventories, stack):
    config = parse_config(stack_config(stack))
    template = one(inventories[stack], "CronJob", "trainer")
    assert template["metadata"]["namespace"] == NS_TRAINING
    assert template["spec"]["concurrencyPolicy"] == "Forbid"
    spec = run_spec(inventories[stack])
    assert spec["activeDeadlineSeconds"] == config.training_active_deadline_seconds
    assert spec["backoffLimit"] >= 1 and spec["ttlSecondsAfterFinished"] > 0
    ignore, fail = spec["podFailurePolicy"]["rules"]
    # `status` is required by the 1.34 schema
    assert ignore == {
        "action": "Ignore",
        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
    }
    assert fail["action"] == "FailJob" and fail["onExitCodes"]["values"] == [1, 2, 3]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert "completionMode" not in spec  # one node: a plain Job
    assert (
        spec["template"]["metadata"]["labels"]
        == template["spec"]["jobTemplate"]["metadata"]["labels"]
    )


@pytest.mark.parametrize("variant", ["multi-node", "no-keda", "no-keda-aws"])
def test_multi_node_runs_are_indexed_and_meet_at_their_own_index_0(variants, variant):
    inv = variants[variant]
    nodes = VARIANTS[variant][1]["trainingNodes"]
    spec = run_spec(inv)
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == nodes
    service = one(inv, "Service", "trainer")
    assert service["spec"]["clusterIP"] == "None"  # headless: not awaited
    assert service["spec"]["selector"] == spec["template"]["metadata"]["labels"]
    pod = spec["template"]["spec"]
    assert pod["subdomain"] == "trainer"
    env = pod["containers"][0]["env"]
    names = [e["name"] for e in env]
    by_name = {e["name"]: e for e in env}
    # the run's name, from the label the Job controller sets, defined before its uses
    assert by_name["RUN_NAME"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}
    }
    assert names.index("RUN_NAME") < min(names.index("RDZV_ENDPOINT"), names.index("RDZV_ID"))
    assert by_name["NNODES"]["value"] == str(nodes)
    assert by_name["RDZV_ENDPOINT"]["value"] == f"$(RUN_NAME)-0.trainer.{NS_TRAINING}.svc:29400"
    assert by_name["RDZV_ID"]["value"] == "$(RUN_NAME)"


def test_a_schedule_makes_the_template_start_runs(variants, inventories):
    cron = one(variants["multi-node"], "CronJob", "trainer")
    assert cron["spec"]["schedule"] == "0 3 * * 1" and cron["spec"]["suspend"] is False
    assert gpu_problems(pod_of(cron)) == []
    assert one(inventories["aws-prod"], "CronJob", "trainer")["spec"]["suspend"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_runners_may_start_and_follow_runs_in_the_training_namespace_only(inventories, stack):
    inv = inventories[stack]
    role = one(inv, "Role", "training-runner")
    assert role["metadata"]["namespace"] == NS_TRAINING
    rules = {
        (r["apiGroups"][0], res): set(r["verbs"]) for r in role["rules"] for res in r["resources"]
    }
    assert rules[("batch", "jobs")] >= {"create", "get", "watch", "delete"}
    assert rules[("batch", "cronjobs")] == {"get", "list"}  # read the template, never change it
    assert all("*" not in verbs for verbs in rules.values())
    binding = one(inv, "RoleBinding", "training-runner")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "training-runner",
    }
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": RUNNERS_GROUP}
    ]
    assert not inv.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")


@pytest.mark.parametrize("stack", STACKS)
def test_inference_deployment_probes_drains_and_spreads(inventories, stack):
    config = parse_config(stack_config(stack))
    deployment = one(inventories[stack], "Deployment", "inference")
    assert deployment["metadata"]["namespace"] == NS_SERVING
    assert "replicas" not in deployment["spec"]  # the HPA's (see the day-2 tests)
    pod = pod_of(deployment)
    (c,) = pod["containers"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert c["startupProbe"]["httpGet"]["path"] == "/v2/health/live"
    probed = {c[p]["httpGet"]["port"] for p in ("readinessProbe", "livenessProbe", "startupProbe")}
    assert probed == {"http"}  # gRPC serves beside HTTP; the probes stay on HTTP
    assert [(p["name"], p["containerPort"]) for p in c["ports"]] == [
        ("http", 8080),
        ("grpc", 8081),
    ]
    assert {"name": "INFER_GRPC_PORT", "value": "8081"} in c["env"]
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
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http"},
        {"name": "grpc", "port": 8081, "targetPort": "grpc", "appProtocol": "grpc"},
    ]
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
        # the `kafka` scaler's MSK IAM: OAUTHBEARER with the aws_msk_iam token provider
        assert (meta["sasl"], meta["saslTokenProvider"]) == ("oauthbearer", "aws_msk_iam")
        assert meta["awsRegion"] == config.region and meta["tls"] == "enable"
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


@pytest.mark.parametrize("variant", ["no-keda", "no-keda-aws"])
def test_without_keda_the_scorer_runs_a_fixed_count_and_no_keda_object(variants, variant):
    """No KEDA, no KEDA CRDs: a ScaledObject would fail with "no matches for kind"."""
    inv = variants[variant]
    assert not [r for r in inv.resources if r.type.startswith("kubernetes:keda.sh/")]
    assert "addons-keda" not in {r.name for r in inv.resources}
    stack, overrides = VARIANTS[variant]
    config = parse_config(stack_config(stack, overrides=overrides))
    scorer = one(inv, "Deployment", "scorer")
    assert scorer["spec"]["replicas"] == max(1, config.scorer_min_replicas)
    assert "replicas" not in one(inv, "Deployment", "inference")["spec"]  # still the HPA's
    assert "no KEDA" in inv.outputs["workloads"]["scorer"]


@pytest.mark.parametrize("stack", STACKS)
def test_serving_is_not_awaited_by_pulumi(inventories, stack):
    """On a fresh stack no model exists, so the servers are never Ready during `up`."""
    inv = inventories[stack]
    unawaited = (("Deployment", "inference"), ("Service", "inference"), ("Deployment", "scorer"))
    for kind, name in unawaited:
        assert one(inv, kind, name)["metadata"]["annotations"] == SKIP_AWAIT, (kind, name)


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


# --- the feature stage: transactions -> Arrow batches for the trainer, on CPU nodes ---


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("stack", STACKS)
def test_the_feature_stage_runs_on_cpu_in_training_under_its_own_identity(inventories, stack):
    config = parse_config(stack_config(stack))
    deployment = one(inventories[stack], "Deployment", "features")
    assert deployment["metadata"]["namespace"] == NS_TRAINING
    assert deployment["metadata"]["annotations"] == SKIP_AWAIT  # not awaited, like the scorer
    assert "replicas" not in deployment["spec"]  # KEDA's (see the day-2 tests)
    pod = pod_of(deployment)
    assert pod["serviceAccountName"] == "features"
    assert pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] == 30
    # CPU nodes: no GPU, no GPU toleration, no pool affinity (the scorer's scheduling)
    assert "tolerations" not in pod and "affinity" not in pod and "nodeSelector" not in pod
    (c,) = pod["containers"]
    assert c["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    # the training image, whose ENTRYPOINT is the trainer's launcher: `command` replaces it
    assert "/training" in c["image"] and c["image"].endswith(f":{config.image_tag}")
    assert c["command"] == ["python", "-m", "workloads.training.features"]
    assert "args" not in c
    env = env_of(c)
    assert env["FEATURES_HEARTBEAT_FILE"] == "/tmp/heartbeat" and env["FEATURES_THREADS"] == "1"
    assert env["KAFKA_GROUP_ID"] == GROUP_FEATURES
    assert env["KAFKA_AUTH"] == ("aws-iam" if config.target == "aws" else "scram-sha-512")
    assert env["OBJECT_STORE_URL"].startswith("s3://")  # dead letters too large for Kafka
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert "/tmp/heartbeat" in c[probe]["exec"]["command"][-1], probe
    if config.target == "local":  # its own SCRAM user and MinIO user, the brokers' CA
        assert env["KAFKA_USERNAME"]["secretKeyRef"]["name"] == "kafka-features"
        assert env["AWS_ACCESS_KEY_ID"]["secretKeyRef"]["name"] == "minio-features"
        assert any(m["name"] == "kafka-ca" for m in c["volumeMounts"])
    else:
        assert "KAFKA_USERNAME" not in env and "AWS_ACCESS_KEY_ID" not in env  # Pod Identity


@pytest.mark.parametrize("stack", STACKS)
def test_the_feature_stage_probes_and_pod_match_the_scorers(inventories, stack):
    """Same heartbeat probes, security and volumes as the scorer (one helper, not a copy)."""
    inv = inventories[stack]
    scorer, features = (pod_of(one(inv, "Deployment", n)) for n in ("scorer", "features"))
    (sc,), (fc,) = scorer["containers"], features["containers"]
    for key in ("startupProbe", "livenessProbe", "readinessProbe", "securityContext"):
        assert fc[key] == sc[key], key
    assert features["securityContext"] == scorer["securityContext"]
    assert [v["name"] for v in features["volumes"]] == [v["name"] for v in scorer["volumes"]]


@pytest.mark.parametrize("stack", STACKS)
def test_keda_scales_the_feature_stage_on_its_lag_within_the_partitions(inventories, stack):
    config = parse_config(stack_config(stack))
    inv = inventories[stack]
    scaled_object = one(inv, "ScaledObject", "features")
    assert scaled_object["metadata"]["namespace"] == NS_TRAINING
    scaled = scaled_object["spec"]
    assert scaled["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "features"}  # fmt: skip
    assert scaled["minReplicaCount"] == config.features_min_replicas == 0
    partitions = config.scorer_max_replicas  # every platform topic has this many
    assert scaled["maxReplicaCount"] == min(config.features_max_replicas, partitions)
    (trigger,) = scaled["triggers"]
    meta = trigger["metadata"]
    assert trigger["authenticationRef"] == {"name": "features-kafka"}
    assert (meta["consumerGroup"], meta["topic"]) == (GROUP_FEATURES, TOPIC_TRANSACTIONS)
    assert meta["lagThreshold"] == str(config.features_lag_threshold) == "5000"
    # the same trigger as the scorer's but for group and threshold
    scorer = one(inv, "ScaledObject", "scorer")["spec"]["triggers"][0]["metadata"]
    assert {k: v for k, v in meta.items() if k not in ("consumerGroup", "lagThreshold")} == {
        k: v for k, v in scorer.items() if k not in ("consumerGroup", "lagThreshold")
    }
    auth = one(inv, "TriggerAuthentication", "features-kafka")
    assert auth["metadata"]["namespace"] == NS_TRAINING
    if config.target == "aws":
        assert auth["spec"] == {"podIdentity": {"provider": "aws"}}
    else:
        params = {r["parameter"]: r["name"] for r in auth["spec"]["secretTargetRef"]}
        assert params == {"username": "kafka-features", "password": "kafka-features",
                          "ca": "kafka-ca"}  # fmt: skip
    assert inventories[stack].outputs["workloads"]["features"] == (
        f"Deployment + KEDA 0..{scaled['maxReplicaCount']} on lag > 5000 of group features, "
        "on CPU nodes"
    )


@pytest.mark.parametrize("variant", ["no-keda", "no-keda-aws"])
def test_without_keda_the_feature_stage_runs_a_fixed_count(variants, variant):
    inv = variants[variant]
    stack, overrides = VARIANTS[variant]
    config = parse_config(stack_config(stack, overrides=overrides))
    features = one(inv, "Deployment", "features")
    assert features["spec"]["replicas"] == max(1, config.features_min_replicas) == 1
    assert "no KEDA" in inv.outputs["workloads"]["features"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_feature_stage_waits_for_its_service_account_and_the_topics(inventories, stack):
    inv = inventories[stack]
    stage = inv.named("workloads-features")
    (account,) = [a for a in inv.of_type("kubernetes:core/v1:ServiceAccount")
                  if a.inputs["metadata"]["name"] == "features"]  # fmt: skip
    assert account.inputs["metadata"]["namespace"] == NS_TRAINING
    assert inv.depends_on(stage, account)
    for job in inv.of_type("kubernetes:batch/v1:Job"):  # the topics bootstrap, on MSK
        assert inv.depends_on(stage, job)


@pytest.mark.parametrize("where", [*STACKS, *VARIANTS])
def test_training_runs_read_the_feature_stages_batches(inventories, variants, where):
    """The trainer never parses JSON on the GPU pods: runs read `features` (Arrow batches)."""
    inv = inventories[where] if where in inventories else variants[where]
    template = one(inv, "CronJob", "trainer")
    run = job_from_template(template, "trainer-20261201-120000")
    for spec in (pod_of(template), run["spec"]["template"]["spec"]):
        env = env_of(spec["containers"][0])
        assert (env["TRAIN_INPUT"], env["TRAIN_TOPIC"]) == ("features", TOPIC_FEATURES)
        assert env["KAFKA_GROUP_ID"] == "trainer"  # its own group, not the stage's
