"""Each rule: a compliant fixture passes, and changing one field at a time produces exactly the
expected violation; missing or unknown properties never crash a rule."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from policies.core import PackConfig, Resource, Rule, evaluate
from policies.rules import RULES

BY_NAME = {r.name: r for r in RULES}
TLS_POLICY = json.dumps(
    {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    }
)
GPU_POD = {
    "spec": {
        "template": {
            "spec": {
                "securityContext": {"runAsNonRoot": True},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                "containers": [
                    {
                        "name": "trainer",
                        "image": "repo/training:abc123",
                        "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
                        "securityContext": {"allowPrivilegeEscalation": False},
                        "resources": {
                            "requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                            "limits": {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "1"},
                        },
                    }
                ],
            }
        }
    }
}
GPU_NODE_GROUP = {
    "instanceTypes": ["g6.12xlarge"],
    "amiType": "AL2023_x86_64_NVIDIA",
    "capacityType": "SPOT",
    "labels": {"ascent.dev/purpose": "training"},
    "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
    "scalingConfig": {"minSize": 0, "maxSize": 2},
}

C = "spec", "template", "spec", "containers", 0  # the first container of GPU_POD
# rule -> (compliant props, [(path to change, new value, expected message part), ...])
CASES: dict[str, tuple[dict[str, Any], list[tuple[tuple[Any, ...], Any, str]]]] = {
    "aws-s3-bucket-sse-kms": (
        {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
        [(("rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm"), "AES256", "AES256")],
    ),
    "aws-s3-bucket-versioning": (
        {"versioningConfiguration": {"status": "Enabled"}},
        [(("versioningConfiguration", "status"), "Suspended", "'Suspended'")],
    ),
    "aws-s3-bucket-public-access-block": (
        {
            k: True
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        },
        [
            (("blockPublicPolicy",), False, "blockPublicPolicy"),
            (("restrictPublicBuckets",), None, "restrictPublicBuckets"),
        ],
    ),
    "aws-s3-bucket-tls-only": (
        {"policy": TLS_POLICY},
        [
            (("policy",), json.dumps({"Statement": []}), "aws:SecureTransport"),
            (("policy",), "{not json", "not a JSON policy"),
        ],
    ),
    "aws-eks-cluster-endpoint-restricted": (
        {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}},
        [
            (("vpcConfig", "publicAccessCidrs"), ["0.0.0.0/0"], "0.0.0.0/0"),
            (("vpcConfig", "publicAccessCidrs"), None, "0.0.0.0/0"),
        ],
    ),
    "aws-eks-cluster-secrets-encryption": (
        {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:k"}}},
        [
            (("encryptionConfig", "resources"), [], "not encrypted"),
            (("encryptionConfig", "provider", "keyArn"), None, "no KMS key"),
        ],
    ),
    "aws-eks-cluster-audit-logs": (
        {"enabledClusterLogTypes": ["api", "audit", "authenticator"]},
        [(("enabledClusterLogTypes",), ["api"], "audit")],
    ),
    "aws-ec2-launch-template-imdsv2": (
        {"metadataOptions": {"httpTokens": "required"}},
        [(("metadataOptions", "httpTokens"), "optional", "'optional'")],
    ),
    "aws-ec2-launch-template-encrypted-volumes": (
        {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]},
        [(("blockDeviceMappings", 0, "ebs", "encrypted"), "false", "/dev/xvda")],
    ),
    "aws-eks-nodegroup-gpu-taint": (
        GPU_NODE_GROUP,
        [
            (("taints",), [], "without the nvidia.com/gpu"),
            (("taints", 0, "effect"), "PREFER_NO_SCHEDULE", "without the nvidia.com/gpu"),
        ],
    ),
    "aws-eks-nodegroup-gpu-family-allowed": (
        GPU_NODE_GROUP,
        [(("instanceTypes",), ["g4dn.xlarge"], "g4dn.xlarge not in the allowed")],
    ),
    "aws-eks-nodegroup-training-spot": (
        GPU_NODE_GROUP,
        [(("capacityType",), "ON_DEMAND", "training node group on ON_DEMAND")],
    ),
    "aws-msk-cluster-tls-only": (
        {"encryptionInfo": {"encryptionInTransit": {"clientBroker": "TLS", "inCluster": True}}},
        [
            (
                ("encryptionInfo", "encryptionInTransit", "clientBroker"),
                "TLS_PLAINTEXT",
                "TLS only",
            ),
            (("encryptionInfo", "encryptionInTransit", "inCluster"), False, "broker-to-broker"),
        ],
    ),
    "aws-msk-cluster-authenticated": (
        {"clientAuthentication": {"unauthenticated": False, "sasl": {"iam": True}}},
        [
            (("clientAuthentication", "unauthenticated"), True, "unauthenticated access"),
            (("clientAuthentication", "sasl", "iam"), False, "no client authentication"),
        ],
    ),
    "aws-msk-cluster-kms-at-rest": (
        {"encryptionInfo": {"encryptionAtRestKmsKeyArn": "arn:k"}},
        [(("encryptionInfo", "encryptionAtRestKmsKeyArn"), None, "no KMS key")],
    ),
    "aws-ecr-repository-scan-on-push": (
        {"imageScanningConfiguration": {"scanOnPush": True}},
        [(("imageScanningConfiguration", "scanOnPush"), False, "not scanned")],
    ),
    "aws-ecr-repository-immutable-tags": (
        {"imageTagMutability": "IMMUTABLE"},
        [(("imageTagMutability",), "MUTABLE", "MUTABLE")],
    ),
    "aws-iam-no-admin-wildcard": (
        {
            "policy": json.dumps(
                {
                    "Statement": [
                        {"Sid": "S3", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
                    ]
                }
            )
        },
        [
            (
                ("policy",),
                json.dumps(
                    {
                        "Statement": [
                            {"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}
                        ]
                    }
                ),
                "Admin allows * on *",
            )
        ],
    ),
    "k8s-container-requests-limits": (
        GPU_POD,
        [((*C, "resources", "limits", "memory"), None, "lacks limits.memory")],
    ),
    "k8s-gpu-pod-toleration-and-limit": (
        GPU_POD,
        [
            (("spec", "template", "spec", "tolerations"), [], "does not tolerate"),
            ((*C, "resources", "limits", "nvidia.com/gpu"), None, "without a limit"),
        ],
    ),
    "k8s-no-privileged-containers": (
        GPU_POD,
        [
            ((*C, "securityContext", "privileged"), True, "is privileged"),
            ((*C, "securityContext", "allowPrivilegeEscalation"), True, "privilege escalation"),
        ],
    ),
    "k8s-run-as-non-root": (
        GPU_POD,
        [
            (
                ("spec", "template", "spec", "securityContext", "runAsNonRoot"),
                False,
                "may run as root",
            )
        ],
    ),
    "k8s-pinned-images": (
        GPU_POD,
        [
            ((*C, "image"), "repo/training:latest", "latest tag"),
            ((*C, "image"), "repo/training", "no tag"),
            ((*C, "image"), "localhost:5001/training", "no tag"),
        ],
    ),
    "k8s-deployment-readiness-probe": (
        GPU_POD,
        [((*C, "readinessProbe"), None, "no readinessProbe")],
    ),
}


def _set(props: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(props)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    if value is None and isinstance(target, dict):
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return changed


def _check(rule: Rule, props: dict[str, Any]) -> list[str]:
    assert rule.check is not None
    return rule.check(props, PackConfig())


def test_every_resource_rule_has_cases():
    resource_rules = {r.name for r in RULES if r.check is not None}
    assert resource_rules == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compliant_fixture_passes(name):
    assert _check(BY_NAME[name], CASES[name][0]) == []


@pytest.mark.parametrize(
    ("name", "path", "value", "says"),
    [(name, *m) for name, (_, mutations) in sorted(CASES.items()) for m in mutations],
)
def test_one_changed_field_gives_exactly_one_violation(name, path, value, says):
    messages = _check(BY_NAME[name], _set(CASES[name][0], path, value))
    assert len(messages) == 1 and says in messages[0], messages


@pytest.mark.parametrize("rule", [r for r in RULES if r.check], ids=lambda r: r.name)
def test_missing_and_unknown_properties_do_not_crash(rule):
    assert isinstance(_check(rule, {}), list)
    unknown = object()  # an unresolved output during a preview
    compliant = CASES[rule.name][0]
    assert _check(rule, {k: unknown for k in compliant}) == []


def test_the_gpu_family_allow_list_is_configurable():
    rule = BY_NAME["aws-eks-nodegroup-gpu-family-allowed"]
    assert rule.check is not None
    assert rule.check(GPU_NODE_GROUP, PackConfig(allowed_gpu_instance_families=("p5",)))
    spot = BY_NAME["aws-eks-nodegroup-training-spot"]
    assert spot.check is not None
    on_demand = {**GPU_NODE_GROUP, "capacityType": "ON_DEMAND"}
    assert spot.check(on_demand, PackConfig(require_spot_for_training=False)) == []


def test_enforcement_can_be_overridden_or_disabled():
    bad = [Resource("aws:ecr/repository:Repository", "r", {"imageTagMutability": "MUTABLE"})]
    rules = [BY_NAME["aws-ecr-repository-immutable-tags"]]
    (v,) = evaluate(rules, bad, PackConfig())
    assert v.enforcement == "mandatory" and v.resource == "r"
    (v,) = evaluate(rules, bad, PackConfig(enforcement={v.rule: "advisory"}))
    assert v.enforcement == "advisory"
    assert evaluate(rules, bad, PackConfig(enforcement={v.rule: "disabled"})) == []


def test_pack_config_names_unknown_keys():
    with pytest.raises(ValueError, match="maxGpuNode"):
        PackConfig.from_dict({"maxGpuNode": 3})
    config = PackConfig.from_dict({"maxGpuNodes": 3, "allowedGpuInstanceFamilies": ["g6"]})
    assert (config.max_gpu_nodes, config.allowed_gpu_instance_families) == (3, ("g6",))
