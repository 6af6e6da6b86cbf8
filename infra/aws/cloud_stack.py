"""The kubernetes layer's view of its cloud stack: a StackReference to its outputs.

What crosses between the layers is only what the Kubernetes objects need: the kubeconfig (a
secret), the bucket, the MSK bootstrap brokers and the ECR repositories. IAM needs nothing more:
each workload's Pod Identity association (cloud layer) names its namespace and service account,
which the kubernetes layer creates under the same names (infra/names.py).

The reference is checked before anything reaches the cluster: the cloud stack must have been
deployed from the same cloud-owned config (`layerDigest`, infra/layers.py), or the pools' labels,
the Kubernetes version or the topics' brokers could disagree with what this layer declares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.config import StackConfig
from infra.contract import IMAGES
from infra.layers import layer_digest

READ = ("kubeconfig", "bucketName", "kafkaBootstrapBrokers", "repositoryUrls", "layerDigest")
"""The cloud stack outputs this layer reads (infra/aws/target.py `aws_outputs`)."""


class CloudStackMismatch(ValueError):
    """The cloud stack was deployed from other values than this checkout's stack file."""


def check_digest(cloud_stack: str, deployed: str | None, expected: str) -> None:
    if deployed is None:
        raise CloudStackMismatch(
            f"cloud stack {cloud_stack} has no layerDigest output: it is not deployed, or not as "
            f"a cloud layer; run `python -m ci deploy --stack {cloud_stack}` first"
        )
    if deployed != expected:
        raise CloudStackMismatch(
            f"cloud stack {cloud_stack} was deployed from other cloud-layer config than this "
            f"checkout's Pulumi.{cloud_stack.rsplit('/', 1)[-1]}.yaml (layerDigest "
            f"{deployed[:12]} != {expected[:12]}): deploy the cloud stack first"
        )


@dataclass
class CloudStack:
    """The outputs the kubernetes layer uses, and a Kubernetes provider for the cluster."""

    provider: k8s.Provider
    bucket_name: pulumi.Output[str]
    bootstrap_brokers: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]


def _pick(name: str) -> Callable[[Any], str]:
    return lambda urls: str(urls[name])


def read_cloud_stack(config: StackConfig) -> CloudStack:
    ref = pulumi.StackReference("cloud", stack_name=config.cloud_stack)
    expected = layer_digest(config.model_dump(by_alias=True))

    def checked(values: list[Any]) -> str:
        check_digest(config.cloud_stack, str(values[1]) if values[1] else None, expected)
        if not values[0]:
            raise CloudStackMismatch(f"cloud stack {config.cloud_stack} exports no kubeconfig")
        return str(values[0])

    kubeconfig: pulumi.Output[str] = pulumi.Output.all(
        ref.get_output("kubeconfig"), ref.get_output("layerDigest")
    ).apply(checked)
    provider = k8s.Provider(
        "cluster-k8s",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,  # secret upstream
    )
    urls = ref.require_output("repositoryUrls")
    return CloudStack(
        provider=provider,
        bucket_name=ref.require_output("bucketName").apply(str),
        bootstrap_brokers=ref.require_output("kafkaBootstrapBrokers").apply(str),
        repository_urls={name: urls.apply(_pick(name)) for name in IMAGES},
    )
