"""Every S3 bucket of the stack has its own encryption, versioning, public-access block and
bucket policy declared (the per-setting rules check their values).

Mandatory: the value rules only see the companion resources that exist, so a bucket without one
(or whose companion points at another bucket) would pass them silently. A companion belongs to a
bucket when its `bucket` input came from that bucket (the engine's property dependencies: how it
is known while the bucket's name is still unknown during a preview) or, for a companion with no
such dependency, when its literal `bucket` equals the bucket's literal `bucket` name. Bucket and
BucketV2 are both buckets; the V2 companion types count like the others.
"""

from __future__ import annotations

from policies.core import PackConfig, Resource, Rule, points_at

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
SSE = "BucketServerSideEncryptionConfiguration"
CONTROLS: dict[str, tuple[str, ...]] = {
    "encryption": (f"aws:s3/bucket{SSE[6:]}:{SSE}", f"aws:s3/bucket{SSE[6:]}V2:{SSE}V2"),
    "versioning": (
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketVersioningV2:BucketVersioningV2",
    ),
    "public access block": ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",),
    "TLS-only policy": ("aws:s3/bucketPolicy:BucketPolicy",),
}


def check(resources: list[Resource], _config: PackConfig) -> list[tuple[str, str]]:
    buckets = [r for r in resources if r.type in BUCKETS]
    out = []
    for label, types in CONTROLS.items():
        declared = [r for r in resources if r.type in types]
        for bucket in buckets:
            if not any(points_at(c, bucket, "bucket", "bucket") for c in declared):
                out.append((bucket.name, f"bucket {bucket.name} has no {label} resource"))
    return out


RULE = Rule(
    name="aws-s3-bucket-controls-present",
    description="every S3 bucket declares encryption, versioning, public-access block, policy",
    severity="high",
    enforcement="mandatory",
    fix="declare the four companion resources for each bucket, bucket=<the bucket>.id "
    "(see infra/aws/storage.py)",
    stack_check=check,
)
