"""The cost estimate: line items computed from the captured resources, a hand-computed golden
fixture, spot rates, and clear errors for what the catalog lacks."""

from __future__ import annotations

import json

import pytest

from infra.offline import stack_config
from policies.cost import estimate
from policies.prices import HOURS_PER_MONTH, SPOT_DISCOUNT, hourly

EXTRA_POOL = (
    "batch purpose=training instanceTypes=g6.xlarge capacityType=on-demand minSize=0 maxSize=3"
)


def triples(inv):
    return [(r.type, r.name, r.inputs) for r in inv.custom()]


def items(est, component):
    return {i.item.split(":")[0]: i for i in est.items if i.component == component}


def test_golden_small_stack_matches_hand_computed_totals():
    fixture = [
        ("pulumi:providers:aws", "aws", {"region": "us-east-1"}),
        ("aws:eks/cluster:Cluster", "eks", {}),
        ("aws:ec2/natGateway:NatGateway", "nat", {}),
        ("aws:eks/nodeGroup:NodeGroup", "sys-ng",
         {"instanceTypes": ["m7i.large"], "capacityType": "ON_DEMAND",
          "scalingConfig": {"minSize": 1, "maxSize": 3}}),
        ("aws:ec2/launchTemplate:LaunchTemplate", "sys-lt",
         {"blockDeviceMappings": [{"ebs": {"volumeSize": 50}}]}),
        ("aws:s3/bucket:Bucket", "b", {}),
    ]  # fmt: skip
    est = estimate(fixture, storage_gb=100)
    # by hand: EKS 0.10*730 = 73.00; NAT 0.045*730 + 100 GB*0.045 = 32.85 + 4.50 = 37.35;
    # m7i.large 0.1008*730 = 73.584 per node; 50 GB gp3 * 0.08 = 4.00 per node;
    # S3 100 GB * 0.023 = 2.30
    assert est.min_total == pytest.approx(73.00 + 37.35 + 1 * (73.584 + 4.00) + 2.30, abs=0.01)
    assert est.max_total == pytest.approx(73.00 + 37.35 + 3 * (73.584 + 4.00) + 2.30, abs=0.01)
    assert est.gpu_hours_max == 0


def test_a_new_gpu_pool_adds_exactly_its_nodes_times_rate_times_hours(run_stack, inventories):
    base = estimate(triples(inventories["aws-dev"]))
    shipped = stack_config("aws-dev")["ascent:gpuPools"]
    grown_inv = run_stack("aws-dev", gpuPools=[*json.loads(shipped), EXTRA_POOL])
    grown = estimate(triples(grown_inv))
    new = items(grown, "node pools")["gpu-batch-ng"]
    assert new.max_usd == pytest.approx(3 * hourly("us-east-1", "g6.xlarge") * HOURS_PER_MONTH)
    assert new.min_usd == 0 and new.gpu_hours_max == 3 * 1 * HOURS_PER_MONTH
    volumes = items(grown, "node volumes")["gpu-batch-ng"].max_usd
    assert grown.max_total == pytest.approx(base.max_total + new.max_usd + volumes, abs=0.02)
    assert grown.min_total == pytest.approx(base.min_total, abs=0.02)


def test_spot_pools_use_the_spot_rate(inventories):
    pools = items(estimate(triples(inventories["aws-prod"])), "node pools")
    training = pools["gpu-training-ng"]  # 0..4 x g6e.12xlarge on spot
    spot = hourly("us-east-1", "g6e.12xlarge") * (1 - SPOT_DISCOUNT)
    assert training.max_usd == pytest.approx(4 * spot * HOURS_PER_MONTH)
    assert "spot" in training.item
    inference = pools["gpu-inference-ng"]  # 2..8 x g6.xlarge on demand
    assert inference.min_usd == pytest.approx(2 * hourly("us-east-1", "g6.xlarge") * 730)


PROVIDER = ("pulumi:providers:aws", "aws", {"region": "us-east-1"})


def _pool(*types: str, lo: int = 0, hi: int = 1) -> tuple[str, str, dict]:
    scaling = {"minSize": lo, "maxSize": hi}
    return (
        "aws:eks/nodeGroup:NodeGroup",
        "ng",
        {"instanceTypes": list(types), "scalingConfig": scaling},
    )


def test_an_unknown_instance_type_is_named_unpriced_and_left_out_of_the_total():
    est = estimate([PROVIDER, _pool("x9.huge")])
    assert est.unpriced == ["ng: x9.huge in us-east-1"]
    assert "node pools" not in est.by_component() and est.max_total > 0  # the volumes still count


def test_a_region_without_prices_leaves_every_instance_unpriced():
    est = estimate([("pulumi:providers:aws", "aws", {"region": "sa-east-1"}), _pool("g6.xlarge")])
    assert "every instance type: no prices for region sa-east-1 in the catalog" in est.unpriced
    assert "ng: g6.xlarge in sa-east-1" in est.unpriced
    assert any("us-east-1's" in a for a in est.assumptions)  # service rates stand in, said so


def test_a_pool_of_several_types_is_priced_at_its_dearest():
    est = estimate([PROVIDER, _pool("g6.xlarge", "g5.xlarge", hi=2)])
    pool = items(est, "node pools")["ng"]
    assert "g5.xlarge" in pool.item  # 1.006/h beats g6.xlarge's 0.8048/h
    assert pool.max_usd == pytest.approx(2 * hourly("us-east-1", "g5.xlarge") * HOURS_PER_MONTH)


def test_the_local_target_costs_nothing_in_the_cloud(inventories):
    est = estimate(triples(inventories["local"]))
    assert est.items == [] and est.max_total == 0
