"""Object storage: one private, KMS-encrypted, versioned S3 bucket for every artifact.

One bucket with a prefix per kind of artifact (`datasets/`, `checkpoints/`, `models/`,
`dead-letters/`, named in `infra.contract`) rather than a bucket each: IAM policies scope every
workload to the prefixes it reads or writes, lifecycle rules can target a prefix (checkpoints
expire, models stay), and one bucket means one key, one policy and one name to hand the
workloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_aws.s3 import (
    BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs as AbortMultipart,
)
from pulumi_aws.s3 import (
    BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs as NoncurrentExpiration,
)
from pulumi_aws.s3 import (
    BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs as SseDefault,
)

from infra.contract import PREFIX_CHECKPOINTS

ABORT_MULTIPART_AFTER_DAYS = 7


@dataclass(frozen=True)
class ObjectStorageArgs:
    force_destroy: bool
    checkpoint_retention_days: int
    noncurrent_version_retention_days: int

    def __post_init__(self) -> None:
        for field in ("checkpoint_retention_days", "noncurrent_version_retention_days"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)}")


def tls_only_policy(bucket_arn: str) -> dict[str, Any]:
    """A bucket policy refusing every request not made over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


class ObjectStorage(pulumi.ComponentResource):
    """The artifact bucket, its KMS key, and the settings that keep it private."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ObjectStorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ascent:aws:ObjectStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the {pulumi.get_project()}-{pulumi.get_stack()} artifact bucket",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            target_key_id=key.arn,
            opts=child,
        )
        bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=args.force_destroy, opts=child)

        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=SseDefault(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id, rules=_lifecycle_rules(args), opts=child
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )

        self.bucket_name = bucket.id  # an S3 bucket's id is its name
        self.bucket_arn = bucket.arn
        self.kms_key_arn = key.arn
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "kmsKeyArn": self.kms_key_arn,
            }
        )


def _lifecycle_rules(
    args: ObjectStorageArgs,
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Noncurrent versions expire everywhere; checkpoints expire; stale uploads are aborted."""
    rule = aws.s3.BucketLifecycleConfigurationRuleArgs
    # An explicit empty prefix: an empty filter block is an invalid attribute combination.
    everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
    return [
        rule(
            id="expire-noncurrent-versions",
            status="Enabled",
            filter=everything,
            noncurrent_version_expiration=NoncurrentExpiration(
                noncurrent_days=args.noncurrent_version_retention_days
            ),
        ),
        rule(
            id="expire-checkpoints",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=PREFIX_CHECKPOINTS),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                days=args.checkpoint_retention_days
            ),
        ),
        rule(
            # expiring in a versioned bucket leaves delete markers: clear the orphaned ones
            id="remove-expired-delete-markers",
            status="Enabled",
            filter=everything,
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                expired_object_delete_marker=True
            ),
        ),
        rule(
            id="abort-incomplete-multipart-uploads",
            status="Enabled",
            filter=everything,
            abort_incomplete_multipart_upload=AbortMultipart(
                days_after_initiation=ABORT_MULTIPART_AFTER_DAYS
            ),
        ),
    ]
