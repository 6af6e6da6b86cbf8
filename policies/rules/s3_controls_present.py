"""Every S3 bucket of the stack has its encryption, versioning, public-access block and
TLS-only policy declared (the per-setting rules check their values)."""

from __future__ import annotations

from policies.core import PackConfig, Resource, Rule

BUCKET = "aws:s3/bucket:Bucket"
SSE = "BucketServerSideEncryptionConfiguration"
CONTROLS = {
    "encryption": f"aws:s3/bucket{SSE[6:]}:{SSE}",
    "versioning": "aws:s3/bucketVersioning:BucketVersioning",
    "public access block": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "TLS-only policy": "aws:s3/bucketPolicy:BucketPolicy",
}


def check(resources: list[Resource], _config: PackConfig) -> list[tuple[str, str]]:
    buckets = [r for r in resources if r.type == BUCKET]
    out = []
    for label, typ in CONTROLS.items():
        declared = [r for r in resources if r.type == typ]
        if len(declared) < len(buckets):
            missing = len(buckets) - len(declared)
            out.append((buckets[0].name, f"{missing} bucket(s) without a {label} resource"))
    return out


RULE = Rule(
    name="aws-s3-bucket-controls-present",
    description="every S3 bucket declares encryption, versioning, public-access block, policy",
    severity="high",
    enforcement="mandatory",
    fix="declare the four companion resources for each bucket (see infra/aws/storage.py)",
    stack_check=check,
)
