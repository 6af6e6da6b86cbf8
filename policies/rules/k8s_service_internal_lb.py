"""A Service of type LoadBalancer is internal: it says so with
`service.beta.kubernetes.io/aws-load-balancer-scheme: internal` (AWS Load Balancer Controller)
or `service.beta.kubernetes.io/aws-load-balancer-internal: "true"`, and no annotation asks for
an internet-facing one.

Mandatory: without the annotation the in-tree cloud controller makes an internet-facing load
balancer, putting the inference API (or whatever the Service selects) on the internet; which
controller handles a Service, and so the default scheme, is not visible in the Service itself.
Public entry goes through an ingress that is reviewed as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, text

SERVICE = "kubernetes:core/v1:Service"
SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    if get(props, "spec", "type") != "LoadBalancer":
        return []
    annotations = get(props, "metadata", "annotations")
    scheme, internal = get(annotations, SCHEME), get(annotations, INTERNAL)
    public = [
        f"{key}: {text(value)}"
        for key, value, wanted in ((SCHEME, scheme, "internal"), (INTERNAL, internal, "true"))
        if value is not None and text(value).strip().lower() != wanted
    ]
    if public:
        return [f"a LoadBalancer Service that is not internal ({'; '.join(public)})"]
    if scheme is None and internal is None:
        return ["a LoadBalancer Service that is not internal (no internal annotation)"]
    return []


RULE = Rule(
    name="k8s-service-internal-load-balancer",
    description="LoadBalancer Services are internal",
    severity="high",
    enforcement="mandatory",
    fix=f"annotate the Service {SCHEME}: internal (or use a ClusterIP Service and an ingress)",
    types=(SERVICE,),
    check=check,
)
