"""The container engine: whatever `DOCKER_HOST` points to (Docker, or Podman's Docker API)."""

from __future__ import annotations

import os

import docker
import requests

from ci.shell import StepFailed

TIMEOUT_S = 1800  # between two chunks of a build or push stream


def connect(step: str) -> docker.DockerClient:
    where = os.environ.get("DOCKER_HOST", "the default socket /var/run/docker.sock")
    try:
        client = docker.from_env(timeout=TIMEOUT_S)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.ConnectionError) as exc:
        raise StepFailed(
            step,
            f"no container engine: set DOCKER_HOST or start Docker/Podman (tried {where}: {exc})",
        ) from exc
    return client
