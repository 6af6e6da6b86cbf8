"""No S3 bucket or bucket ACL grants access to everyone or to every AWS account.

Mandatory: a canned ACL public-read / public-read-write / authenticated-read, or a grant to the
AllUsers / AuthenticatedUsers group ("authenticated" means any AWS account, not ours), publishes
the bucket. The public-access block would ignore it, but only while the block stays in place;
this rule keeps the intent itself out of the program. Checked on Bucket and BucketV2 (`acl`,
`grants`) and on BucketAcl and BucketAclV2 (`acl`, `accessControlPolicy.grants`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, as_list, get, is_map, text

PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GROUPS = ("/groups/global/AllUsers", "/groups/global/AuthenticatedUsers")


def _public_group(uri: Any) -> str | None:
    uri = text(uri).rstrip("/")
    return next((g.rsplit("/", 1)[-1] for g in PUBLIC_GROUPS if uri.endswith(g)), None)


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    acl = props.get("acl")
    if isinstance(acl, str) and acl in PUBLIC_ACLS:
        out.append(f"canned ACL {acl} opens the bucket beyond this account")
    grants = [g for g in as_list(props.get("grants")) if is_map(g)]  # Bucket
    uris = [g.get("uri") for g in grants]
    acp = [g for g in as_list(get(props, "accessControlPolicy", "grants")) if is_map(g)]
    uris += [get(g, "grantee", "uri") for g in acp]  # BucketAcl
    groups = sorted({g for g in map(_public_group, uris) if g})
    if groups:
        out.append(f"the ACL grants access to the {' and '.join(groups)} group")
    return out


RULE = Rule(
    name="aws-s3-bucket-no-public-acl",
    description="S3 buckets and bucket ACLs grant nothing to AllUsers or AuthenticatedUsers",
    severity="critical",
    enforcement="mandatory",
    fix="drop the ACL (ownership BucketOwnerEnforced disables ACLs); grant access in the bucket "
    "policy to named principals",
    types=(
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:s3/bucketAcl:BucketAcl",
        "aws:s3/bucketAclV2:BucketAclV2",
    ),
    check=check,
)
