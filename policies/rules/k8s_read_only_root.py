"""Every container, init containers included, has a read-only root filesystem.

Mandatory: an intruder cannot drop a binary or rewrite the application, and nothing a
workload writes goes unnoticed into the node's disk; what a workload must write goes to an
emptyDir or a volume it mounts. Every workload this platform ships runs this way (`/tmp` is an
emptyDir).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, truthy
from policies.rules._k8s import WORKLOAD_TYPES, containers, name


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    return [
        f"container {name(c)} has a writable root filesystem (no readOnlyRootFilesystem)"
        for c in containers(props)
        if not truthy(get(c, "securityContext", "readOnlyRootFilesystem"))
    ]


RULE = Rule(
    name="k8s-read-only-root-filesystem",
    description="containers have a read-only root filesystem",
    severity="medium",
    enforcement="mandatory",
    fix="set securityContext.readOnlyRootFilesystem true; mount an emptyDir where it writes",
    types=WORKLOAD_TYPES,
    check=check,
)
