"""A split AWS stack (infra/layers.py): a cloud layer that calls only AWS APIs and declares the
in-VPC deploy runner, and a kubernetes layer built from the cloud stack's outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError
from infra.offline import (
    PROJECT_ROOT,
    Inventory,
    load_project,
    load_stack_file,
    run_function,
    run_program,
    stack_config,
)
from infra.program import main
from tests.infra.aws.test_identity import assert_least_privilege

RUNNER_ROLE = "arn:aws:iam::123456789012:role/deploy-runner-role-mock"


def kubernetes_objects(inv: Inventory) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r.type, r.name): r.inputs for r in inv.custom()
            if r.type.startswith("kubernetes:")}  # fmt: skip


def _without_stack_annotation(inputs: Any) -> Any:
    text = json.dumps(inputs, sort_keys=True, default=str)
    return text.replace('"ascent.dev/stack": "aws-prod-k8s"', '"ascent.dev/stack": "aws-prod"')


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_the_cloud_layer_sends_nothing_to_the_cluster(inventories, stack):
    cloud = inventories[stack].layers[stack]
    assert [r.name for r in cloud.resources if r.type.startswith("kubernetes:")] == []
    assert cloud.of_type("pulumi:providers:kubernetes") == []
    assert {"kubeconfig", "bucketName", "kafkaBootstrapBrokers", "repositoryUrls",
            "layerDigest", "deployRunner"} <= set(cloud.outputs)  # fmt: skip
    assert "kubeconfig" in cloud.secret_outputs


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_the_kubernetes_layer_declares_no_aws_resource(inventories, stack):
    layer = inventories[stack].layers[f"{stack}-k8s"]
    assert layer.resources
    assert [
        r.name for r in layer.resources if r.type.startswith(("aws:", "pulumi:providers:aws"))
    ] == []


def test_split_declares_the_same_cluster_objects_as_one_stack(inventories, run_stack):
    """The kubernetes layer built from the cloud stack's outputs is the layer-all program's
    Kubernetes half, object for object and input for input (but which stack declared it)."""
    split = kubernetes_objects(inventories["aws-prod"])
    whole = kubernetes_objects(run_stack("aws-prod", layer="all"))
    assert set(split) == set(whole)
    for key, inputs in whole.items():
        assert _without_stack_annotation(split[key]) == _without_stack_annotation(inputs), key


def test_the_runner_is_in_the_private_subnets_and_may_call_the_api(inventories):
    cloud = inventories["aws-prod"].layers["aws-prod"]
    (project,) = cloud.of_type("aws:codebuild/project:Project")
    vpc = project.inputs["vpcConfig"]
    assert set(vpc["subnets"]) == {f"network-private-{i}-id" for i in range(3)}
    assert vpc["securityGroupIds"] == ["deploy-runner-sg-id"]
    assert project.inputs["concurrentBuildLimit"] == 1  # two deploys of a stack never race
    assert project.inputs["serviceRole"] == RUNNER_ROLE
    rules = cloud.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    ingress = [r.inputs for r in rules if r.inputs["securityGroupId"] == "sg-cluster-eks"]
    assert [(i["fromPort"], i["referencedSecurityGroupId"]) for i in ingress] == [
        (443, "deploy-runner-sg-id")
    ]
    (entry,) = [e for e in cloud.of_type("aws:eks/accessEntry:AccessEntry")
                if e.inputs["principalArn"] == RUNNER_ROLE]  # fmt: skip
    (assoc,) = [a for a in cloud.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
                if a.inputs["principalArn"] == RUNNER_ROLE]  # fmt: skip
    assert entry.inputs["clusterName"] == assoc.inputs["clusterName"]
    assert assoc.inputs["policyArn"].endswith("AmazonEKSClusterAdminPolicy")
    runner = cloud.outputs["deployRunner"]
    assert runner["project"] == project.inputs["name"] == "ascent-aws-prod-deploy"
    assert runner["sourceBucket"] == cloud.outputs["bucketName"]


def test_the_runner_policy_is_least_privilege_and_names_only_configured_secrets(run_stack):
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pulumi-token-AbCdEf"
    default = run_stack("aws-prod").named("deploy-runner-policy")
    doc = json.loads(default.inputs["policy"])
    assert_least_privilege(doc)
    assert "Secrets" not in {s["Sid"] for s in doc["Statement"]}
    inv = run_stack("aws-prod", deployRunnerSecrets=[f"PULUMI_ACCESS_TOKEN={secret}"],
                    deployRunnerStateBucket="acme-pulumi-state")  # fmt: skip
    doc = json.loads(inv.named("deploy-runner-policy").inputs["policy"])
    assert_least_privilege(doc)
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["Secrets"]["Resource"] == [secret]
    assert by_sid["StateObjects"]["Resource"] == "arn:aws:s3:::acme-pulumi-state/*"
    env = inv.named("deploy-runner-project").inputs["environment"]["environmentVariables"]
    assert {"name": "PULUMI_ACCESS_TOKEN", "value": secret, "type": "SECRETS_MANAGER"} in env


def test_the_buildspec_checks_the_pulumi_cli_it_installs_and_the_step_it_runs(inventories):
    project = inventories["aws-prod"].named("deploy-runner-project")
    spec = yaml.safe_load(project.inputs["source"]["buildspec"])  # what CodeBuild parses
    install = " ".join(spec["phases"]["install"]["commands"])
    workflow = yaml.safe_load((PROJECT_ROOT / ".github/workflows/main.yml").read_text())
    version = workflow["env"]["PULUMI_VERSION"]
    assert f"pulumi-v{version}-linux-x64.tar.gz" in install  # the version CI pins
    assert "sha256sum -c" in install
    build = spec["phases"]["build"]["commands"]
    assert build[0].startswith('case "$ASCENT_STEP" in deploy|preview)')
    assert build[-1] == '/opt/ascent/bin/python -m ci "$ASCENT_STEP" --stack "$ASCENT_STACK"'


def test_the_kubernetes_stack_file_inherits_its_cloud_stack(inventories):
    own = load_stack_file(PROJECT_ROOT / "Pulumi.aws-prod-k8s.yaml")
    assert set(own) == {"ascent:layer", "ascent:cloudStack"}
    config = stack_config("aws-prod-k8s")
    assert config["ascent:gpuPools"] == stack_config("aws-prod")["ascent:gpuPools"]
    assert config["ascent:layer"] == "kubernetes"


def _project(tmp_path: Path, **stacks: dict[str, Any]) -> Path:
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path)
    shutil.copy(PROJECT_ROOT / "Pulumi.aws-prod.yaml", tmp_path)
    for name, config in stacks.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"ascent:layer": "kubernetes", "ascent:cloudStack": "aws-prod", "ascent:gpuPools":
          ["x purpose=training instanceTypes=g6.xlarge"]}, "gpuPools: belongs to the cloud layer"),
        ({"ascent:layer": "kubernetes", "ascent:cloudStack": "aws-prod",
          "ascent:kafkaBrokers": 6}, "kafkaBrokers: belongs to the cloud layer: set it in "
         "Pulumi.aws-prod.yaml"),
        ({"ascent:layer": "kubernetes", "ascent:cloudStack": "aws-stage"},
         "cloudStack: 'aws-stage': no Pulumi.aws-stage.yaml"),
        ({"ascent:layer": "kubernetes", "ascent:cloudStack": "local"},
         "Pulumi.local.yaml must set ascent:layer: cloud"),
        ({"ascent:target": "aws", "ascent:region": "us-east-1", "ascent:layer": "kubernetes"},
         "ascent:cloudStack = \"\": is required with layer kubernetes"),
        ({"ascent:layer": "cloud"}, "ascent:layer = \"cloud\": splits an AWS stack"),
        ({"ascent:target": "aws", "ascent:region": "us-east-1", "ascent:layer": "cloud",
          "ascent:cloudStack": "aws-prod"},
         "ascent:cloudStack = \"aws-prod\": is read only with layer kubernetes"),
    ],
)  # fmt: skip
def test_a_wrong_layer_config_is_one_message_naming_the_key(tmp_path, config, problem):
    root = _project(tmp_path, bad=config, local={"ascent:target": "local"})
    with pytest.raises(ConfigError) as info:
        run_program("bad", root=root)
    assert problem in info.value.one_line


def test_a_kubernetes_layer_may_override_workload_keys_and_repeat_cloud_values(tmp_path):
    root = _project(tmp_path, **{"prod-k8s": {
        "ascent:layer": "kubernetes", "ascent:cloudStack": "aws-prod", "ascent:target": "aws",
        "ascent:inferenceMaxReplicas": 5, "ascent:imageTag": "abc123",
    }})  # fmt: skip
    inv = run_program("prod-k8s", root=root)
    hpa = [r for r in inv.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")]
    assert [h.inputs["spec"]["maxReplicas"] for h in hpa] == [5]
    assert list(inv.layers) == ["aws-prod", "prod-k8s"]


def test_a_cloud_stack_deployed_from_other_values_is_refused(run_stack):
    """The layers agree on the pools, the Kubernetes version and the brokers only if the cloud
    stack was deployed from the same file: the kubernetes layer checks its digest."""
    stale = run_stack("aws-prod", kubernetesVersion="1.34").layers["aws-prod"]
    config = stack_config("aws-prod-k8s")
    with pytest.raises(ValueError, match="deployed from other cloud-layer config"):
        run_function(lambda: main(inherit_layers=False), stack="aws-prod-k8s", config=config,
                     stacks={"aws-prod": stale})  # fmt: skip
    undeployed = Inventory(stack="aws-prod")
    with pytest.raises(ValueError, match="no layerDigest output: it is not deployed"):
        run_function(lambda: main(inherit_layers=False), stack="aws-prod-k8s", config=config,
                     stacks={"aws-prod": undeployed})  # fmt: skip


def test_under_pulumi_up_the_program_resolves_the_inheritance_itself(inventories):
    """`pulumi up` hands the program the project defaults and the stack's own file only; the
    program reads the cloud stack's file from the project root and declares the same layer."""
    project = load_project(PROJECT_ROOT)
    raw = {f"ascent:{k}": str(v["default"]).lower() if isinstance(v["default"], bool)
           else (json.dumps(v["default"]) if isinstance(v["default"], list) else str(v["default"]))
           for k, v in project["config"].items()}  # fmt: skip
    raw.update(
        {k: str(v) for k, v in load_stack_file(PROJECT_ROOT / "Pulumi.aws-prod-k8s.yaml").items()}
    )
    assert raw["ascent:gpuPools"] != stack_config("aws-prod")["ascent:gpuPools"]  # defaults
    cloud = inventories["aws-prod"].layers["aws-prod"]
    inv = run_function(main, stack="aws-prod-k8s", config=raw, stacks={"aws-prod": cloud},
                       root=PROJECT_ROOT)  # fmt: skip
    expected = inventories["aws-prod"].layers["aws-prod-k8s"]
    assert kubernetes_objects(inv) == kubernetes_objects(expected)


def test_the_plan_shows_both_layers_and_checks_each_as_its_own_stack(capsys):
    from infra.cli import main as cli

    assert cli(["plan", "--stack", "aws-prod", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["layers"]) == ["aws-prod", "aws-prod-k8s"]
    assert sum(doc["layers"].values()) == doc["resources"]
    assert all(n > 10 for n in doc["layers"].values())
    owners = list(doc["components"])
    assert owners.index("aws-prod: (stack)") < owners.index("aws-prod-k8s: (stack)")
