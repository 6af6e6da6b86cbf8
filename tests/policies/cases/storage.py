"""S3, ECR and KMS rules: complete, compliant resources of each type (policy documents as JSON
strings and as objects, the two forms Pulumi hands over), and the stacks the storage stack rules
start from."""

from __future__ import annotations

import json

from tests.policies.cases import DELETE, Case, Mutation, StackCase, resource
from tests.policies.cases.fixtures import LIMITS, SSE, STACK, TLS_POLICY

ECR_REPOSITORY = {
    "imageTagMutability": "IMMUTABLE",
    "imageScanningConfiguration": {"scanOnPush": True},
    "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "arn:k"}],
}
BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_V2 = (
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
)
BUCKET, BUCKET_V2 = "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
KMS_RULES = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]

TLS_ONLY = "aws-s3-bucket-tls-only"
PUBLIC_POLICY = "aws-s3-bucket-policy-no-public-principal"
PUBLIC_ACL = "aws-s3-bucket-no-public-acl"
ANYONE = "any principal"
NOT_A_DOCUMENT = "not a JSON policy document"
ARN = "arn:aws:s3:::b"
ROLE = "arn:aws:iam::123456789012:role/training"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"

TLS_DENY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [ARN, f"{ARN}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
# A bucket policy as an object: the TLS deny, a read grant to a role, and a grant to "*" that a
# VPC endpoint condition keeps private.
BUCKET_POLICY_DOC = {
    "Version": "2012-10-17",
    "Statement": [
        TLS_DENY,
        {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": [ROLE]}, "Action": "s3:GetObject"},
        {
            "Sid": "Vpce",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": f"{ARN}/*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0abc"}},
        },
    ],
}
READ, VPCE = ("policy", "Statement", 1), ("policy", "Statement", 2)
DENY = ("policy", "Statement", 0)


def tls_deny(**changed: object) -> dict:
    return {"bucket": "b", "policy": {"Statement": [{**TLS_DENY, **changed}]}}


PUBLIC_READ = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*"}]})


KMS_KEY = {
    "description": "encrypts the artifact bucket",
    "enableKeyRotation": True,
    "deletionWindowInDays": 30,
    "policy": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "ViaS3",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": "123456789012",
                        "kms:ViaService": "s3.us-east-1.amazonaws.com",
                    }
                },
            },
        ],
    },
}
KMS_POLICY = "aws-kms-key-policy-no-public-principal"
ROOT, VIA_S3 = ("policy", "Statement", 0), ("policy", "Statement", 1)

REPOSITORY_POLICY = {
    "repository": "ascent/training",
    "policy": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Pull",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                },
                {
                    "Sid": "Org",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["ecr:BatchGetImage"],
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                },
            ],
        }
    ),
}


def repository_policy(**org_statement: object) -> str:
    doc = json.loads(REPOSITORY_POLICY["policy"])
    doc["Statement"][1].update(org_statement)
    return json.dumps(doc)


CASES = [
    Case(
        "aws-s3-bucket-sse-kms",
        SSE,
        {"bucket": "b", "rules": KMS_RULES},
        (
            Mutation(
                ("rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm"),
                "AES256",
                "AES256",
            ),
            Mutation(("rules",), 5, "not aws:kms"),  # once a crash: iterating a number
            Mutation(("rules",), DELETE, "not set"),
        ),
    ),
    Case(
        "aws-s3-bucket-sse-kms",
        SSE_V2,
        {"bucket": "b", "rules": KMS_RULES},
        (
            Mutation(
                ("rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm"),
                "AES256",
                "AES256",
            ),
        ),
    ),
    Case(
        "aws-s3-bucket-versioning",
        "aws:s3/bucketVersioning:BucketVersioning",
        {"bucket": "b", "versioningConfiguration": {"status": "Enabled"}},
        (Mutation(("versioningConfiguration", "status"), "Suspended", "'Suspended'"),),
    ),
    Case(
        "aws-s3-bucket-versioning",
        VERSIONING_V2,
        {"bucket": "b", "versioningConfiguration": {"status": "Enabled"}},
        (Mutation(("versioningConfiguration", "status"), "Suspended", "'Suspended'"),),
    ),
    Case(
        "aws-s3-bucket-public-access-block",
        BLOCK,
        {"bucket": "b", **{k: True for k in BLOCKS}},
        (
            Mutation(("blockPublicPolicy",), False, "blockPublicPolicy"),
            Mutation(("restrictPublicBuckets",), DELETE, "restrictPublicBuckets"),
        ),
    ),
    Case(
        TLS_ONLY,
        BUCKET_POLICY,
        {"bucket": "b", "policy": TLS_POLICY},
        (
            Mutation(("policy",), json.dumps({"Statement": []}), "aws:SecureTransport"),
            Mutation(("policy",), "{not json", NOT_A_DOCUMENT),
            Mutation(("policy",), "[]", NOT_A_DOCUMENT),  # once a crash
            Mutation(("policy",), [], NOT_A_DOCUMENT),  # an array given as an object
            Mutation(("policy",), "5", NOT_A_DOCUMENT),
            Mutation(("policy",), json.dumps({"Statement": 5}), "aws:SecureTransport"),
            Mutation(("policy",), json.dumps({"Statement": [5, "x", []]}), "aws:SecureTransport"),
        ),
    ),
    Case(
        TLS_ONLY,
        BUCKET_POLICY,
        {"bucket": "b", "policy": BUCKET_POLICY_DOC},
        (
            # scoped to the bucket ARN only: every object stays reachable over plain HTTP
            Mutation((*DENY, "Resource"), [ARN], "its objects (ARN/*)"),
            Mutation((*DENY, "Resource"), f"{ARN}/*", "its objects (ARN/*)"),
            Mutation((*DENY, "Resource"), [ARN, f"{ARN}/models/*"], "its objects (ARN/*)"),
            Mutation((*DENY, "Resource"), [ARN, "arn:aws:s3:::other/*"], "its objects"),
            Mutation((*DENY, "Principal"), {"AWS": ROLE}, "aws:SecureTransport"),
            Mutation((*DENY, "Action"), ["s3:GetObject"], "aws:SecureTransport"),
            Mutation(
                (*DENY, "Condition", "Bool", "aws:SecureTransport"), "true", "SecureTransport"
            ),
            Mutation(
                (*DENY, "Condition", "StringEquals"),
                {"aws:PrincipalAccount": "123456789012"},  # narrows the deny to one account
                "aws:SecureTransport",
            ),
        ),
    ),
    # the forms a valid TLS deny takes (once false positives): no mutations
    Case(TLS_ONLY, BUCKET_POLICY, tls_deny(Principal={"AWS": ["*"]}), ()),
    Case(TLS_ONLY, BUCKET_POLICY, tls_deny(Principal={"AWS": "*"}), ()),
    Case(TLS_ONLY, BUCKET_POLICY, tls_deny(Action=["s3:*"], Resource="*"), ()),
    Case(TLS_ONLY, BUCKET_POLICY, tls_deny(Resource=["arn:aws:s3:::b*"]), ()),
    Case(
        TLS_ONLY,
        BUCKET_POLICY,
        tls_deny(Action="*", Condition={"BoolIfExists": {"aws:securetransport": False}}),
        (),
    ),
    Case(
        PUBLIC_POLICY,
        BUCKET_POLICY,
        {"bucket": "b", "policy": BUCKET_POLICY_DOC},
        (
            Mutation((*READ, "Principal"), "*", ANYONE),
            Mutation((*READ, "Principal"), {"AWS": "*"}, ANYONE),
            Mutation((*READ, "Principal"), {"AWS": ["*"]}, ANYONE),
            Mutation((*READ, "Principal"), {"AWS": [ROLE, "*"]}, ANYONE),
            Mutation(
                READ,
                {"Effect": "Allow", "NotPrincipal": {"AWS": ROLE}, "Action": "s3:GetObject"},
                ANYONE,
            ),
            Mutation((*VPCE, "Condition"), DELETE, "'Vpce'"),
            Mutation((*VPCE, "Condition"), {"Bool": {"aws:SecureTransport": "true"}}, ANYONE),
            Mutation(
                (*VPCE, "Condition"), {"StringEqualsIfExists": {"aws:SourceVpce": "v"}}, ANYONE
            ),
            Mutation((*VPCE, "Condition"), {"StringNotEquals": {"aws:SourceVpce": "v"}}, ANYONE),
            Mutation((*VPCE, "Condition", "StringEquals", "aws:SourceVpce"), "*", ANYONE),
            Mutation((*VPCE, "Condition", "StringEquals", "aws:SourceVpce"), [], ANYONE),
            Mutation((*VPCE, "Condition"), {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, ANYONE),
            Mutation((*VPCE, "Condition"), 5, ANYONE),
            Mutation(VPCE, {"Effect": "Allow", "Principal": "*", "Action": "s3:Get*"}, "#2 allows"),
        ),
    ),
    Case(
        PUBLIC_POLICY,
        BUCKET_POLICY,
        {"bucket": "b", "policy": TLS_POLICY},
        (
            Mutation(
                ("policy",),
                json.dumps({"Statement": [TLS_DENY, {"Effect": "Allow", "Principal": "*"}]}),
                ANYONE,
            ),
        ),
    ),
    Case(
        PUBLIC_ACL,
        BUCKET,
        {"bucket": "b", "forceDestroy": False},
        (
            Mutation(("acl",), "public-read", "public-read"),
            Mutation(("acl",), "public-read-write", "public-read-write"),
            Mutation(("acl",), "authenticated-read", "authenticated-read"),
            Mutation(
                ("grants",),
                [{"type": "Group", "uri": ALL_USERS, "permissions": ["READ"]}],
                "AllUsers",
            ),
            Mutation(("policy",), PUBLIC_READ, ANYONE, rule=PUBLIC_POLICY),
        ),
    ),
    Case(
        PUBLIC_ACL,
        BUCKET_V2,
        {"bucket": "b", "acl": "private"},
        (
            Mutation(("acl",), "public-read", "public-read"),
            Mutation(("grants",), [{"type": "Group", "uri": AUTHENTICATED}], "AuthenticatedUsers"),
            Mutation(("policy",), PUBLIC_READ, ANYONE, rule=PUBLIC_POLICY),
        ),
    ),
    Case(
        PUBLIC_ACL,
        "aws:s3/bucketAcl:BucketAcl",
        {
            "bucket": "b",
            "accessControlPolicy": {
                "owner": {"id": "owner"},
                "grants": [
                    {
                        "grantee": {"type": "CanonicalUser", "id": "owner"},
                        "permission": "FULL_CONTROL",
                    }
                ],
            },
        },
        (
            Mutation(
                ("accessControlPolicy", "grants", 0, "grantee"),
                {"type": "Group", "uri": ALL_USERS},
                "AllUsers",
            ),
            Mutation(("acl",), "authenticated-read", "authenticated-read"),
        ),
    ),
    Case(
        PUBLIC_ACL,
        "aws:s3/bucketAclV2:BucketAclV2",
        {"bucket": "b", "acl": "private"},
        (Mutation(("acl",), "public-read-write", "public-read-write"),),
    ),
    Case(
        "aws-s3-bucket-acls-disabled",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        {"bucket": "b", "rule": {"objectOwnership": "BucketOwnerEnforced"}},
        (
            Mutation(("rule", "objectOwnership"), "ObjectWriter", "'ObjectWriter'"),
            Mutation(("rule", "objectOwnership"), "BucketOwnerPreferred", "ACLs stay enabled"),
            Mutation(("rule",), DELETE, "None"),
        ),
    ),
    Case(
        "aws-ecr-repository-scan-on-push",
        "aws:ecr/repository:Repository",
        ECR_REPOSITORY,
        (Mutation(("imageScanningConfiguration", "scanOnPush"), False, "not scanned"),),
    ),
    Case(
        "aws-ecr-repository-immutable-tags",
        "aws:ecr/repository:Repository",
        ECR_REPOSITORY,
        (Mutation(("imageTagMutability",), "MUTABLE", "MUTABLE"),),
    ),
    Case(
        "aws-ecr-repository-kms-encryption",
        "aws:ecr/repository:Repository",
        ECR_REPOSITORY,
        (
            Mutation(("encryptionConfigurations", 0, "encryptionType"), "AES256", "AES256, not"),
            Mutation(("encryptionConfigurations",), DELETE, "AES256 (default)"),
            Mutation(("encryptionConfigurations",), [], "AES256 (default)"),
            Mutation(("encryptionConfigurations",), [{"kmsKey": "arn:k"}], "AES256 (default)"),
        ),
    ),
    Case(
        "aws-ecr-repository-policy-no-public-principal",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        REPOSITORY_POLICY,
        (
            Mutation(("policy",), repository_policy(Condition={}), "'Org'"),
            Mutation(
                ("policy",), repository_policy(Principal={"AWS": ["*"]}, Condition=None), ANYONE
            ),
            Mutation(
                ("policy",),
                repository_policy(
                    Condition={"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o"}}
                ),
                ANYONE,
            ),
            Mutation(("policy",), "[]", NOT_A_DOCUMENT),
        ),
    ),
    Case(
        "aws-kms-key-rotation-enabled",
        "aws:kms/key:Key",
        KMS_KEY,
        (
            Mutation(("enableKeyRotation",), False, "rotation is off"),
            Mutation(("enableKeyRotation",), DELETE, "off by default"),
            Mutation(("enableKeyRotation",), "false", "rotation is off"),
        ),
    ),
    # keys AWS cannot rotate: nothing to report
    Case(
        "aws-kms-key-rotation-enabled",
        "aws:kms/key:Key",
        {"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"},
        (),
    ),
    Case(
        "aws-kms-key-rotation-enabled",
        "aws:kms/key:Key",
        {"customerMasterKeySpec": "HMAC_256", "keyUsage": "GENERATE_VERIFY_MAC"},
        (),
    ),
    Case(
        KMS_POLICY,
        "aws:kms/key:Key",
        KMS_KEY,
        (
            Mutation((*ROOT, "Principal"), "*", "every KMS action"),
            Mutation((*ROOT, "Principal"), {"AWS": "*"}, "every KMS action"),
            Mutation((*ROOT, "Principal", "AWS"), ["*"], "statement 'Root'"),
            Mutation((*VIA_S3, "Condition"), DELETE, "kms:Decrypt, kms:GenerateDataKey"),
            Mutation(
                (*VIA_S3, "Condition", "StringEquals"),
                {"kms:ViaService": "s3.us-east-1.amazonaws.com"},  # any account, through S3
                ANYONE,
            ),
            Mutation(("policy",), "[]", NOT_A_DOCUMENT),
            Mutation(("policy",), "{", NOT_A_DOCUMENT),
        ),
    ),
    Case(
        KMS_POLICY,
        "aws:kms/keyPolicy:KeyPolicy",
        {"keyId": "k", "policy": json.dumps(KMS_KEY["policy"])},
        (
            Mutation(
                ("policy",),
                json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*"}}),
                "every KMS action",
            ),
        ),
    ),
]


# Two buckets: `data` (the shared stack's, companions found through property dependencies) and
# `logs`, a BucketV2 with a literal name whose V2 companions name it literally, no dependency.
TWO_BUCKETS = (
    *STACK,
    resource(BUCKET_V2, "logs", {"bucket": "ascent-logs"}),
    resource(SSE_V2, "logs-sse", {"bucket": "ascent-logs", "rules": KMS_RULES}),
    resource(
        VERSIONING_V2,
        "logs-versioning",
        {"bucket": "ascent-logs", "versioningConfiguration": {"status": "Enabled"}},
    ),
    resource(BLOCK, "logs-block", {"bucket": "ascent-logs", **{k: True for k in BLOCKS}}),
    resource(BUCKET_POLICY, "logs-policy", {"bucket": "ascent-logs", "policy": TLS_POLICY}),
)
REPOSITORY, LIFECYCLE = "aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy"
LIFECYCLE_POLICY = json.dumps({"rules": [{"rulePriority": 1, "action": {"type": "expire"}}]})
# Two repositories: `training`'s lifecycle policy found through its dependency (its literal
# value, as the offline mock gives it, differs from the repository's name), `inference`'s
# through its literal repository name.
REGISTRY = (
    *STACK,
    resource(REPOSITORY, "training", {"name": "ascent/training", **ECR_REPOSITORY}),
    resource(
        LIFECYCLE,
        "training-lifecycle",
        {"repository": "training-name", "policy": LIFECYCLE_POLICY},
        repository=("training",),
    ),
    resource(REPOSITORY, "inference", {"name": "ascent/inference", **ECR_REPOSITORY}),
    resource(
        LIFECYCLE,
        "inference-lifecycle",
        {"repository": "ascent/inference", "policy": LIFECYCLE_POLICY},
    ),
)
CONTROLS = "aws-s3-bucket-controls-present"

STACK_CASES = [
    StackCase(
        CONTROLS,
        STACK,
        (
            # companions pointing at another bucket, or at none (once they still counted)
            (
                "data-versioning",
                Mutation(("depends", "bucket"), ("other",), "data has no versioning"),
            ),
            ("data-versioning", Mutation(("depends",), {}, "data has no versioning")),
            ("data-sse", Mutation(("depends", "bucket"), ("gpu-ng",), "no encryption")),
            ("data-block", Mutation(("depends", "bucket"), DELETE, "no public access block")),
            ("data-policy", Mutation(("depends", "bucket"), ("aws",), "no TLS-only policy")),
        ),
        LIMITS,
    ),
    StackCase(
        CONTROLS,
        TWO_BUCKETS,
        (
            ("logs-versioning", Mutation(("props", "bucket"), "ascent-other", "logs has no vers")),
            ("logs-sse", Mutation(("depends", "bucket"), ("data",), "logs has no encryption")),
            ("logs-block", Mutation(("props", "bucket"), "b", "logs has no public access block")),
            ("data-policy", Mutation(("depends", "bucket"), ("logs",), "data has no TLS-only")),
            ("logs-policy", Mutation(("props", "bucket"), DELETE, "logs has no TLS-only")),
        ),
        LIMITS,
    ),
    StackCase(
        "aws-ecr-repository-lifecycle-policy",
        REGISTRY,
        (
            (
                "training-lifecycle",
                Mutation(("depends", "repository"), ("inference",), "training has no lifecycle"),
            ),
            ("training-lifecycle", Mutation(("depends",), {}, "training has no lifecycle")),
            (
                "inference-lifecycle",
                Mutation(("props", "repository"), "ascent/other", "inference has no lifecycle"),
            ),
        ),
        LIMITS,
    ),
]
