"""GPU node pool decisions (table-driven) and the pools the AWS stacks declare."""

from __future__ import annotations

import pytest

from infra.aws.node_pools import (
    ACCELERATOR_LABEL,
    GPU_TAINT,
    accelerator,
    ami_type_for,
    autoscaler_tags,
    cpu_ami_type,
    eks_taint,
    root_device_name,
    tag_resource_suffix,
)
from infra.contract import DEVICE_PLUGIN_BUILTIN, LABEL_DEVICE_PLUGIN
from infra.offline import PROJECT_ROOT, load_stack_file

CA = "k8s.io/cluster-autoscaler"
LABEL = f"{CA}/node-template/label"
GPU_MODEL = "ascent.dev/gpu-model"
TAG = "aws:autoscaling/tag:Tag"
# Pulumi.aws-prod.yaml's pools: the training pool mixes L40S and L4 for spot diversity
PROD_POOLS: list[str] = load_stack_file(PROJECT_ROOT / "Pulumi.aws-prod.yaml")["ascent:gpuPools"]


@pytest.mark.parametrize(
    ("instance_type", "family", "ami_type"),
    [
        ("g4dn.xlarge", "al2023", "AL2023_x86_64_NVIDIA"),
        ("g5.12xlarge", "al2023", "AL2023_x86_64_NVIDIA"),
        ("g6.xlarge", "al2023", "AL2023_x86_64_NVIDIA"),
        ("g6e.48xlarge", "al2023", "AL2023_x86_64_NVIDIA"),
        ("p4d.24xlarge", "al2023", "AL2023_x86_64_NVIDIA"),
        ("p5.48xlarge", "al2023", "AL2023_x86_64_NVIDIA"),
        ("g5g.xlarge", "al2023", "AL2023_ARM_64_NVIDIA"),
        ("g6.xlarge", "bottlerocket", "BOTTLEROCKET_x86_64_NVIDIA"),
        ("g5g.2xlarge", "bottlerocket", "BOTTLEROCKET_ARM_64_NVIDIA"),
    ],
)
def test_ami_type_for_gpu_families(instance_type, family, ami_type):
    assert ami_type_for(instance_type, family) == ami_type


@pytest.mark.parametrize("instance_type", ["m7i.large", "c7g.xlarge", "t3.micro"])
def test_ami_type_for_refuses_non_gpu_types(instance_type):
    with pytest.raises(ValueError, match=instance_type):
        ami_type_for(instance_type)


@pytest.mark.parametrize(
    ("instance_type", "ami_type"),
    [("m7i.large", "AL2023_x86_64_STANDARD"), ("m7g.large", "AL2023_ARM_64_STANDARD"),
     ("c6gn.xlarge", "AL2023_ARM_64_STANDARD"), ("t3.large", "AL2023_x86_64_STANDARD")],
)  # fmt: skip
def test_cpu_ami_type(instance_type, ami_type):
    assert cpu_ami_type(instance_type) == ami_type


def test_root_device_follows_the_os():
    assert root_device_name("AL2023_x86_64_NVIDIA") == "/dev/xvda"
    assert root_device_name("BOTTLEROCKET_x86_64_NVIDIA") == "/dev/xvdb"


def test_eks_taint_spelling():
    assert eks_taint(GPU_TAINT) == {"key": "nvidia.com/gpu", "value": "true",
                                    "effect": "NO_SCHEDULE"}  # fmt: skip


def test_scale_from_zero_tags_describe_the_node_template():
    tags = autoscaler_tags("c1", {"ascent.dev/pool": "train"}, [GPU_TAINT], gpus=4, disk_gb=200)
    assert tags == {
        f"{CA}/enabled": "true",
        f"{CA}/c1": "owned",
        f"{CA}/node-template/label/ascent.dev/pool": "train",
        f"{CA}/node-template/taint/nvidia.com/gpu": "true:NoSchedule",
        f"{CA}/node-template/resources/nvidia.com/gpu": "4",
        f"{CA}/node-template/resources/ephemeral-storage": "200G",
    }
    assert f"{CA}/node-template/resources/nvidia.com/gpu" not in autoscaler_tags(
        "c1", {}, [], 0, 50
    )


def _pool(inv, name):
    group = inv.named(f"{name}-ng")
    template = inv.named(f"{name}-lt")
    asg_tags = {
        r.inputs["tag"]["key"]: r.inputs["tag"]["value"]
        for r in inv.of_type("aws:autoscaling/tag:Tag")
        if r.name.startswith(f"{name}-asg-tag-")
    }
    return group.inputs, template.inputs, asg_tags


