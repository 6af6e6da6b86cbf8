"""infra.offline: the harness runs the real program with the CLI's config semantics."""

from __future__ import annotations

import json
import shutil

import pytest

from infra.config import ConfigError
from infra.offline import PROJECT_ROOT, StackNotFound, run_program, stack_config
from infra.tags import deployment_id


def test_project_defaults_then_stack_values_as_cli_strings():
    cfg = stack_config("aws-prod")
    assert cfg["ascent:target"] == "aws"  # from the stack file
    assert cfg["ascent:kubernetesVersion"] == "1.35"  # a Pulumi.yaml default
    assert cfg["ascent:natGatewayPerAz"] == "true"  # booleans as the CLI writes them
    assert cfg["ascent:availabilityZones"] == "3"
    assert cfg["ascent:gpuPools"].startswith('["inference purpose=inference')  # arrays as JSON


def test_overrides_win_over_stack_values():
    assert stack_config("aws-dev", overrides={"region": "eu-west-1"})["ascent:region"] == (
        "eu-west-1"
    )


@pytest.mark.parametrize("stack", ["local", "aws-dev", "aws-prod"])
def test_every_stack_runs_and_exports(inventories, stack):
    inv = inventories[stack]
    assert inv.outputs["target"] == ("local" if stack == "local" else "aws")
    assert inv.outputs["deploymentId"] == deployment_id("ascent", stack)
    assert inv.resources, "the program declared nothing"
    for run in inv.layers.values() or [inv]:  # a split stack: each layer is its own stack
        assert run.stack in (stack, f"{stack}-k8s")
        for res in run.resources:
            assert res.type and res.name and res.urn.startswith(f"urn:pulumi:{run.stack}::ascent::")


def test_aws_provider_carries_region_and_default_tags(inventories):
    provider = inventories["aws-prod"].named("aws")
    assert provider.type == "pulumi:providers:aws"
    assert provider.inputs["region"] == "us-east-1"
    tags = json.loads(provider.inputs["defaultTags"])["tags"]  # provider inputs travel as JSON
    assert tags["ascent:stack"] == "aws-prod"
    assert tags["ascent:deployment-id"] == deployment_id("ascent", "aws-prod")
    assert {"owner", "cost-center", "ascent:project"} <= set(tags)


def test_runs_are_independent(run_stack):
    first = run_stack("aws-dev")
    second = run_stack("aws-dev", region="eu-west-1")
    assert first.named("aws").inputs["region"] == "us-east-1"
    assert second.named("aws").inputs["region"] == "eu-west-1"
    assert len(first.resources) == len(second.resources)


def test_invalid_config_fails_before_any_resource(tmp_path):
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  ascent:target: aws\n  ascent:vpcCidr: 10.0.0.0/8\n"
    )
    with pytest.raises(ConfigError) as info:
        run_program("bad", root=tmp_path)
    assert [p.split()[0] for p in info.value.problems] == ["ascent:region", "ascent:vpcCidr"]


def test_unknown_stack_names_the_known_ones():
    with pytest.raises(StackNotFound, match="aws-dev, aws-dev-k8s, aws-prod, aws-prod-k8s, local"):
        run_program("staging")
