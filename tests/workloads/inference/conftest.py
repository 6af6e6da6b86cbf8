"""Inference fixtures: models published the way the trainer publishes them, and a real server
(`python -m workloads.inference`) on 127.0.0.1 in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch

from workloads.common import schema
from workloads.common.model import Arch, FraudModel, to_bytes
from workloads.common.objectstore import ObjectStore
from workloads.common.registry import ModelRegistry

MODEL = "fraud-detector"


def publish(store_url: str, version: str, seed: int, promote: bool = True) -> FraudModel:
    """A random-weight model published as version `version` (what the trainer writes)."""
    torch.manual_seed(seed)
    model = FraudModel(Arch(schema.FEATURE_DIM, 32, 2)).eval()
    registry = ModelRegistry(ObjectStore.from_url(store_url), MODEL)
    manifest = {"input_schema": schema.input_schema(), "metrics": {"roc_auc": 0.95}}
    registry.publish(version, {"model.pt": to_bytes(model)}, manifest, promote=promote)
    return model


def publish_corrupt(store_url: str, version: str) -> None:
    registry = ModelRegistry(ObjectStore.from_url(store_url), MODEL)
    manifest = {"input_schema": schema.input_schema()}
    registry.publish(version, {"model.pt": b"not a model"}, manifest, promote=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """A running server process; `client` talks to it."""

    def __init__(self, store_url: str, *flags: str, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "workloads.inference", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--reload-interval-s", "0.2"]
        self.grpc_port = 0
        if "--grpc-port" not in flags:  # never the fixed default: servers run side by side
            self.grpc_port = _free_port()
            cmd += ["--grpc-port", str(self.grpc_port)]
        cmd += flags
        self.proc = subprocess.Popen(
            cmd,
            env={
                **os.environ,
                "OBJECT_STORE_URL": store_url,
                "OMP_NUM_THREADS": "1",
                **(env or {}),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()}")
            try:
                self.client.get("/v2/health/live")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise TimeoutError("server did not listen") from None
                time.sleep(0.1)

    def wait_ready(self, timeout: float = 30) -> None:
        self.wait_listening(timeout)
        deadline = time.monotonic() + timeout
        while self.client.get("/v2/health/ready").status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError("server did not become ready")
            time.sleep(0.1)

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample on /metrics (0 when absent)."""
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in self.client.get("/metrics").text.splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            metric, _, rest = key.partition("{")
            found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
            if metric == name and found == want:
                return float(value)
        return 0.0

    def output(self) -> str:
        if self.proc.poll() is None:
            return ""
        return self.proc.stdout.read() if self.proc.stdout else ""

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def file_store(tmp_path: Path) -> str:
    return f"file://{tmp_path / 'store'}"


@pytest.fixture
def server_for() -> Iterator[Any]:
    """`server_for(store_url, *flags)` starts a server; all are stopped after the test."""
    started: list[Server] = []

    def start(store_url: str, *flags: str, ready: bool = True, **kw: Any) -> Server:
        server = Server(store_url, *flags, **kw)
        started.append(server)
        server.wait_ready() if ready else server.wait_listening()
        return server

    yield start
    for server in started:
        server.stop()


def features(n: int, seed: int) -> torch.Tensor:
    return schema.features_from_records(schema.generate(n, seed=seed))


def tensor_body(x: torch.Tensor, request_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "inputs": [
            {
                "name": "features",
                "datatype": "FP32",
                "shape": list(x.shape),
                "data": x.flatten().tolist(),
            }
        ]
    }
    if request_id is not None:
        body["id"] = request_id
    return body
