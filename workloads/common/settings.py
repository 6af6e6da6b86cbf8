"""Connection settings from the environment (12-factor), validated with clear errors.

The names are the ones the platform sets on every pod (infra/k8s/settings.py): KAFKA_* for the
event bus, OBJECT_STORE_URL and AWS_* for object storage. Unset, they default to the embedded
setup: a PLAINTEXT broker on 127.0.0.1 and a local directory.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workloads.common.logs import kafka_logger


class KafkaSettings(BaseSettings):
    """How to reach Kafka: no auth (embedded/dev), SCRAM over TLS (local target), IAM (MSK)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    auth: Literal["none", "scram-sha-512", "aws-iam"] = "none"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"] = "PLAINTEXT"
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    ssl_ca_location: str | None = None
    region: str | None = Field(default=None, validation_alias="AWS_REGION")

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        if self.auth == "scram-sha-512" and not (self.username and self.password):
            raise ValueError("KAFKA_AUTH=scram-sha-512 needs KAFKA_USERNAME and KAFKA_PASSWORD")
        if self.auth == "aws-iam" and not self.region:
            raise ValueError("KAFKA_AUTH=aws-iam needs AWS_REGION")
        if self.auth != "none" and self.security_protocol == "PLAINTEXT":
            raise ValueError(f"KAFKA_AUTH={self.auth} needs KAFKA_SECURITY_PROTOCOL=SASL_SSL")
        return self

    def client_config(self) -> dict[str, Any]:
        """librdkafka settings for confluent-kafka clients."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "logger": kafka_logger(),  # through our log format, repeats held back
            "log_level": 4,  # syslog warning: librdkafka's own lines at warning and above
        }
        if self.ssl_ca_location:
            conf["ssl.ca.location"] = self.ssl_ca_location
        if self.auth == "scram-sha-512":
            conf |= {
                "sasl.mechanisms": "SCRAM-SHA-512",
                "sasl.username": self.username,
                "sasl.password": self.password,
            }
        elif self.auth == "aws-iam":
            conf |= {"sasl.mechanisms": "OAUTHBEARER", "oauth_cb": _msk_iam_token(self.region)}
        return conf


def _msk_iam_token(region: str | None) -> Any:
    """An OAUTHBEARER callback signing MSK IAM tokens with the pod's credentials."""

    def token(_config: str) -> tuple[str, float]:
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        value, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return value, expiry_ms / 1000

    return token


class StoreSettings(BaseSettings):
    """Where artifacts live: `file://DIR` (default) or `s3://BUCKET/PREFIX` (AWS or MinIO)."""

    model_config = SettingsConfigDict(extra="ignore")

    object_store_url: str = Field(default="file://./artifacts", validation_alias="OBJECT_STORE_URL")
    endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL_S3")

    @model_validator(mode="after")
    def _scheme(self) -> StoreSettings:
        if not self.object_store_url.startswith(("file://", "s3://")):
            raise ValueError(
                f"OBJECT_STORE_URL={self.object_store_url!r}: use file://DIR or s3://BUCKET/PREFIX"
            )
        return self
