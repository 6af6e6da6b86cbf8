"""infra.catalog: GPU facts per instance type, table-driven."""

from __future__ import annotations

import pytest

from infra.catalog import gpu_count, gpu_family, is_gpu_instance_type, split_instance_type


@pytest.mark.parametrize(
    ("instance_type", "gpus", "model", "arch"),
    [
        ("g4dn.xlarge", 1, "T4", "x86_64"),
        ("g4dn.12xlarge", 4, "T4", "x86_64"),
        ("g5.48xlarge", 8, "A10G", "x86_64"),
        ("g5g.2xlarge", 1, "T4G", "arm64"),
        ("g6.xlarge", 1, "L4", "x86_64"),
        ("g6e.12xlarge", 4, "L40S", "x86_64"),
        ("p4d.24xlarge", 8, "A100", "x86_64"),
        ("p5.48xlarge", 8, "H100", "x86_64"),
        ("p5en.48xlarge", 8, "H200", "x86_64"),
    ],
)
def test_gpu_facts(instance_type, gpus, model, arch):
    assert gpu_count(instance_type) == gpus
    assert (gpu_family(instance_type).gpu_model, gpu_family(instance_type).arch) == (model, arch)


@pytest.mark.parametrize(
    ("instance_type", "message"),
    [
        ("m7i.large", "not a GPU instance type"),
        ("g6.3xlarge", "unknown size for family g6"),
        ("g6", "not an EC2 instance type"),
        ("", "not an EC2 instance type"),
    ],
)
def test_non_gpu_types_are_named_in_the_error(instance_type, message):
    with pytest.raises(ValueError, match=message):
        gpu_count(instance_type)
    assert not is_gpu_instance_type(instance_type)


def test_split_instance_type():
    assert split_instance_type("g5.2xlarge") == ("g5", "2xlarge")
