"""Workload fixtures: an S3 API (moto server on 127.0.0.1) and stores over file:// and s3://."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.moto_server import moto_server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server for the session; yields its endpoint URL, stopped by PID at the end."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, s3_server: str, tmp_path: Path) -> str:
    """Test credentials and endpoint in the environment, and a fresh bucket: its s3:// URL."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    return f"s3://{bucket}"


@pytest.fixture(params=["file", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store root: a temp directory, or a prefix in a fresh moto bucket."""
    if request.param == "file":
        return f"file://{tmp_path / 'store'}"
    bucket_url: str = request.getfixturevalue("s3_env")
    return f"{bucket_url}/pfx"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka-protocol broker (Tansu) on 127.0.0.1 for the session."""
    from workloads.common.embedded import embedded_broker

    with embedded_broker() as bootstrap:
        yield bootstrap


@pytest.fixture
def unique() -> str:
    """A fresh suffix for topics, groups and run ids, so tests share a broker safely."""
    return uuid.uuid4().hex[:8]
