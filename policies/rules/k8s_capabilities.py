"""Containers drop every Linux capability and add none back but NET_BIND_SERVICE (the Pod
Security Standards' restricted profile).

Mandatory: the runtime's default set (NET_RAW, CHOWN, SETUID, ...) and added capabilities such
as SYS_ADMIN or NET_ADMIN reach far past what a workload needs; SYS_ADMIN is nearly root on the
node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, as_list, get, text
from policies.rules._k8s import WORKLOAD_TYPES, containers, name

ALLOWED_ADDS = frozenset({"NET_BIND_SERVICE"})


def _names(value: Any) -> list[str]:
    """Capability names as the runtime reads them: upper case, without a CAP_ prefix."""
    return [text(v).strip().upper().removeprefix("CAP_") for v in as_list(value)]


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    for c in containers(props):
        caps = get(c, "securityContext", "capabilities")
        added = sorted(set(_names(get(caps, "add"))) - ALLOWED_ADDS)
        if added:
            out.append(f"container {name(c)} adds capabilities {', '.join(added)}")
        if "ALL" not in _names(get(caps, "drop")):
            out.append(f"container {name(c)} does not drop ALL capabilities")
    return out


RULE = Rule(
    name="k8s-capabilities-drop-all",
    description="containers drop ALL capabilities and add none but NET_BIND_SERVICE",
    severity="high",
    enforcement="mandatory",
    fix="set securityContext.capabilities.drop [ALL]; add back at most NET_BIND_SERVICE",
    types=WORKLOAD_TYPES,
    check=check,
)
