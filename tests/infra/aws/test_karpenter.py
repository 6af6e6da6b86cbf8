"""`nodeAutoscaler: karpenter`: the aws-prod variant against the default, the decisions table by
table, and the contracts (CRD schemas, chart values, IAM actions) of the pinned Karpenter."""

from __future__ import annotations

import copy
import functools
import json
from collections import Counter
from typing import Any

import jsonschema
import pytest

from infra.aws import karpenter
from infra.config import ConfigError, GpuPool, parse_config
from infra.layers import layer_digest
from infra.offline import Inventory, run_program
from infra.scheduling import GPU_TAINT
from tests.infra.k8s.test_contracts import (
    CONTRACTS,
    header,
    load_yaml,
    pinned_version,
    strict_schema,
    undeclared_values,
)

NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
CRDS = {
    "NodePool": "karpenter-crds/karpenter.sh_nodepools.yaml",
    "EC2NodeClass": "karpenter-crds/karpenter.k8s.aws_ec2nodeclasses.yaml",
}
VALUES = "karpenter/values.yaml"
CLOUDFORMATION = "karpenter/cloudformation.yaml"
COMPATIBILITY = "karpenter/compatibility.md"
MODELS = "karpenter-models/fields.yaml"
MODEL_ROOTS = {
    "NodePool": "karpenter.sh/v1/NodePool",
    "EC2NodeClass": "karpenter.k8s.aws/v1/EC2NodeClass",
}
ROLE_POLICY_LIMIT = 10_240  # IAM: characters of inline policy per role, whitespace not counted


@functools.cache
def variant() -> Inventory:
    """aws-prod (both layers) with Karpenter: built from aws-prod's own config."""
    return run_program("aws-prod", overrides={"nodeAutoscaler": "karpenter"})


@functools.cache
def default() -> Inventory:
    return run_program("aws-prod")


def _spec(inv: Inventory, type_: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in inv.of_type(type_) if r.inputs["metadata"]["name"] == name]
    return found.inputs["spec"]


def _pool(spec: str) -> GpuPool:
    return GpuPool.model_validate(spec)


# --- config ------------------------------------------------------------------------------------


def test_default_stays_cluster_autoscaler():
    config = parse_config({"ascent:target": "aws", "ascent:region": "us-east-1"})
    assert config.node_autoscaler == "cluster-autoscaler"
    assert config.cluster_autoscaler and not config.karpenter


def test_karpenter_needs_the_aws_target():
    with pytest.raises(ConfigError, match=r"nodeAutoscaler.*needs target aws"):
        parse_config({"ascent:nodeAutoscaler": "karpenter"})


def _matrix() -> dict[str, tuple[int, ...]]:
    """Kubernetes minor -> the oldest Karpenter that supports it, from the saved matrix."""
    rows = [
        [cell.strip().removeprefix("\\>=").strip() for cell in line.strip("|").split("|")]
        for line in (CONTRACTS / COMPATIBILITY).read_text().splitlines()
        if line.startswith("| ")
    ]
    (versions, minimums) = [row[1:] for row in rows]
    return {k: tuple(map(int, v.split("."))) for k, v in zip(versions, minimums, strict=True)}


def test_kubernetes_versions_are_those_the_pinned_karpenter_supports():
    from infra.config import KARPENTER_KUBERNETES_VERSIONS, SUPPORTED_KUBERNETES_VERSIONS

    pinned = tuple(map(int, karpenter.CHART_VERSION.split(".")))
    supported = {k for k, oldest in _matrix().items() if oldest <= pinned}
    assert "1.29" in supported  # the matrix was read
    assert set(KARPENTER_KUBERNETES_VERSIONS) == supported & set(SUPPORTED_KUBERNETES_VERSIONS)


def test_karpenter_on_a_kubernetes_it_does_not_support_is_refused():
    config = {"ascent:target": "aws", "ascent:region": "us-east-1",
              "ascent:nodeAutoscaler": "karpenter"}  # fmt: skip
    with pytest.raises(ConfigError, match=r"nodeAutoscaler.*Kubernetes 1\.34, 1\.35.*is 1\.36"):
        parse_config({**config, "ascent:kubernetesVersion": "1.36"})
    assert parse_config({**config, "ascent:kubernetesVersion": "1.34"}).karpenter
    plain = {k: v for k, v in config.items() if k != "ascent:nodeAutoscaler"}
    assert parse_config({**plain, "ascent:kubernetesVersion": "1.36"}).cluster_autoscaler


