"""No rule can raise on any JSON value: random JSON as every rule's resource properties (and as
whole stacks), through the SDK's analyzer. A rule that raises would fail `pulumi preview` for
everyone (the analyzer passes any exception but UnknownValueError up to the CLI)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.engine import Analyzer, Input
from policies.rules import RULES

TYPES = sorted(
    {t for r in RULES for t in r.types}
    | {
        "pulumi:providers:aws",  # what the stack rules and the cost estimate read
        "aws:eks/nodeGroup:NodeGroup",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:msk/cluster:Cluster",
        "aws:s3/bucket:Bucket",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    }
)
KEYS = sorted(
    {
        # the property names the rules read, so random values land where rules look
        "acl", "amiType", "bucket", "blockDeviceMappings", "capacityType", "clientAuthentication",
        "containers", "enableKeyRotation", "enabledClusterLogTypes", "encryptionConfig",
        "encryptionConfigurations", "encryptionInfo", "imageScanningConfiguration",
        "imageTagMutability", "ingress", "inlinePolicies", "instanceType", "instanceTypes",
        "labels", "launchTemplate", "loggingInfo", "metadata", "metadataOptions",
        "networkInterfaces", "policy", "policyArn", "region", "retentionInDays", "rules",
        "scalingConfig", "spec", "taints", "template", "tolerations", "versioningConfiguration",
        "vpcConfig", "brokerNodeGroupInfo", "managedPolicyArns", "cidrIpv4", "cidrBlocks",
        "securityContext", "initContainers", "resources", "limits", "requests", "capabilities",
        "seccompProfile", "volumes", "hostPath", "jobTemplate", "annotations", "ownerReferences",
        "maxUnavailable", "minAvailable", "minReplicas", "maxReplicas", "hostNetwork",
        "automountServiceAccountToken", "Statement", "Effect", "Action", "Principal",
        "Resource", "Condition", "NotAction", "image", "name", "key", "operator", "effect",
        "grants", "accessControlPolicy", "rule", "customerMasterKeySpec", "keyUsage",
        "customKeyStoreId", "repository", "objectOwnership", "numberOfBrokerNodes", "diskSize",
        "storageInfo", "ebsStorageInfo", "volumeSize", "ebs", "minSize", "maxSize",
    }
)  # fmt: skip

scalars = st.none() | st.booleans() | st.integers(-3, 10**6)
scalars |= st.floats(allow_nan=False, allow_infinity=False)
scalars |= st.text(max_size=12) | st.sampled_from(
    ["*", "0.0.0.0/0", "[]", "{}", "true", "TLS", "us-east-1", "g6.xlarge", "kafka.m7g.large"]
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)
props = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)
ANALYZER = Analyzer()
NAMES = ("gpu-ng", "gpu-lt", "data", "data-policy", "r")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typ=st.sampled_from(TYPES), value=props)
def test_no_resource_rule_raises_on_random_json(typ: str, value: dict[str, Any]):
    ANALYZER.analyze(Input(typ, "r", value))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(TYPES), st.sampled_from(NAMES), props), min_size=1, max_size=6
    )
)
def test_no_stack_rule_raises_on_random_json(resources: list[tuple[str, str, dict[str, Any]]]):
    # names that pair a node group with its launch template and a bucket with its companions
    ANALYZER.analyze_stack(
        Input(t, f"{n}", p, f"urn:x::{i}") for i, (t, n, p) in enumerate(resources)
    )
