"""A real container engine and registry on 127.0.0.1: `podman system service` (the Docker API)
and Debian's `docker-registry`, with all of podman's storage and config in a temp dir.

No image can be pulled here: the base image is a busybox-static rootfs, `podman import`ed.
Every process started here is stopped by its PID at teardown.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "localhost/ascent-test/busybox:1"
TOOLS = ("podman", "docker-registry", "busybox")
INSTALL = "apt-get install -y podman buildah skopeo docker-registry runc busybox-static"


@dataclass(frozen=True)
class Engine:
    docker_host: str
    registry: str  # 127.0.0.1:PORT
    env: dict[str, str]  # podman's config, for the engine and for `python -m ci`

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.docker_host, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, ready, proc: subprocess.Popen, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode} before it was ready")
        try:
            if ready():
                return
        except (requests.RequestException, docker.errors.DockerException):
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} not ready after {timeout_s} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def write_configs(base: Path, registry: str) -> dict[str, str]:
    (base / "tmp").mkdir()
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    (base / "containers.conf").write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=32768:32768"]\n'
        '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        f'tmp_dir = "{base / "tmp"}"\n'
    )
    # vfs: no mounts left behind under the temp dir
    (base / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{base / "root"}"\nrunroot = "{base / "run"}"\n'
    )
    (base / "registries.conf").write_text(
        f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n'
    )
    (base / "registry.yml").write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {base / 'registry'}\n"
        f"http:\n  addr: {registry}\n"
    )
    return {
        "CONTAINERS_CONF": str(base / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(base / "storage.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(base / "registries.conf"),
    }


def import_base_image(base: Path, env: dict[str, str]) -> None:
    rootfs = base / "rootfs" / "bin"
    rootfs.mkdir(parents=True)
    shutil.copy2(shutil.which("busybox") or "", rootfs / "busybox")
    for applet in ("sh", "echo", "cat", "id"):
        (rootfs / applet).symlink_to("busybox")
    tar = base / "base.tar"
    subprocess.run(["tar", "-C", str(base / "rootfs"), "-cf", str(tar), "."], check=True)
    subprocess.run(
        ["podman", "import", str(tar), BASE_IMAGE],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: `{INSTALL}`")
    base = tmp_path_factory.mktemp("engine")
    registry = f"127.0.0.1:{free_port()}"
    env = write_configs(base, registry)
    procs: list[subprocess.Popen] = []
    try:
        reg = subprocess.Popen(
            ["docker-registry", "serve", str(base / "registry.yml")],
            stdout=(base / "registry.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append(reg)
        wait_for(
            "docker-registry", lambda: requests.get(f"http://{registry}/v2/", timeout=1).ok, reg
        )
        sock = base / "podman.sock"
        svc = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{sock}"],
            env={**os.environ, **env},
            stdout=(base / "podman.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append(svc)
        host = f"unix://{sock}"
        wait_for("podman system service", lambda: docker.DockerClient(base_url=host).ping(), svc)
        import_base_image(base, env)
        yield Engine(host, registry, env)
    finally:
        for proc in reversed(procs):
            stop(proc)


def run_ci(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m ci ARGS` as CI runs it, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "ci", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
