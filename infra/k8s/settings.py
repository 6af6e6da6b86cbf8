"""A workload's settings, derived from the platform contract alone (12-factor environment).

This is the one place where a target's differences become environment variables: IAM on AWS,
SCRAM and S3 keys from Secrets locally. Workloads read the same names on either target.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.contract import PlatformContract

KAFKA_CA_DIR = "/var/run/ascent/kafka-ca"
"""Where a workload's pod mounts the `ca_secrets` Secret of its namespace (local target)."""


def _value(name: str, value: pulumi.Input[str]) -> dict[str, Any]:
    return {"name": name, "value": value}


def _secret(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def workload_env(contract: PlatformContract, workload: str) -> list[dict[str, Any]]:
    """Environment variables (Kubernetes EnvVar dicts) for one workload of `contract`."""
    identity = contract.service_accounts[workload]
    kafka, store = contract.kafka, contract.object_store
    env = [
        _value("ASCENT_TARGET", contract.target),
        _value("OBJECT_STORE_URL", store.url("")),
        _value("AWS_REGION", store.region),
    ]
    if store.endpoint_url is not None:
        env.append(_value("AWS_ENDPOINT_URL_S3", store.endpoint_url))
    if store.credentials == "secret":
        secret = store.secrets[workload]
        env += [_secret("AWS_ACCESS_KEY_ID", secret, "AWS_ACCESS_KEY_ID"),
                _secret("AWS_SECRET_ACCESS_KEY", secret, "AWS_SECRET_ACCESS_KEY")]  # fmt: skip
    if identity.topics_read or identity.topics_write:
        env += [
            _value("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers),
            _value("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            _value("KAFKA_AUTH", kafka.auth),
        ]
        if identity.group:
            env.append(_value("KAFKA_GROUP_ID", identity.group))
        if kafka.auth == "scram-sha-512":
            secret = kafka.secrets[workload]
            env += [
                _secret("KAFKA_USERNAME", secret, "username"),
                _secret("KAFKA_PASSWORD", secret, "password"),
                _value("KAFKA_SSL_CA_LOCATION", f"{KAFKA_CA_DIR}/ca.crt"),
            ]
    return env
