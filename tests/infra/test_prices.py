"""The price catalog: every EKS region is a region config accepts, every type the GPU catalog
knows is priced somewhere, an unpriced stack still plans, and the budget rule says what it cannot
verify (advisory, or mandatory when the stack asks for strict)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from infra.catalog import GPU_FAMILIES
from infra.config import ConfigError, parse_config
from infra.offline import run_program
from infra.report import policy_report
from policies.prices import DATA_FILE, catalog

NOT_ON_DEMAND = {"p5e.48xlarge": "sold through EC2 Capacity Blocks only: no on-demand rate"}


def _update_prices():
    spec = importlib.util.spec_from_file_location(
        "update_prices", DATA_FILE.parents[2] / "scripts" / "update_prices.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_priced_region_is_an_eks_region_and_every_source_is_named():
    prices = catalog()
    assert set(prices.ec2) <= set(prices.regions)
    assert len(prices.regions) >= 30 and len(prices.ec2) >= 20
    assert {"us-east-1", "eu-west-1", "ap-northeast-1"} <= set(prices.ec2)
    covered = {r for s in prices.sources["ec2"] for r in s["regions"]}
    assert covered == set(prices.ec2)  # every table has a public source with its date
    assert all(s["date"] for s in prices.sources["ec2"])
    for table in prices.ec2.values():
        assert all(isinstance(v, float) and 0 < v < 200 for v in table.values())


def test_every_gpu_type_the_catalog_knows_is_priced_in_some_region():
    priced = {t for table in catalog().ec2.values() for t in table}
    known = {f"{f.family}.{size}" for f in GPU_FAMILIES.values() for size in f.gpus_by_size}
    assert known - priced == set(NOT_ON_DEMAND)


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-7", "sa-east-1"])
def test_config_accepts_every_eks_region(region):
    assert parse_config({"target": "aws", "region": region}).region == region


def test_config_refuses_a_region_that_is_not_one():
    with pytest.raises(ConfigError) as info:
        parse_config({"target": "aws", "region": "us-east-9"})
    assert "did you mean us-east-2?" in info.value.problems[0]


def test_aws_provider_keys_reach_the_explicit_provider(run_stack):
    inv = run_stack(
        "aws-dev", **{"aws:profile": "platform", "region": ""}, **{"aws:region": "eu-west-1"}
    )
    provider = inv.named("aws")
    assert (provider.inputs["region"], provider.inputs["profile"]) == ("eu-west-1", "platform")


def _budget_findings(**overrides):
    inv = run_program("aws-prod", overrides=overrides)
    from infra.offline import stack_config

    config = parse_config(stack_config("aws-prod", overrides=overrides))
    return [v for v in policy_report(inv, config) if v.rule.startswith("stack-")]


def test_an_unpriced_region_plans_and_the_budget_is_advisory_unverifiable():
    (finding,) = _budget_findings(region="eu-west-1")  # the catalog lacks g6 and MSK there
    assert finding.rule == "stack-budget-verifiable" and finding.enforcement == "advisory"
    assert "g6.xlarge in eu-west-1" in finding.message and "kafka.m7g.large" in finding.message
    assert "regenerate" in finding.fix


def test_a_strict_stack_makes_the_unverifiable_budget_mandatory():
    (finding,) = _budget_findings(region="eu-west-1", budgetStrict=True)
    assert finding.enforcement == "mandatory"


def test_over_budget_is_mandatory_even_when_something_is_unpriced():
    (finding,) = _budget_findings(region="eu-west-1", monthlyBudgetUsd=100)
    assert finding.rule == "stack-monthly-budget" and "at least" in finding.message


def test_the_update_script_reads_a_price_list_product_document():
    product = {  # the shape pricing:GetProducts returns (one JSON string per product)
        "product": {"attributes": {"instanceType": "g6.xlarge", "regionCode": "eu-west-2"}},
        "terms": {
            "OnDemand": {
                "SKU.TERM": {
                    "priceDimensions": {
                        "SKU.TERM.DIM": {"unit": "Hrs", "pricePerUnit": {"USD": "0.9361000000"}}
                    }
                }
            }
        },
    }
    script = _update_prices()
    assert script.on_demand_usd(json.loads(json.dumps(product))) == pytest.approx(0.9361)
    product["terms"]["OnDemand"]["SKU.TERM"]["priceDimensions"]["SKU.TERM.DIM"]["pricePerUnit"] = {
        "USD": "0.0000000000"
    }
    assert script.on_demand_usd(product) is None  # a zero rate is no price
    assert "g6.xlarge" in script.ec2_types() and "m7i.large" in script.ec2_types()