def test_unknown_autoscaler_is_refused():
    with pytest.raises(ConfigError, match="nodeAutoscaler"):
        parse_config({"ascent:target": "aws", "ascent:region": "us-east-1",
                      "ascent:nodeAutoscaler": "keda"})  # fmt: skip


def test_layer_digest_unchanged_at_the_default():
    """A cloud stack deployed before the key existed keeps matching its kubernetes layer."""
    base = parse_config({"ascent:target": "aws", "ascent:region": "us-east-1"})
    values = base.model_dump(by_alias=True)
    before = {k: v for k, v in values.items() if k != "nodeAutoscaler"}
    assert layer_digest(values) == layer_digest(before)
    assert layer_digest({**values, "nodeAutoscaler": "karpenter"}) != layer_digest(values)


# --- the aws-prod variant -----------------------------------------------------------------------


def test_variant_replaces_gpu_node_groups_with_nodepools():
    inv, base = variant(), default()
    groups = inv.of_type("aws:eks/nodeGroup:NodeGroup")
    assert [g.name for g in groups] == ["system-ng"]
    assert len(base.of_type("aws:eks/nodeGroup:NodeGroup")) == 3
    assert sorted(r.inputs["metadata"]["name"] for r in inv.of_type(NODEPOOL)) == [
        "inference", "training"
    ]  # fmt: skip
    assert [r.inputs["metadata"]["name"] for r in inv.of_type(NODECLASS)] == ["gpu-al2023"]
    charts = [str(r.inputs["chart"]) for r in inv.of_type(RELEASE)]
    assert karpenter.CHART in charts and "cluster-autoscaler" not in charts
    assert "karpenter" in inv.outputs["roleArns"]
    assert "cluster-autoscaler" not in inv.outputs["roleArns"]


def test_variant_resource_counts():
    counts = Counter(r.type for r in variant().resources)
    base = Counter(r.type for r in default().resources)
    assert counts["aws:sqs/queue:Queue"] == 1 and base["aws:sqs/queue:Queue"] == 0
    assert counts["aws:cloudwatch/eventRule:EventRule"] == 5
    assert counts["aws:cloudwatch/eventTarget:EventTarget"] == 5
    assert counts["aws:ec2/tag:Tag"] == 3 + 1  # three private subnets and the cluster SG
    assert counts["aws:eks/nodeGroup:NodeGroup"] == 1
    assert len(default().resources) - len(variant().resources) == 2


def test_default_stacks_declare_nothing_of_karpenter():
    for stack in ("aws-dev", "aws-prod"):
        inv = run_program(stack)
        assert not [r for r in inv.resources if "karpenter" in r.name or "karpenter" in r.type]


def test_interruption_rules_are_the_cloudformation_rules():
    """One rule per event pattern of the pinned docs' CloudFormation, and no other."""
    inv = variant()
    ours = sorted(
        json.dumps(json.loads(r.inputs["eventPattern"]), sort_keys=True)
        for r in inv.of_type("aws:cloudwatch/eventRule:EventRule")
    )
    upstream = load_yaml(CLOUDFORMATION)["event_rules"].values()
    assert ours == sorted(json.dumps(p, sort_keys=True) for p in upstream)
    assert "EC2 Capacity Reservation Instance Interruption Warning" in "".join(ours)
    queue = inv.named("karpenter-queue").inputs
    assert queue["name"] == "ascent-aws-prod-karpenter"
    assert queue["sqsManagedSseEnabled"] is True
    targets = inv.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert all(t.inputs["targetId"] == "KarpenterInterruptionQueueTarget" for t in targets)


def test_controller_runs_under_pod_identity_on_the_system_pool():
    inv = variant()
    binding = inv.named("karpenter-identity-binding").inputs
    assert (binding["namespace"], binding["serviceAccount"]) == ("kube-system", "karpenter")
    (release,) = [r for r in inv.of_type(RELEASE) if r.inputs["chart"] == karpenter.CHART]
    values = release.inputs["values"]
    assert values["nodeSelector"]["ascent.dev/pool"] == "system"
    assert values["settings"] == {
        "clusterName": "ascent-aws-prod",
        "interruptionQueue": "ascent-aws-prod-karpenter",
    }
    assert release.inputs["version"] == karpenter.CHART_VERSION


