"""Connection limits against a real server, with raw sockets: oversized headers, slow clients,
more connections than the limit, and hot reload while the server is at its limit."""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from workloads.inference.settings import parse_server

from .conftest import MODEL, features, publish, tensor_body

INFER = f"/v2/models/{MODEL}/infer"
LIVE = b"GET /v2/health/live HTTP/1.1\r\nHost: test\r\n\r\n"


def connect(server, timeout: float = 10) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    return sock


def read_all(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes (or `timeout` passes)."""
    sock.settimeout(timeout)
    chunks, deadline = [], time.monotonic() + timeout
    with contextlib.suppress(ConnectionResetError, TimeoutError, socket.timeout):
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int | None:
    if not answer.startswith(b"HTTP/1."):
        return None
    return int(answer.split(b" ", 2)[1])


def is_closed(sock: socket.socket, timeout: float) -> bool:
    """True once the server closed `sock` (EOF or reset) within `timeout`."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_an_oversized_header_is_refused(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(file_store, "--max-header-bytes", "8192", "--grpc-port", "0")
    for size in (9000, 4 << 20):  # just over the limit, and a flood
        with connect(server) as sock:
            head = b"GET /v2/health/live HTTP/1.1\r\nHost: test\r\nX-Big: "
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(head)
                for _ in range(0, size, 65536):
                    sock.sendall(b"a" * min(65536, size))
                sock.sendall(b"\r\n\r\n")
            answer = read_all(sock)
        assert status_of(answer) in (431, None), answer[:200]
    # one header under the limit still works
    ok = server.client.get("/v2/health/live", headers={"x-small": "a" * 4000})
    assert ok.status_code == 200


def test_a_slow_header_is_cut_while_others_are_served(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(
        file_store, "--header-timeout-s", "1", "--body-timeout-s", "1", "--grpc-port", "0"
    )
    half = connect(server)
    half.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: te")
    trickle = connect(server)
    idle = connect(server)  # sends nothing at all
    body = connect(server)
    body.sendall(
        f"POST {INFER} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n{".encode()
    )
    x = tensor_body(features(3, seed=2))
    deadline, served = time.monotonic() + 20, 0
    trickle.settimeout(0.05)
    cut = set()
    while len(cut) < 4:
        assert time.monotonic() < deadline, f"not cut after 20s: {4 - len(cut)} left"
        assert server.client.post(INFER, json=x).status_code == 200
        served += 1
        with contextlib.suppress(OSError):
            trickle.sendall(b"X")  # one byte at a time: the deadline is for the whole header
        for name, sock in (("half", half), ("trickle", trickle), ("idle", idle), ("body", body)):
            if name not in cut and is_closed(sock, 0.05):
                cut.add(name)
    assert served > 0
    for sock in (half, trickle, idle, body):
        sock.close()
    assert server.client.get("/v2/health/live").status_code == 200


def test_a_slow_header_hears_408(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(file_store, "--header-timeout-s", "1", "--grpc-port", "0")
    with connect(server) as sock:
        sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: te")
        answer = read_all(sock, timeout=15)
    assert status_of(answer) == 408
    assert b"within" in answer


def _hold(server, n: int) -> list[socket.socket]:
    held = []
    for _ in range(n):
        sock = connect(server)
        sock.sendall(b"GET /v2/health/live HTTP/1.1\r\n")  # a slow client: half a request
        held.append(sock)
    return held


def test_connections_past_the_limit_get_503_until_some_go(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(
        file_store,
        "--max-connections",
        "20",
        "--header-timeout-s",
        "60",
        "--grpc-port",
        "0",
    )
    server.client.close()  # its kept-alive connection would count
    held = _hold(server, 20)
    try:
        time.sleep(0.3)
        extra = [connect(server) for _ in range(20)]
        for sock in extra:  # answered without sending anything, and closed
            answer = read_all(sock)
            assert status_of(answer) == 503, answer[:200]
            assert b"connections" in answer
            sock.close()
        with httpx.Client(base_url=server.url, timeout=10) as c:
            assert c.get("/v2/health/live").status_code == 503
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 20
    with httpx.Client(base_url=server.url, timeout=10) as c:
        while c.get("/v2/health/live").status_code != 200:
            assert time.monotonic() < deadline, "still refused once the connections went"
            time.sleep(0.1)
        assert c.post(INFER, json=tensor_body(features(2, seed=1))).status_code == 200


def _low_nofile(limit: int):
    def apply() -> None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))

    return apply


def test_hot_reload_works_with_more_connections_than_descriptors(
    file_store, server_for, monkeypatch
):
    """With 256 descriptors, twice that many connections: past the (automatic) limit they get
    503, the server keeps its reserve, and a new version still loads and serves."""
    nofile, reserve = 256, 96
    publish(file_store, "v1", seed=1)
    popen = subprocess.Popen

    def low(*args, **kwargs):
        kwargs["preexec_fn"] = _low_nofile(nofile)
        return popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", low)
    server = server_for(
        file_store, "--fd-reserve", str(reserve), "--header-timeout-s", "60", "--grpc-port", "0"
    )
    monkeypatch.setattr(subprocess, "Popen", popen)
    limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
    assert any(
        line.startswith("Max open files") and line.split()[3] == str(nofile)
        for line in limits.splitlines()
    )
    limit = nofile - reserve
    probe = httpx.Client(base_url=server.url, timeout=10)  # one kept-alive connection
    x = tensor_body(features(2, seed=4))
    assert probe.post(INFER, json=x).json()["model_version"] == "v1"
    held, refused = _hold(server, limit - 1), 0
    try:
        for _ in range(2 * nofile - limit):
            with connect(server) as sock:
                refused += status_of(read_all(sock)) == 503
        assert refused == 2 * nofile - limit
        publish(file_store, "v2", seed=2)
        deadline = time.monotonic() + 30
        while True:
            r = probe.post(INFER, json=x)
            assert r.status_code == 200
            if r.json()["model_version"] == "v2":
                break
            assert time.monotonic() < deadline, "v2 was not loaded while connections were held"
            time.sleep(0.1)
    finally:
        for sock in held:
            sock.close()
        probe.close()
    assert server.proc.poll() is None


@pytest.mark.parametrize("wanted", ["100000", "1000000000"])
def test_a_limit_beyond_the_open_files_limit_is_refused(wanted):
    with pytest.raises(SystemExit, match="max_connections"):
        parse_server(["--max-connections", wanted, "--fd-reserve", "128"])


def test_the_default_limit_leaves_the_reserve():
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    one = parse_server(["--grpc-port", "0", "--fd-reserve", "64"])
    two = parse_server(["--fd-reserve", "64"])
    assert one.connection_limit() == min(soft, 1 << 20) - 64
    assert two.connection_limit() == (min(soft, 1 << 20) - 64) // 2


def test_grpc_and_http_need_their_own_ports():
    with pytest.raises(SystemExit, match="grpc_port"):
        parse_server(["--port", "8081"])
    assert parse_server(["--port", "8081", "--grpc-port", "0"]).listeners() == 1
