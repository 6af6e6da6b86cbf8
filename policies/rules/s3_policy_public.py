"""No S3 bucket policy allows anyone (Principal "*") without a condition that pins who.

Mandatory: an Allow to `"*"` / `{"AWS": "*"}` / `{"AWS": ["*"]}` (or an Allow with
`NotPrincipal`: everyone but the listed) opens the bucket's datasets, checkpoints and models to
every AWS account and to anonymous callers. A statement stays private when a condition restricts
the caller to a fixed account, organisation, VPC, endpoint, source ARN or network
(`aws:PrincipalOrgID`, `aws:SourceVpce`, ...), the way AWS's own "is this policy public" check
reads it: a condition on another key (`aws:SecureTransport`), an `...IfExists` or
`ForAllValues:` operator (met when the key is absent), a negated operator or a wildcard value
restricts nothing.

The policy-document helpers are in `_policy_doc.py` (shared with the KMS and ECR rules). A
document that is not a JSON policy is reported by `aws-s3-bucket-tls-only` (which reads every
bucket policy), not here, so that one mistake gives one diagnostic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._policy_doc import policy_document, public_allows


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    doc, _problem = policy_document(props.get("policy"))  # malformed: aws-s3-bucket-tls-only
    return [
        f"statement {s} allows any principal (Principal *) with no condition restricting the caller"
        for s, _ in public_allows(doc)
    ]


RULE = Rule(
    name="aws-s3-bucket-policy-no-public-principal",
    description="S3 bucket policies allow no Principal * without a restricting condition",
    severity="critical",
    enforcement="mandatory",
    fix="name the principals (role ARNs), or add a condition such as aws:PrincipalOrgID or "
    "aws:SourceVpce",
    types=(
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucket:Bucket",  # the deprecated inline `policy`
        "aws:s3/bucketV2:BucketV2",
    ),
    check=check,
)
