"""infra.local.storage: a pinned MinIO, one versioned bucket, users scoped to their prefixes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from infra.contract import (
    PREFIX_CHECKPOINTS,
    PREFIX_DATASETS,
    PREFIX_DEAD_LETTERS,
    PREFIX_MODELS,
    WORKLOADS,
)
from infra.local.storage import (
    MINIO_CHART,
    MINIO_REPO,
    MINIO_VERSION,
    Minio,
    MinioArgs,
    policy_statements,
    uses_bucket,
)
from infra.offline import Inventory, run_function
from tests.infra.local.helpers import one, secret_data, secrets_by_name

BUCKET_USERS = sorted(w.name for w in WORKLOADS.values() if uses_bucket(w))


def minio_args(**changes: Any) -> MinioArgs:
    return dataclasses.replace(MinioArgs(volume_gb=20), **changes)


def run(**changes: Any) -> Inventory:
    def program() -> dict[str, Any]:
        provider = k8s.Provider("local", kubeconfig="~/.kube/config")
        minio = Minio(
            "minio",
            minio_args(**changes),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )
        access = minio.access()
        return {
            "endpoint": minio.endpoint_url,
            "bucket": minio.bucket,
            "users": minio.user_secrets,
            "credentials": access.credentials,
            "url": access.url(PREFIX_MODELS),
        }

    return run_function(program)


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return run()


@pytest.fixture(scope="module")
def values(inv) -> dict[str, Any]:
    return one(inv, "kubernetes:helm.sh/v3:Release").inputs["values"]


def test_chart_is_pinned(inv):
    release = one(inv, "kubernetes:helm.sh/v3:Release").inputs
    assert (release["chart"], release["version"]) == (MINIO_CHART, MINIO_VERSION)
    assert (MINIO_CHART, MINIO_VERSION) == ("minio", "5.4.0")
    assert release["repositoryOpts"] == {"repo": MINIO_REPO} == {"repo": "https://charts.min.io/"}
    assert release["namespace"] == "minio"
    assert one(inv, "kubernetes:core/v1:Namespace").inputs["metadata"]["name"] == "minio"


def test_every_kubernetes_resource_uses_the_given_provider(inv):
    provider = one(inv, "pulumi:providers:kubernetes")
    component = one(inv, "ascent:local:Minio")
    kube = [r for r in inv.resources if r.type.startswith("kubernetes:")]
    assert len(kube) >= 9
    for res in kube:
        assert res.provider.startswith(provider.urn + "::"), res.name
    for res in inv.resources:
        if res not in (provider, component):
            assert res.parent == component.urn, res.name
            assert res.name.startswith("minio-"), res.name


@pytest.mark.parametrize("volume_gb", [20, 500])
def test_standalone_with_persistence_sized_from_args(volume_gb):
    values = one(run(volume_gb=volume_gb), "kubernetes:helm.sh/v3:Release").inputs["values"]
    assert values["mode"] == "standalone"
    assert values["persistence"] == {"enabled": True, "size": f"{volume_gb}Gi"}
    assert set(values["resources"]["requests"]) == {"cpu", "memory"}


def test_root_credentials_are_generated_into_the_existing_secret(inv, values):
    root = secrets_by_name(inv)[("minio", values["existingSecret"])]
    data = secret_data(root)
    assert set(data) == {"rootUser", "rootPassword"}
    assert data["rootPassword"] == "pw:minio-root-password"
    assert "rootPassword" not in values and "rootUser" not in values


def test_one_versioned_private_bucket(values, inv):
    assert values["buckets"] == [
        {"name": "ascent", "versioning": True, "policy": "none", "purge": False}
    ]
    assert inv.outputs["bucket"] == "ascent"
    assert inv.outputs["url"] == "s3://ascent/models/"


def test_policies_are_scoped_to_each_workloads_prefixes(values):
    policies = {p["name"]: p["statements"] for p in values["policies"]}
    assert sorted(policies) == [f"ascent-{w}" for w in BUCKET_USERS]
    for user in BUCKET_USERS:
        workload = WORKLOADS[user]
        statements = policies[f"ascent-{user}"]
        granted = {
            (action, resource)
            for s in statements
            for action in s["actions"]
            for resource in s["resources"]
        }
        reads = {
            (a, f"arn:aws:s3:::ascent/{p}*")
            for p in workload.bucket_read
            for a in ("s3:GetObject", "s3:GetObjectVersion")
        }
        writes = {
            (a, f"arn:aws:s3:::ascent/{p}*")
            for p in workload.bucket_write
            for a in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
        }
        assert granted == reads | writes | {("s3:ListBucket", "arn:aws:s3:::ascent")}
        (listing,) = [s for s in statements if s["actions"] == ["s3:ListBucket"]]
        (condition,) = listing["conditions"]
        prefixes = sorted(set(workload.bucket_read) | set(workload.bucket_write))
        assert json.loads("{" + condition["StringLike"] + "}") == {
            "s3:prefix": [f"{p}*" for p in prefixes]
        }
        assert all(s["effect"] == "Allow" for s in statements)


def test_users_read_their_keys_from_secrets_the_chart_can_mount(inv, values):
    secrets = secrets_by_name(inv)
    users = {u["accessKey"]: u for u in values["users"]}
    assert sorted(users) == BUCKET_USERS
    assert len({u["existingSecretKey"] for u in users.values()}) == len(users)  # no clashes
    for name, user in users.items():
        assert user["policy"] == f"ascent-{name}"
        assert "secretKey" not in user
        source = secret_data(secrets[("minio", user["existingSecret"])])
        assert source == {user["existingSecretKey"]: f"pw:minio-{name}-password"}


def test_workloads_get_aws_style_credentials_in_their_namespace(inv):
    secrets = secrets_by_name(inv)
    assert inv.outputs["users"] == {u: f"minio-{u}" for u in BUCKET_USERS}
    for user in BUCKET_USERS:
        creds = secret_data(secrets[(WORKLOADS[user].namespace, f"minio-{user}")])
        assert creds == {
            "AWS_ACCESS_KEY_ID": user,
            "AWS_SECRET_ACCESS_KEY": f"pw:minio-{user}-password",
        }
    assert {ns for ns, _ in secrets} == {"minio", "training", "serving"}
    assert [n.inputs["metadata"]["name"] for n in inv.of_type("kubernetes:core/v1:Namespace")] == [
        "minio"
    ]


def test_endpoint_matches_the_chart_service(inv, values):
    assert values["fullnameOverride"] == "minio"  # the chart names its API Service this
    assert inv.outputs["endpoint"] == "http://minio.minio.svc:9000"
    assert inv.outputs["credentials"] == "secret"


def test_other_namespace_and_bucket():
    inv = run(namespace="objects", bucket="ml-artifacts", workload_namespaces={"trainer": "gpu"})
    assert inv.outputs["endpoint"] == "http://minio.objects.svc:9000"
    assert inv.outputs["users"] == {"trainer": "minio-trainer"}
    assert ("gpu", "minio-trainer") in secrets_by_name(inv)
    values = one(inv, "kubernetes:helm.sh/v3:Release").inputs["values"]
    assert values["buckets"][0]["name"] == "ml-artifacts"


# --- argument validation ---


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"volume_gb": 0}, "volume_gb"),
        ({"namespace": "MinIO"}, "namespace"),
        ({"bucket": "A_Bucket"}, "bucket"),
        ({"bucket": "ab"}, "bucket"),
        ({"workload_namespaces": {"ghost": "serving"}}, "workload_namespaces"),
        ({"workload_namespaces": {"trainer": "-x"}}, "workload_namespaces"),
    ],
)
def test_bad_args_fail_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=rf"MinioArgs\.{field} must be"):
        minio_args(**changes)


# --- pure helpers ---


@pytest.mark.parametrize(
    ("workload", "reads", "writes", "listed"),
    [
        (
            "trainer",
            [PREFIX_DATASETS, PREFIX_CHECKPOINTS, PREFIX_MODELS],
            [PREFIX_DATASETS, PREFIX_CHECKPOINTS, PREFIX_MODELS, PREFIX_DEAD_LETTERS],
            '"s3:prefix": ["checkpoints/*", "datasets/*", "dead-letters/*", "models/*"]',
        ),
        ("inference", [PREFIX_MODELS], [], '"s3:prefix": ["models/*"]'),
        (
            "scorer",
            [PREFIX_MODELS],
            [PREFIX_DEAD_LETTERS],
            '"s3:prefix": ["dead-letters/*", "models/*"]',
        ),
        ("features", [], [PREFIX_DEAD_LETTERS], '"s3:prefix": ["dead-letters/*"]'),
    ],
)
def test_policy_statements(workload, reads, writes, listed):
    statements = policy_statements("b", WORKLOADS[workload])
    assert statements[0] == {
        "effect": "Allow",
        "actions": ["s3:ListBucket"],
        "resources": ["arn:aws:s3:::b"],
        "conditions": [{"StringLike": listed}],
    }
    by_action = {s["actions"][0]: s["resources"] for s in statements[1:]}
    assert by_action.get("s3:GetObject", []) == [f"arn:aws:s3:::b/{p}*" for p in reads]
    assert by_action.get("s3:PutObject", []) == [f"arn:aws:s3:::b/{p}*" for p in writes]
    assert len(statements) == 1 + bool(reads) + bool(writes)


def test_no_prefixes_no_statements():
    nobody = dataclasses.replace(WORKLOADS["inference"], bucket_read=())
    assert not uses_bucket(nobody)
    assert policy_statements("b", nobody) == []
