"""GPU node pool decisions (table-driven) and the pools the AWS stacks declare."""

from __future__ import annotations

import pytest

from infra.aws.node_pools import (
    GPU_TAINT,
    ami_type_for,
    autoscaler_tags,
    cpu_ami_type,
    eks_taint,
    root_device_name,
)

CA = "k8s.io/cluster-autoscaler"


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


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_gpu_pools_are_tainted_labelled_and_scale_from_zero(inventories, stack):
    inv = inventories[stack]
    for pool in ("gpu-inference", "gpu-training"):
        group, template, asg_tags = _pool(inv, pool)
        assert group["taints"] == [{"key": "nvidia.com/gpu", "value": "true",
                                    "effect": "NO_SCHEDULE"}]  # fmt: skip
        assert group["amiType"] == "AL2023_x86_64_NVIDIA"
        assert group["labels"]["ascent.dev/purpose"] == pool.removeprefix("gpu-")
        assert group["labels"]["ascent.dev/gpu-model"] in {"L4", "L40S", "A10G"}
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