# (stack, pool) -> (gpu-model label, accelerator label): aws-dev's pools and aws-prod's training
# pool mix GPU models (L4 + A10G, L40S + L4), aws-prod's inference pool is L4 only
MODELS = {
    ("aws-dev", "gpu-inference"): (None, "nvidia-mixed"),
    ("aws-dev", "gpu-training"): (None, "nvidia-mixed"),
    ("aws-prod", "gpu-inference"): ("L4", "nvidia-l4"),
    ("aws-prod", "gpu-training"): (None, "nvidia-mixed"),
}


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_gpu_pools_are_tainted_labelled_and_scale_from_zero(inventories, stack):
    inv = inventories[stack]
    for pool in ("gpu-inference", "gpu-training"):
        group, template, asg_tags = _pool(inv, pool)
        assert group["taints"] == [{"key": "nvidia.com/gpu", "value": "true",
                                    "effect": "NO_SCHEDULE"}]  # fmt: skip
        assert group["amiType"] == "AL2023_x86_64_NVIDIA"
        assert group["labels"]["ascent.dev/purpose"] == pool.removeprefix("gpu-")
        model, accel = MODELS[(stack, pool)]
        assert group["labels"].get(GPU_MODEL) == model
        assert (f"{LABEL}/{GPU_MODEL}" in asg_tags) == (model is not None)
        assert group["labels"][ACCELERATOR_LABEL] == accel
        assert asg_tags[f"{LABEL}/{ACCELERATOR_LABEL}"] == accel
        assert LABEL_DEVICE_PLUGIN not in group["labels"]  # AL2023: the DaemonSet's nodes
        assert asg_tags[f"{CA}/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"
        gpus = asg_tags[f"{CA}/node-template/resources/nvidia.com/gpu"]
        assert gpus == ("1" if pool == "gpu-inference" else "4")
        assert asg_tags[f"{CA}/ascent-{stack}"] == "owned"
        for key, value in group["labels"].items():
            assert asg_tags[f"{CA}/node-template/label/{key}"] == value
        meta = template["metadataOptions"]
        assert (meta["httpTokens"], meta["httpPutResponseHopLimit"]) == ("required", 1)
        ebs = template["blockDeviceMappings"][0]["ebs"]
        assert (ebs["volumeType"], ebs["encrypted"]) == ("gp3", "true")
        assert {t["resourceType"] for t in template["tagSpecifications"]} >= {"instance", "volume"}
    training, _, _ = _pool(inv, "gpu-training")
    assert training["capacityType"] == "SPOT"
    assert training["scalingConfig"]["minSize"] == 0
    assert training["nodeGroupNamePrefix"] == "gpu-training-spot-"  # the expander prefers spot


def test_system_pool_is_on_demand_cpu_and_untainted(inventories):
    group, template, asg_tags = _pool(inventories["aws-prod"], "system")
    assert "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu" not in asg_tags
    assert group["capacityType"] == "ON_DEMAND"
    assert group["amiType"] == "AL2023_x86_64_STANDARD"
    assert not group.get("taints")
    assert group["scalingConfig"] == {"minSize": 3, "maxSize": 6, "desiredSize": 3}
    assert template["metadataOptions"]["httpTokens"] == "required"


def test_variations_spot_inference_three_pools_min_zero(run_stack):
    pools = [
        "inference purpose=inference instanceTypes=g6.xlarge capacityType=spot minSize=0 maxSize=3",
        "training purpose=training instanceTypes=p5.48xlarge capacityType=spot minSize=0 maxSize=2",
        "batch purpose=training instanceTypes=g5g.xlarge minSize=0 maxSize=2"
        " amiFamily=bottlerocket",
    ]
    inv = run_stack("aws-dev", gpuPools=pools, systemMinSize=1)
    groups = {r.name: r.inputs for r in inv.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert set(groups) == {"system-ng", "gpu-inference-ng", "gpu-training-ng", "gpu-batch-ng"}
    assert groups["gpu-inference-ng"]["capacityType"] == "SPOT"
    assert groups["gpu-batch-ng"]["amiType"] == "BOTTLEROCKET_ARM_64_NVIDIA"
    assert all(g["scalingConfig"]["minSize"] == 0 for n, g in groups.items() if n != "system-ng")
    batch_lt = inv.named("gpu-batch-lt").inputs
    assert batch_lt["blockDeviceMappings"][0]["deviceName"] == "/dev/xvdb"
    _, _, tags = _pool(inv, "gpu-training")
    assert tags[f"{CA}/node-template/resources/nvidia.com/gpu"] == "8"
    assert groups["gpu-training-ng"]["labels"][ACCELERATOR_LABEL] == "nvidia-h100"


@pytest.mark.parametrize(
    ("models", "value"),
    [(["T4"], "nvidia-tesla-t4"), (["V100"], "nvidia-tesla-v100"),
     (["A100"], "nvidia-tesla-a100"), (["A10G"], "nvidia-a10g"), (["L4"], "nvidia-l4"),
     (["L40S"], "nvidia-l40s"), (["H100"], "nvidia-h100"), (["T4G"], "nvidia-t4g"),
     (["L4", "L4"], "nvidia-l4"), (["L40S", "L4"], "nvidia-mixed")],
)  # fmt: skip
def test_accelerator_label_uses_the_autoscaler_gpu_names(models, value):
    assert accelerator(models) == value


def test_a_pool_of_one_gpu_model_is_labelled_with_it(run_stack):
    assert "instanceTypes=g6e.12xlarge,g6.12xlarge " in PROD_POOLS[1]
    pools = [PROD_POOLS[0], PROD_POOLS[1].replace("g6e.12xlarge,g6.12xlarge", "g6e.12xlarge")]
    inv = run_stack("aws-prod", gpuPools=pools)
    group, _, tags = _pool(inv, "gpu-training")
    assert (group["labels"][GPU_MODEL], group["labels"][ACCELERATOR_LABEL]) == (
        "L40S",
        "nvidia-l40s",
    )
    assert (tags[f"{LABEL}/{GPU_MODEL}"], tags[f"{LABEL}/{ACCELERATOR_LABEL}"]) == (
        "L40S",
        "nvidia-l40s",
    )


def test_a_pool_mixing_gpu_models_names_none(inventories):
    """g6e.12xlarge (L40S) and g6.12xlarge (L4): labelling every node L40S, after the first
    type, was wrong for the L4 nodes."""
    group, _, tags = _pool(inventories["aws-prod"], "gpu-training")
    assert GPU_MODEL not in group["labels"] and f"{LABEL}/{GPU_MODEL}" not in tags
    assert group["labels"][ACCELERATOR_LABEL] == tags[f"{LABEL}/{ACCELERATOR_LABEL}"]


def test_bottlerocket_pools_are_marked_as_bringing_their_own_device_plugin(run_stack):
    pools = [PROD_POOLS[0], PROD_POOLS[1] + " amiFamily=bottlerocket"]
    inv = run_stack("aws-prod", gpuPools=pools)
    group, _, tags = _pool(inv, "gpu-training")
    assert group["amiType"] == "BOTTLEROCKET_x86_64_NVIDIA"
    assert group["labels"][LABEL_DEVICE_PLUGIN] == DEVICE_PLUGIN_BUILTIN
    assert tags[f"{LABEL}/{LABEL_DEVICE_PLUGIN}"] == DEVICE_PLUGIN_BUILTIN
    inference, _, _ = _pool(inv, "gpu-inference")
    assert LABEL_DEVICE_PLUGIN not in inference["labels"]


def _tag_names(inv, pool: str) -> dict[str, str]:
    """tag key -> logical name of its aws.autoscaling.Tag."""
    return {
        r.inputs["tag"]["key"]: r.name
        for r in inv.of_type(TAG)
        if r.name.startswith(f"{pool}-asg-tag-")
    }


def test_adding_a_label_renames_no_existing_tag_resource(inventories, run_stack):
    """Tags numbered by their place in the sorted list were renamed, and so replaced, whenever a
    key sorting before them came or went."""
    before = _tag_names(inventories["aws-prod"], "gpu-training")
    inv = run_stack("aws-prod", gpuPools=[PROD_POOLS[0], PROD_POOLS[1] + " amiFamily=bottlerocket"])
    after = _tag_names(inv, "gpu-training")
    assert set(after) - set(before) == {f"{LABEL}/{LABEL_DEVICE_PLUGIN}"}
    assert {key: after[key] for key in before} == before


def test_tag_resource_names_are_stable_unique_and_valid():
    assert tag_resource_suffix(f"{LABEL}/ascent.dev/pool") == (
        "node-template-label-ascent-dev-pool-8f61f614"
    )
    a, b = tag_resource_suffix(f"{LABEL}/a.b/c"), tag_resource_suffix(f"{LABEL}/a-b/c")
    assert a != b and a.startswith("node-template-label-a-b-c-")
    assert all(c.isalnum() or c == "-" for c in a)


# What the previous release declared for aws-prod's training pool, in the order that numbered
# its tag resources `gpu-training-asg-tag-<index>`.
NUMBERED_TRAINING_TAGS = [
    f"{CA}/ascent-aws-prod",
    f"{CA}/enabled",
    f"{LABEL}/ascent.dev/capacity-type",
    f"{LABEL}/{GPU_MODEL}",
    f"{LABEL}/ascent.dev/pool",
    f"{LABEL}/ascent.dev/purpose",
    f"{LABEL}/nvidia.com/gpu.present",
    f"{CA}/node-template/resources/ephemeral-storage",
    f"{CA}/node-template/resources/nvidia.com/gpu",
    f"{CA}/node-template/taint/nvidia.com/gpu",
]


def test_numbered_tag_resources_of_earlier_releases_are_renamed_in_place(run_with_options):
    """Created anew and the old one deleted, a tag would be deleted from the ASG right after
    being written (same key): each surviving tag is aliased to its numbered resource instead."""
    inv, options = run_with_options("aws-prod")
    names = _tag_names(inv, "gpu-training")
    aliases = {key: [a.name for a in options[(TAG, name)].aliases] for key, name in names.items()}
    for i, key in enumerate(NUMBERED_TRAINING_TAGS):
        if key != f"{LABEL}/{GPU_MODEL}":  # dropped: the pool mixes models
            assert aliases.pop(key) == [f"gpu-training-asg-tag-{i}"], key
    assert aliases == {f"{LABEL}/{ACCELERATOR_LABEL}": []}  # new
