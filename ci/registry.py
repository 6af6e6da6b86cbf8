"""Where images go: a registry given outright, or the one a stack's config implies.

AWS stacks push to the ECR repositories the stack creates (`ascent-<stack>/<image>` in the
stack's region, see infra/aws/registry.py); logging in uses the environment's AWS credentials
(OIDC in CI). Other registries use the engine's own credentials, if any.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from ci.shell import ROOT, StepFailed

ECR = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(/|$)")
PROJECT = "ascent"


def ecr_registry(account: str, region: str, stack: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{PROJECT}-{stack}"


def _aws_session(step: str, region: str | None) -> Any:
    import boto3

    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        raise StepFailed(
            step,
            "no AWS credentials for ECR login (set them in the environment: OIDC role in CI, "
            "AWS_PROFILE or SSO on a laptop)",
        )
    return session


def for_stack(step: str, stack: str) -> str:
    """The registry a stack deploys from: its ECR on AWS, `imageRegistry` otherwise."""
    from infra.offline import StackNotFound, stack_config

    try:
        config = stack_config(stack, root=ROOT)
    except StackNotFound as exc:
        raise StepFailed(step, str(exc)) from exc
    if config.get(f"{PROJECT}:target") != "aws":
        return config[f"{PROJECT}:imageRegistry"]
    region = config.get(f"{PROJECT}:region", "")
    if not region:
        raise StepFailed(step, f"stack {stack} has no ascent:region")
    account = _aws_session(step, region).client("sts").get_caller_identity()["Account"]
    return ecr_registry(account, region, stack)


def login(step: str, registry: str) -> dict[str, str] | None:
    """Docker API credentials for an ECR registry; None for any other (the engine's own)."""
    match = ECR.match(registry)
    if match is None:
        return None
    session = _aws_session(step, match["region"])
    data = session.client("ecr").get_authorization_token(registryIds=[match["account"]])
    token = data["authorizationData"][0]
    user, _, password = base64.b64decode(token["authorizationToken"]).decode().partition(":")
    return {"username": user, "password": password, "serveraddress": token["proxyEndpoint"]}
