"""infra.aws.storage: one private, KMS-encrypted, versioned bucket with per-prefix lifecycle."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.aws.storage import ObjectStorage, ObjectStorageArgs, tls_only_policy
from infra.contract import PREFIX_CHECKPOINTS
from infra.offline import Inventory, RecordingMonitor, Resource, run_function

ARGS = ObjectStorageArgs(
    force_destroy=False, checkpoint_retention_days=14, noncurrent_version_retention_days=30
)
COMPONENT = "ascent:aws:ObjectStorage"


def run(args: ObjectStorageArgs = ARGS) -> Inventory:
    def program() -> dict[str, Any]:
        storage = ObjectStorage("storage", args)
        return {
            "bucketName": storage.bucket_name,
            "bucketArn": storage.bucket_arn,
            "kmsKeyArn": storage.kms_key_arn,
        }

    return run_function(program)


def only(inv: Inventory, type_token: str) -> Resource:
    found = inv.of_type(type_token)
    assert len(found) == 1, f"{len(found)} resources of type {type_token}"
    return found[0]


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return run()


# tls_only_policy


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:s3:::ascent-artifacts", "arn:aws-us-gov:s3:::b-1", "arn:aws-cn:s3:::x.y.z"],
)
def test_tls_only_policy_denies_plain_http_on_bucket_and_objects(arn):
    policy = tls_only_policy(arn)
    assert policy["Version"] == "2012-10-17"
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Resource"] == [arn, f"{arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert json.loads(json.dumps(policy)) == policy  # serialisable as is


# ObjectStorageArgs


@pytest.mark.parametrize(
    ("checkpoint_days", "noncurrent_days", "named"),
    [
        (0, 30, "checkpoint_retention_days"),
        (-1, 30, "checkpoint_retention_days"),
        (14, 0, "noncurrent_version_retention_days"),
    ],
)
def test_args_refuse_retention_below_one_day(checkpoint_days, noncurrent_days, named):
    with pytest.raises(ValueError, match=named):
        ObjectStorageArgs(False, checkpoint_days, noncurrent_days)


# the component


def test_children_are_named_after_and_parented_to_the_component(inv):
    component = only(inv, COMPONENT)
    assert component.name == "storage"
    children = inv.children(component.urn)
    assert {r.name for r in children} == {
        "storage-key",
        "storage-key-alias",
        "storage-bucket",
        "storage-ownership",
        "storage-public-access",
        "storage-encryption",
        "storage-versioning",
        "storage-lifecycle",
        "storage-tls-only",
    }
    assert {r.urn for r in inv.custom()} == {r.urn for r in children}


def test_one_current_bucket_autonamed(inv):
    bucket = only(inv, "aws:s3/bucket:Bucket")
    assert not inv.of_type("aws:s3/bucketV2:BucketV2")
    assert "bucket" not in bucket.inputs and "bucketPrefix" not in bucket.inputs


@pytest.mark.parametrize("force_destroy", [True, False])
def test_force_destroy_follows_args(force_destroy):
    args = ObjectStorageArgs(force_destroy, 14, 30)
    assert only(run(args), "aws:s3/bucket:Bucket").inputs["forceDestroy"] is force_destroy


def test_kms_key_rotates_and_has_an_alias(inv):
    key = only(inv, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.inputs["description"]
    alias = only(inv, "aws:kms/alias:Alias")
    assert alias.inputs["name"] == "alias/ascent-test-storage"
    assert alias.inputs["targetKeyId"] == inv.outputs["kmsKeyArn"]


def test_bucket_owner_enforced(inv):
    ownership = only(inv, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert ownership.inputs["bucket"] == inv.outputs["bucketName"]


def test_all_public_access_blocked(inv):
    block = only(inv, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"):
        assert block.inputs[flag] is True, flag
    assert block.inputs["restrictPublicBuckets"] is True
    assert block.inputs["bucket"] == inv.outputs["bucketName"]


def test_default_encryption_is_kms_with_own_key_and_bucket_key(inv):
    sse = only(
        inv,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    [rule] = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": inv.outputs["kmsKeyArn"],
    }
    assert rule["bucketKeyEnabled"] is True
    assert sse.inputs["bucket"] == inv.outputs["bucketName"]


def test_versioning_enabled(inv):
    versioning = only(inv, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert versioning.inputs["bucket"] == inv.outputs["bucketName"]


@pytest.mark.parametrize(("checkpoint_days", "noncurrent_days"), [(14, 30), (3, 90), (365, 1)])
def test_lifecycle_rules_follow_args(checkpoint_days, noncurrent_days):
    args = ObjectStorageArgs(False, checkpoint_days, noncurrent_days)
    lifecycle = only(run(args), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rules = {r["id"]: r for r in lifecycle.inputs["rules"]}
    assert len(rules) == 4
    assert all(r["status"] == "Enabled" for r in rules.values())

    noncurrent = rules["expire-noncurrent-versions"]
    assert noncurrent["filter"] == {"prefix": ""}  # the whole bucket
    assert noncurrent["noncurrentVersionExpiration"] == {"noncurrentDays": noncurrent_days}

    checkpoints = rules["expire-checkpoints"]
    assert checkpoints["filter"] == {"prefix": PREFIX_CHECKPOINTS}
    assert checkpoints["expiration"] == {"days": checkpoint_days}

    markers = rules["remove-expired-delete-markers"]
    assert markers["expiration"] == {"expiredObjectDeleteMarker": True}

    uploads = rules["abort-incomplete-multipart-uploads"]
    assert uploads["filter"] == {"prefix": ""}
    assert uploads["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_only_checkpoints_expire(inv):
    lifecycle = only(inv, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    expiring = [r for r in lifecycle.inputs["rules"] if "days" in r.get("expiration", {})]
    assert [r["filter"] for r in expiring] == [{"prefix": PREFIX_CHECKPOINTS}]


def test_bucket_policy_denies_non_tls_on_bucket_and_objects(inv):
    policy = only(inv, "aws:s3/bucketPolicy:BucketPolicy")
    arn = inv.outputs["bucketArn"]
    assert policy.inputs["bucket"] == inv.outputs["bucketName"]
    document = json.loads(policy.inputs["policy"])
    assert document == tls_only_policy(arn)
    [statement] = document["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Deny", "s3:*")
    assert set(statement["Resource"]) == {arn, f"{arn}/*"}
    assert statement["Condition"]["Bool"]["aws:SecureTransport"] == "false"


def test_bucket_policy_waits_for_public_access_block(monkeypatch):
    dependencies: dict[str, list[str]] = {}
    original = RecordingMonitor.RegisterResource

    def record(self: RecordingMonitor, request: Any) -> Any:
        dependencies[request.name] = list(request.dependencies)
        return original(self, request)

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", record)
    inv = run()
    block = only(inv, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.urn in dependencies["storage-tls-only"]


def test_outputs_expose_bucket_and_key(inv):
    assert inv.outputs["bucketName"] == "storage-bucket-id"
    assert inv.outputs["bucketArn"] == "arn:aws:s3:::storage-bucket-mock"
    assert inv.outputs["kmsKeyArn"].startswith("arn:aws:kms:")
