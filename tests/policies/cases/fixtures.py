"""Fixtures more than one case module uses: the compliant small stack the stack rules start
from (a provider, a bucket with its four companions, a GPU pool)."""

from __future__ import annotations

import json

from policies.core import PackConfig
from tests.policies.cases import resource
from tests.policies.cases.aws import GPU_NODE_GROUP

TLS_POLICY = json.dumps(
    {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    }
)
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
SSE_RULES = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]
BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
STACK = (
    resource("pulumi:providers:aws", "aws", {"region": "us-east-1"}),
    resource("aws:s3/bucket:Bucket", "data", {"bucket": "b"}),
    resource(SSE, "data-sse", {"bucket": "data-id", "rules": SSE_RULES}, bucket=("data",)),
    resource(
        "aws:s3/bucketVersioning:BucketVersioning",
        "data-versioning",
        {"bucket": "data-id", "versioningConfiguration": {"status": "Enabled"}},
        bucket=("data",),
    ),
    resource(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "data-block",
        {"bucket": "data-id", **{k: True for k in BLOCKS}},
        bucket=("data",),
    ),
    resource(
        "aws:s3/bucketPolicy:BucketPolicy",
        "data-policy",
        {"bucket": "data-id", "policy": TLS_POLICY},
        bucket=("data",),
    ),
    resource(
        "aws:eks/nodeGroup:NodeGroup",
        "gpu-ng",
        {**GPU_NODE_GROUP, "scalingConfig": {"minSize": 0, "maxSize": 4}},
    ),
)
LIMITS = PackConfig(max_gpu_nodes=4, monthly_budget_usd=10_000)
POOL_TYPES = ("props", "instanceTypes")
