"""infra.config: every stack parses; every kind of bad config fails with one message naming it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from infra.config import ConfigError, GpuPool, StackConfig, parse_config, parse_pool_spec
from infra.offline import PROJECT_ROOT, stack_config

AWS = {"target": "aws", "region": "us-east-1"}
POOL = "train purpose=training instanceTypes=g6.12xlarge capacityType=spot minSize=0 maxSize=2"


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    return info.value.problems


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, config, key named in the message, words of what is allowed)
    ("unknown target", {"target": "gcp"}, "ascent:target", "'aws' or 'local'"),
    ("aws without region", {"target": "aws"}, "ascent:region", "required when target is aws"),
    ("malformed region", {**AWS, "region": "useast1"}, "ascent:region", "us-east-1"),
    ("bad CIDR", {"vpcCidr": "10.0.0.0/33"}, "ascent:vpcCidr", "IPv4 CIDR"),
    ("public VPC range", {"vpcCidr": "8.8.0.0/16"}, "ascent:vpcCidr", "private"),
    ("VPC too small", {"vpcCidr": "10.0.0.0/24"}, "ascent:vpcCidr", "/16 to /20"),
    ("unknown key", {"gpuPool": []}, "ascent:gpuPool", "did you mean gpuPools"),
    (
        "negative budget",
        {"monthlyBudgetUsd": "-1"},
        "ascent:monthlyBudgetUsd",
        "greater than or equal to 0",
    ),
    (
        "pool min > max",
        {"gpuPools": [POOL.replace("maxSize=2", "maxSize=1").replace("minSize=0", "minSize=3")]},
        "ascent:gpuPools[0].maxSize",
        ">= minSize (3)",
    ),
    (
        "non-GPU instance type",
        {"gpuPools": [POOL.replace("g6.12xlarge", "m5.large")]},
        "ascent:gpuPools[0].instanceTypes",
        "not a GPU instance type",
    ),
    (
        "unknown GPU size",
        {"gpuPools": [POOL.replace("g6.12xlarge", "g6.3xlarge")]},
        "ascent:gpuPools[0].instanceTypes",
        "unknown size",
    ),
    (
        "mixed GPU counts",
        {"gpuPools": [POOL.replace("g6.12xlarge", "g6.12xlarge,g6.xlarge")]},
        "ascent:gpuPools[0].instanceTypes",
        "GPU count",
    ),
    (
        "bad capacity type",
        {"gpuPools": [POOL.replace("spot", "reserved")]},
        "ascent:gpuPools[0].capacityType",
        "'on-demand' or 'spot'",
    ),
    (
        "bad pool purpose",
        {"gpuPools": [POOL.replace("purpose=training", "purpose=batch")]},
        "ascent:gpuPools[0].purpose",
        "'training' or 'inference'",
    ),
    (
        "unknown pool key",
        {"gpuPools": [POOL + " spotPrice=1"]},
        "ascent:gpuPools[0].spotPrice",
        "allowed keys: amiFamily",
    ),
    ("pool spec without =", {"gpuPools": ["train training"]}, "ascent:gpuPools[0]", "key=value"),
    ("duplicate pool names", {"gpuPools": [POOL, POOL]}, "ascent:gpuPools", "unique"),
    (
        "desired outside range",
        {"gpuPools": [POOL + " desiredSize=5"]},
        "ascent:gpuPools[0].desiredSize",
        "between minSize (0) and maxSize (2)",
    ),
    ("unsupported Kubernetes", {"kubernetesVersion": "1.29"}, "ascent:kubernetesVersion", "1.35"),
    (
        "brokers not a multiple of AZs",
        {**AWS, "availabilityZones": 3, "kafkaBrokers": 4},
        "ascent:kafkaBrokers",
        "multiple of the AZs MSK spans (3",
    ),
    (
        "public endpoint in prod",
        {"environment": "prod", "clusterEndpointPublicCidrs": ["0.0.0.0/0"]},
        "ascent:clusterEndpointPublicCidrs",
        "private-only",
    ),
    (
        "bad endpoint CIDR",
        {"clusterEndpointPublicCidrs": ["1.2.3.4/40"]},
        "ascent:clusterEndpointPublicCidrs[0]",
        "IPv4 CIDR",
    ),
    (
        "bad admin ARN",
        {"clusterAdminArns": ["alice"]},
        "ascent:clusterAdminArns[0]",
        "IAM role or user ARN",
    ),
    ("latest image tag", {"imageTag": "latest"}, "ascent:imageTag", "commit SHA"),
    ("bad cron", {"trainingSchedule": "daily"}, "ascent:trainingSchedule", "cron"),
    (
        "scorer min > max",
        {"scorerMinReplicas": 5, "scorerMaxReplicas": 2},
        "ascent:scorerMaxReplicas",
        ">= scorerMinReplicas (5)",
    ),
    (
        "feature stage min > max",
        {"featuresMinReplicas": 4, "featuresMaxReplicas": 2},
        "ascent:featuresMaxReplicas",
        ">= featuresMinReplicas (4)",
    ),
    (
        "feature stage lag threshold 0",
        {"featuresLagThreshold": 0},
        "ascent:featuresLagThreshold",
        "greater than or equal to 1",
    ),
    (
        "misspelt feature stage key",
        {"featureMaxReplicas": 3},
        "ascent:featureMaxReplicas",
        "did you mean featuresMaxReplicas",
    ),
    (
        "GPU inference without pool",
        {"gpuPools": [], "inferenceUseGpu": True},
        "ascent:inferenceUseGpu",
        "purpose inference",
    ),
    (
        "GPU operator beside Bottlerocket's own device plugin",
        {**AWS, "gpuPools": [POOL + " amiFamily=bottlerocket"], "enableGpuOperator": True},
        "ascent:enableGpuOperator",
        "pool(s) train use amiFamily=bottlerocket",
    ),
    ("not a number", {"availabilityZones": "three"}, "ascent:availabilityZones", "integer"),
    ("not a boolean", {"enableKeda": "maybe"}, "ascent:enableKeda", "boolean"),
    (
        "too few AZs",
        {"availabilityZones": 1},
        "ascent:availabilityZones",
        "greater than or equal to 2",
    ),
]


@pytest.mark.parametrize(
    ("raw", "key", "allowed"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_config_names_the_key_and_what_is_allowed(raw, key, allowed):
    found = problems(raw)
    assert len(found) == 1, found
    assert found[0].startswith(key + " ") or found[0].startswith(key + ":"), found[0]
    assert allowed in found[0]


def test_one_error_lists_every_problem_with_its_value():
    raw = {"target": "gcp", "vpcCidr": "300.0.0.0/16", "monthlyBudgetUsd": -5, "colour": "red"}
    found = problems(raw)
    assert [p.split()[0].rstrip(":") for p in found] == [
        "ascent:target",
        "ascent:vpcCidr",
        "ascent:monthlyBudgetUsd",
        "ascent:colour",
    ]
    assert '"gcp"' in found[0] and '"300.0.0.0/16"' in found[1] and "-5" in found[2]
    with pytest.raises(ConfigError, match="4 problems"):
        parse_config(raw)


def test_namespaced_keys_and_cli_strings_are_accepted():
    cfg = parse_config(
        {
            "ascent:target": "aws",
            "ascent:region": "eu-west-1",
            "ascent:availabilityZones": "3",
            "ascent:kafkaBrokers": "3",
            "ascent:natGatewayPerAz": "true",
            "ascent:gpuPools": '["a1 purpose=inference instanceTypes=g5.xlarge"]',
        }
    )
    assert (cfg.availability_zones, cfg.nat_gateway_per_az) == (3, True)
    assert cfg.gpu_pools[0].instance_types == ["g5.xlarge"]


def test_pool_spec_lines_parse_like_mappings():
    spec = "big purpose=training instanceTypes=p5.48xlarge,p4d.24xlarge minSize=0 maxSize=3"
    assert parse_pool_spec(spec) == {
        "name": "big",
        "purpose": "training",
        "instanceTypes": ["p5.48xlarge", "p4d.24xlarge"],
        "minSize": "0",
        "maxSize": "3",
    }
    pool = GpuPool.model_validate(spec)
    assert (pool.gpus_per_node, pool.gpu_model, pool.initial_size) == (8, "H100", 0)


@pytest.mark.parametrize(
    ("types", "models", "shared"),
    [("g6e.12xlarge", ("L40S",), "L40S"), ("g6e.12xlarge,g6.12xlarge", ("L4", "L40S"), None),
     ("g6.xlarge,gr6.4xlarge", ("L4",), "L4"), ("g6.xlarge,g5.xlarge", ("A10G", "L4"), None)],
)  # fmt: skip
def test_a_pool_names_a_gpu_model_only_when_its_types_share_one(types, models, shared):
    pool = GpuPool.model_validate(POOL.replace("g6.12xlarge", types))
    assert (pool.gpu_models, pool.shared_gpu_model) == (models, shared)


def test_bottlerocket_pools_bring_their_own_device_plugin():
    assert GpuPool.model_validate(POOL + " amiFamily=bottlerocket").device_plugin_builtin
    assert not GpuPool.model_validate(POOL).device_plugin_builtin
    # the GPU operator is refused beside them on AWS only: locally amiFamily means nothing
    local = {"gpuPools": [POOL + " amiFamily=bottlerocket"], "enableGpuOperator": True}
    assert parse_config(local).enable_gpu_operator


@pytest.mark.parametrize("stack", ["local", "aws-dev", "aws-prod"])
def test_shipped_stacks_are_valid(stack):
    cfg = parse_config(stack_config(stack))
    assert cfg.target == ("local" if stack == "local" else "aws")


def _declared() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())["config"]


def test_pulumi_yaml_declares_exactly_the_keys_the_program_reads():
    aliases = {f.alias for f in StackConfig.model_fields.values()}
    assert set(_declared()) == aliases


def test_pulumi_yaml_declarations_are_typed_and_described():
    for key, decl in _declared().items():
        assert decl["type"] in {"string", "integer", "boolean", "array"}, key
        assert decl["description"].strip(), key
        assert "default" in decl, key
        if decl["type"] == "array":
            assert decl["items"]["type"] in {"string", "integer", "boolean"}, key


def test_the_feature_stage_defaults_to_0_to_6_replicas_on_a_lag_of_5000():
    cfg = StackConfig()
    assert (cfg.features_min_replicas, cfg.features_max_replicas) == (0, 6)
    assert cfg.features_lag_threshold == 5000


def test_pulumi_yaml_defaults_equal_the_model_defaults():
    from_yaml = parse_config({k: d["default"] for k, d in _declared().items()})
    assert from_yaml == StackConfig()