def test_nodepools_carry_todays_labels_taints_and_limits():
    inv, base = variant(), default()
    for name, group in (("inference", "gpu-inference-ng"), ("training", "gpu-training-ng")):
        spec = _spec(inv, NODEPOOL, name)
        assert spec["template"]["metadata"]["labels"] == base.named(group).inputs["labels"]
        assert spec["template"]["spec"]["taints"] == [GPU_TAINT]
        assert spec["template"]["spec"]["expireAfter"] == karpenter.EXPIRE_AFTER
    inference, training = _spec(inv, NODEPOOL, "inference"), _spec(inv, NODEPOOL, "training")
    # aws-prod: inference g6.xlarge (1 GPU, 4 vCPU) x 8; training 12xlarge (4 GPU, 48 vCPU) x 4
    assert inference["limits"] == {"nvidia.com/gpu": "8", "cpu": "32"}
    assert training["limits"] == {"nvidia.com/gpu": "16", "cpu": "192"}
    assert inference["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert inference["disruption"]["budgets"] == [{"nodes": "1"}]
    assert training["disruption"]["consolidationPolicy"] == "WhenEmpty"


def _capacity(spec: dict[str, Any]) -> list[str]:
    (req,) = [r for r in spec["template"]["spec"]["requirements"]
              if r["key"] == "karpenter.sh/capacity-type"]  # fmt: skip
    return list(req["values"])


def test_capacity_types_spot_first_for_training_on_demand_for_inference():
    inv = variant()
    assert _capacity(_spec(inv, NODEPOOL, "training")) == ["spot", "on-demand"]
    assert _capacity(_spec(inv, NODEPOOL, "inference")) == ["on-demand"]
    strict = run_program(
        "aws-prod", overrides={"nodeAutoscaler": "karpenter", "karpenterOnDemandFallback": False}
    )
    assert _capacity(_spec(strict, NODEPOOL, "training")) == ["spot"]


def test_nodeclass_imdsv2_encrypted_gp3_and_cluster_tag_selectors():
    spec = _spec(variant(), NODECLASS, "gpu-al2023")
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (disk,) = spec["blockDeviceMappings"]
    assert disk["ebs"]["volumeType"] == "gp3" and disk["ebs"]["encrypted"] is True
    selector = [{"tags": {"karpenter.sh/discovery": "ascent-aws-prod"}}]
    assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == selector
    assert spec["role"] == karpenter.node_role_name("ascent-aws-prod")


@pytest.mark.parametrize(
    ("instance_type", "vcpus"),
    [("g6.xlarge", 4), ("g6e.12xlarge", 48), ("p5.48xlarge", 192), ("g5.2xlarge", 8)],
)
def test_vcpus_from_the_size(instance_type, vcpus):
    assert karpenter.vcpus(instance_type) == vcpus


def test_metal_sizes_are_refused_for_cpu_limits():
    with pytest.raises(ValueError, match=r"g4dn\.metal"):
        karpenter.vcpus("g4dn.metal")


def test_bottlerocket_pool_gets_its_own_node_class():
    pool = _pool("br purpose=training instanceTypes=g6.12xlarge capacityType=spot "
                 "amiFamily=bottlerocket maxSize=2")  # fmt: skip
    spec = karpenter.node_pool_spec(pool, on_demand_fallback=False)
    assert spec["template"]["spec"]["nodeClassRef"]["name"] == "gpu-bottlerocket"
    nodeclass = karpenter.node_class_spec("c1", "bottlerocket", 200)
    assert nodeclass["amiSelectorTerms"] == [{"alias": "bottlerocket@latest"}]
    assert nodeclass["blockDeviceMappings"][0]["deviceName"] == "/dev/xvdb"


# --- IAM ---------------------------------------------------------------------------------------


def _controller_policy() -> dict[str, Any]:
    return json.loads(variant().named("karpenter-identity-policy").inputs["policy"])


def _statements(policy: dict[str, Any]) -> dict[str, list[str]]:
    actions = {s["Sid"]: s["Action"] for s in policy["Statement"]}
    return {sid: sorted([a] if isinstance(a, str) else a) for sid, a in actions.items()}


def test_iam_statements_are_the_cloudformation_controller_policies():
    """Statement by statement (Sid and actions), the six policies of the pinned docs, in one
    document: every documented action, and no other."""
    upstream = {
        sid: sorted(actions)
        for statements in load_yaml(CLOUDFORMATION)["policies"].values()
        for sid, actions in statements.items()
    }
    assert _statements(_controller_policy()) == upstream


def test_iam_policy_fits_the_inline_role_policy_quota():
    compact = json.dumps(_controller_policy(), separators=(",", ":"))
    assert len(compact) <= ROLE_POLICY_LIMIT


def test_iam_writes_are_scoped_to_this_cluster():
    for statement in _controller_policy()["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        reads = ("Describe", "Get", "List")
        writes = [a for a in actions if not a.split(":")[1].startswith(reads)]
        if statement["Resource"] == "*":
            assert statement.get("Condition") or not writes, statement["Sid"]
        conditions = json.dumps(statement.get("Condition", {}))
        if any(a in ("ec2:TerminateInstances", "ec2:DeleteLaunchTemplate") for a in actions):
            assert "kubernetes.io/cluster/ascent-aws-prod" in conditions
    passrole = [s for s in _controller_policy()["Statement"] if s["Action"] == "iam:PassRole"]
    assert passrole[0]["Resource"].endswith(":role/ascent-aws-prod-karpenter-node")


# --- contracts: CRD schemas and chart values ----------------------------------------------------


@functools.cache
def _validator(kind: str) -> jsonschema.Draft7Validator:
    crd = load_yaml(CRDS[kind])
    assert crd["spec"]["names"]["kind"] == kind
    (entry,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return jsonschema.Draft7Validator(
        strict_schema(copy.deepcopy(entry["schema"]["openAPIV3Schema"]))
    )


def _errors(doc: dict[str, Any]) -> list[str]:
    errors = _validator(doc["kind"]).iter_errors(doc)
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


def _documents() -> list[dict[str, Any]]:
    keys = ("apiVersion", "kind", "metadata", "spec")
    return [{k: r.inputs[k] for k in keys} for r in variant().resources
            if r.type in (NODEPOOL, NODECLASS)]  # fmt: skip


def test_nodepools_and_nodeclasses_validate_against_the_crds():
    docs = _documents()
    assert {d["kind"] for d in docs} == set(CRDS)
    errors = {f"{d['kind']}/{d['metadata']['name']}": _errors(d) for d in docs}
    assert not {k: v for k, v in errors.items() if v}


def test_the_crd_contract_rejects_misspelt_and_invalid_fields():
    (pool,) = [d for d in _documents() if d["metadata"]["name"] == "training"]
    bad = copy.deepcopy(pool)
    bad["spec"]["disruption"]["consolidationPolicy"] = "WhenIdle"
    bad["spec"]["template"]["spec"]["expireAfer"] = "720h"
    bad["spec"]["limits"]["nvidia.com/gpu"] = "sixteen"
    assert len(_errors(bad)) == 3
    (nodeclass,) = [d for d in _documents() if d["kind"] == "EC2NodeClass"]
    bad = copy.deepcopy(nodeclass)
    bad["spec"]["metadataOptions"]["httpPutResponseHopLimit"] = 0
    bad["spec"]["subnetSelector"] = bad["spec"].pop("subnetSelectorTerms")
    assert len(_errors(bad)) == 3  # the bound, the unknown key, the missing required key


def _unknown_to_the_release(value: Any, kind: str, where: str = "") -> list[str]:
    """Key paths of `value` that the release's API types (MODELS) do not have."""
    types = load_yaml(MODELS)
    if kind.startswith("[]"):
        return [
            p
            for i, v in enumerate(value)
            for p in _unknown_to_the_release(v, kind[2:], f"{where}[{i}]")
        ]
    if kind not in types:  # scalar, map, external: not descended into
        return []
    fields, found = types[kind], []
    for key, item in value.items():
        path = f"{where}.{key}" if where else key
        found += (
            [f"{path}: not a field"]
            if key not in fields
            else _unknown_to_the_release(item, fields[key], path)
        )
    return found


def test_nodepools_and_nodeclasses_use_only_fields_of_a_release():
    """The CRDs saved are from a main-branch commit after 1.12.1; the fields the program sets
    must also exist in the 1.12.1 tag's Go types."""
    docs = _documents()
    assert {d["kind"] for d in docs} == set(MODEL_ROOTS)
    unknown = {
        d["metadata"]["name"]: _unknown_to_the_release(d, MODEL_ROOTS[d["kind"]]) for d in docs
    }
    assert not {k: v for k, v in unknown.items() if v}
    (nodeclass,) = [d for d in docs if d["kind"] == "EC2NodeClass"]
    later = copy.deepcopy(nodeclass)
    later["spec"]["cpuOptions"] = {"nestedVirtualization": "enabled"}  # in the CRD, after 1.12
    assert _errors(later) == []
    assert _unknown_to_the_release(later, MODEL_ROOTS["EC2NodeClass"]) == [
        "spec.cpuOptions: not a field"
    ]


def test_chart_values_are_chart_values():
    (release,) = [r for r in variant().of_type(RELEASE) if r.inputs["chart"] == karpenter.CHART]
    free_form = ("nodeSelector",)  # a label map: the default holds kubernetes.io/os only
    upstream = load_yaml(VALUES)
    assert undeclared_values(release.inputs["values"], upstream, free_form) == []
    values = copy.deepcopy(release.inputs["values"])
    values["settings"]["interruptionQueueName"] = values["settings"].pop("interruptionQueue")
    assert undeclared_values(values, upstream, free_form) == [
        "settings.interruptionQueueName: not a chart value"
    ]


def test_contract_pins_match_the_program():
    for relative in (*CRDS.values(), VALUES, CLOUDFORMATION, COMPATIBILITY, MODELS):
        assert pinned_version(CONTRACTS / relative) == karpenter.CHART_VERSION, relative
        repo = (
            "tommy351/kubernetes-models-ts" if relative == MODELS else "aws/karpenter-provider-aws"
        )
        assert header(CONTRACTS / relative)["repo"] == repo


# --- ascent plan: cost and pack config ----------------------------------------------------------


def _estimate(inv: Inventory) -> Any:
    from policies.cost import estimate

    return estimate([(r.type, r.name, r.inputs) for r in inv.custom()])


def test_plan_prices_nodepools_from_their_limits():
    items = {i.item: i for i in _estimate(variant()).items if i.component == "node pools"}
    inference = items["karpenter-nodepool-inference: 0..8 x g6.xlarge (on-demand)"]
    training = items["karpenter-nodepool-training: 0..4 x g6e.12xlarge (spot/on-demand)"]
    assert inference.min_usd == training.min_usd == 0.0
    assert inference.gpu_hours_max == 8 * 730 and training.gpu_hours_max == 4 * 4 * 730
    # with on-demand fallback the training ceiling is on-demand's; spot-only is 60% off
    strict = run_program(
        "aws-prod", overrides={"nodeAutoscaler": "karpenter", "karpenterOnDemandFallback": False}
    )
    spot = {i.item: i for i in _estimate(strict).items if i.component == "node pools"}
    spot_training = spot["karpenter-nodepool-training: 0..4 x g6e.12xlarge (spot)"]
    assert spot_training.max_usd == pytest.approx(training.max_usd * 0.4)
    # the same GPU ceiling as the node groups it replaces
    assert _estimate(variant()).gpu_hours_max == _estimate(default()).gpu_hours_max


def test_pack_allows_fallback_only_where_the_stack_does():
    from infra.report import pack_config

    base = {"ascent:target": "aws", "ascent:region": "us-east-1"}
    assert not pack_config(parse_config(base)).allow_on_demand_fallback
    karp = parse_config({**base, "ascent:nodeAutoscaler": "karpenter"})
    assert pack_config(karp).allow_on_demand_fallback
    off = parse_config({**karp.model_dump(by_alias=True), "karpenterOnDemandFallback": False})
    assert not pack_config(off).allow_on_demand_fallback
    assert "allowOnDemandFallback" not in pack_config(parse_config(base)).as_properties()


def test_variant_passes_the_policy_pack():
    from infra.report import policy_report

    config = parse_config({"ascent:nodeAutoscaler": "karpenter", **_aws_prod_config()})
    assert [v for v in policy_report(variant(), config) if v.enforcement == "mandatory"] == []


def _aws_prod_config() -> dict[str, Any]:
    from infra.offline import stack_config

    return {k: v for k, v in stack_config("aws-prod").items() if k != "ascent:nodeAutoscaler"}
