"""MinIO on any cluster: one versioned bucket, one user per workload scoped to its prefixes.

The community `minio` chart creates the bucket, the policies and the users in its post-install
job; we generate every credential with `pulumi_random` so none lives in the chart's values. Each
workload reads its keys from a Secret in its own namespace (`AWS_ACCESS_KEY_ID` /
`AWS_SECRET_ACCESS_KEY`); the chart reads a copy of the secret key in the MinIO namespace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.contract import WORKLOADS, ObjectStoreAccess, WorkloadIdentity

MINIO_REPO = "https://charts.min.io/"
MINIO_CHART = "minio"
MINIO_VERSION = "5.4.0"  # the last community chart release
RELEASE = "minio"  # with fullnameOverride, the chart's Service is called this
API_PORT = 9000
ROOT_SECRET = "minio-root"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _default_namespaces() -> dict[str, str]:
    return {w.name: w.namespace for w in WORKLOADS.values()}


@dataclass(frozen=True)
class MinioArgs:
    volume_gb: int
    namespace: str = "minio"
    bucket: str = "ascent"
    workload_namespaces: dict[str, str] = field(default_factory=_default_namespaces)

    def __post_init__(self) -> None:
        names = self.workload_namespaces
        checks = {
            "volume_gb": (self.volume_gb >= 1, ">= 1"),
            "namespace": (bool(_DNS_LABEL.match(self.namespace)), "a DNS label"),
            "bucket": (bool(_BUCKET.match(self.bucket)), "an S3 bucket name"),
            "workload_namespaces": (
                set(names) <= set(WORKLOADS) and all(map(_DNS_LABEL.match, names.values())),
                "workloads from infra.contract.WORKLOADS mapped to DNS labels",
            ),
        }
        for name, (ok, allowed) in checks.items():
            if not ok:
                raise ValueError(f"MinioArgs.{name} must be {allowed}, got {getattr(self, name)!r}")


def uses_bucket(workload: WorkloadIdentity) -> bool:
    return bool(workload.bucket_read or workload.bucket_write)


def policy_statements(bucket: str, workload: WorkloadIdentity) -> list[dict[str, Any]]:
    """The chart's policy statements: list, read and write only under the workload's prefixes."""
    arn = f"arn:aws:s3:::{bucket}"
    prefixes = sorted(set(workload.bucket_read) | set(workload.bucket_write))
    if not prefixes:
        return []
    listed = ", ".join(f'"{p}*"' for p in prefixes)
    out: list[dict[str, Any]] = [
        {
            "effect": "Allow",
            "actions": ["s3:ListBucket"],
            "resources": [arn],
            "conditions": [{"StringLike": f'"s3:prefix": [{listed}]'}],
        }
    ]
    if workload.bucket_read:
        out.append(
            {
                "effect": "Allow",
                "actions": ["s3:GetObject", "s3:GetObjectVersion"],
                "resources": [f"{arn}/{p}*" for p in workload.bucket_read],
            }
        )
    if workload.bucket_write:
        out.append(
            {
                "effect": "Allow",
                "actions": ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "resources": [f"{arn}/{p}*" for p in workload.bucket_write],
            }
        )
    return out


def chart_values(args: MinioArgs, users: Sequence[str]) -> dict[str, Any]:
    """Values for the `minio` chart: standalone, persistent, our bucket, policies and users."""
    return {
        "fullnameOverride": RELEASE,
        "mode": "standalone",
        "replicas": 1,
        "existingSecret": ROOT_SECRET,
        "persistence": {"enabled": True, "size": f"{args.volume_gb}Gi"},
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}},
        "buckets": [{"name": args.bucket, "versioning": True, "policy": "none", "purge": False}],
        "policies": [
            {"name": f"ascent-{wl}", "statements": policy_statements(args.bucket, WORKLOADS[wl])}
            for wl in users
        ],
        "users": [
            {
                "accessKey": wl,
                "existingSecret": user_source_secret(wl),
                "existingSecretKey": user_source_key(wl),
                "policy": f"ascent-{wl}",
            }
            for wl in users
        ],
    }


def user_source_secret(workload: str) -> str:
    return f"minio-user-{workload}"


def user_source_key(workload: str) -> str:
    return f"{workload}-secret-key"  # distinct per user: the chart mounts them side by side


class Minio(pulumi.ComponentResource):
    """A standalone MinIO with one versioned bucket and one scoped user per workload."""

    endpoint_url: str
    bucket: str
    user_secrets: dict[str, str]  # workload -> Secret (AWS_* keys) in its namespace

    def __init__(
        self,
        name: str,
        args: MinioArgs,
        opts: pulumi.ResourceOptions | None = None,
        namespace_resources: Sequence[pulumi.Resource] = (),
    ) -> None:
        super().__init__("ascent:local:Minio", name, None, opts)
        ns = args.namespace
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": ns}, opts=pulumi.ResourceOptions(parent=self)
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        in_workload_ns = pulumi.ResourceOptions(parent=self, depends_on=list(namespace_resources))

        root = random.RandomPassword(f"{name}-root-password", length=32, special=False, opts=in_ns)
        chart_inputs: list[pulumi.Resource] = [
            k8s.core.v1.Secret(
                f"{name}-root",
                metadata={"name": ROOT_SECRET, "namespace": ns},
                string_data={"rootUser": "ascent-admin", "rootPassword": root.result},
                opts=in_ns,
            )
        ]
        users = [wl for wl in args.workload_namespaces if uses_bucket(WORKLOADS[wl])]
        self.user_secrets = {}
        for wl in users:
            password = random.RandomPassword(
                f"{name}-{wl}-password", length=32, special=False, opts=in_ns
            )
            chart_inputs.append(
                k8s.core.v1.Secret(
                    f"{name}-{wl}-source",
                    metadata={"name": user_source_secret(wl), "namespace": ns},
                    string_data={user_source_key(wl): password.result},
                    opts=in_ns,
                )
            )
            self.user_secrets[wl] = f"minio-{wl}"
            k8s.core.v1.Secret(
                f"{name}-{wl}-credentials",
                metadata={"name": self.user_secrets[wl], "namespace": args.workload_namespaces[wl]},
                string_data={"AWS_ACCESS_KEY_ID": wl, "AWS_SECRET_ACCESS_KEY": password.result},
                opts=in_workload_ns,
            )

        k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE,
            chart=MINIO_CHART,
            version=MINIO_VERSION,
            repository_opts={"repo": MINIO_REPO},
            namespace=ns,
            values=chart_values(args, users),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *chart_inputs]),
        )

        self.endpoint_url = f"http://{RELEASE}.{ns}.svc:{API_PORT}"
        self.bucket = args.bucket
        self.register_outputs(
            {
                "endpointUrl": self.endpoint_url,
                "bucket": self.bucket,
                "userSecrets": self.user_secrets,
            }
        )

    def access(self) -> ObjectStoreAccess:
        """What the Kubernetes layer needs to reach this store."""
        return ObjectStoreAccess(
            bucket=self.bucket,
            credentials="secret",
            endpoint_url=self.endpoint_url,
            secrets=dict(self.user_secrets),
        )
