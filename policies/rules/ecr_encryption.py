"""ECR repositories encrypt images with KMS, not only the AES256 default.

Mandatory: images carry the training and inference code and sometimes baked-in model weights;
with KMS, pulling a layer also needs the key, so the key policy and CloudTrail's key-use records
guard and audit every pull (the registry's own key in `infra/aws/registry.py`). KMS_DSSE
(dual-layer) counts as KMS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, as_list, get, text

KMS_TYPES = ("KMS", "KMS_DSSE")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    types = [get(c, "encryptionType") for c in as_list(props.get("encryptionConfigurations"))]
    if any(isinstance(t, str) and t in KMS_TYPES for t in types):
        return []
    shown = ", ".join(text(t) or "AES256 (default)" for t in types) or "AES256 (default)"
    return [f"images are encrypted with {shown}, not KMS"]


RULE = Rule(
    name="aws-ecr-repository-kms-encryption",
    description="ECR repositories encrypt images with KMS",
    severity="medium",
    enforcement="mandatory",
    fix='set encryptionConfigurations [{encryptionType: "KMS", kmsKey: <key ARN>}]',
    types=("aws:ecr/repository:Repository",),
    check=check,
)
