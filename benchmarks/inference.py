"""Requests/s, p50/p99 latency and server CPU per request of the inference server under 64
concurrent keep-alive connections on 127.0.0.1, against the servers a user would pick instead.
All servers are up in the same session and loaded in turn, `--repeats` times (the median run
by requests/s counts), so noise from shared cores falls on each alike:

- ours:      our server, dynamic batching (`--mode batched`);
- fastapi:   the plain FastAPI server a user would write (`baselines/fastapi_naive.py`): one
             forward pass per request on the event loop, no executor, no batching;
- kserve:    KServe's `ModelServer` with a `kserve.Model` subclass (`baselines/kserve_model.py`)
             from its own venv (`--kserve-python`; KServe 0.21 needs protobuf 6, we pin 5);
             skipped when that venv is missing;
- ceiling:   our own HTTP stack with the model call skipped (`--mode skip-model`);
- `--rows` (64) rows per request to ours, over HTTP/JSON and over gRPC (raw FP32 contents);
- compute:   the raw forward pass at the max batch size, in rows/s (no HTTP).

Every server runs under uvicorn with uvloop and httptools, one worker, torch on one thread.
The load comes from separate processes (`--processes`) of asyncio keep-alive connections (a
gRPC channel, so a TCP connection, per connection unless `--grpc-channels`); server CPU is
utime + stime of the server process (all its threads), from /proc. With `--pin` (the default
on 2 or more CPUs) every server runs on CPU 0 and the load on the others, so a heavier client
(grpc.aio costs ~0.3 ms of CPU a call, our raw HTTP client a tenth of that) never takes the
server's CPU: req/s is then the server's own capacity on one core, for every server alike.
Targets (reference model): ours >= 2x fastapi's requests/s at a p99 no worse, ours >= 0.9x
the ceiling's requests/s, and gRPC >= 1.5x HTTP/JSON's requests/s at 64 rows per request.
Run: `.venv/bin/python benchmarks/inference.py [--only reference]` (about 2 minutes a model).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import torch

from workloads.common import schema
from workloads.common.model import Arch, FraudModel, to_bytes
from workloads.common.objectstore import ObjectStore
from workloads.common.registry import ModelRegistry

MODEL = "fraud-detector"
PATH = f"/v2/models/{MODEL}/infer"
ROOT = Path(__file__).resolve().parent.parent
KSERVE_PYTHON = "/tmp/kserve-venv/bin/python"
PINNED: dict[str, set[int]] = {"server": set(), "load": set()}  # CPUs; empty: not pinned


def pin(enabled: bool) -> None:
    """Servers on the first CPU this process may use, the load generators on the rest."""
    cpus = sorted(os.sched_getaffinity(0))
    if enabled and len(cpus) >= 2:
        PINNED.update(server={cpus[0]}, load=set(cpus[1:]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _features(rows: int, seed: int) -> np.ndarray:
    return schema.features_from_records(schema.generate(rows, seed=seed)).numpy()


def _http_request(rows: int, seed: int) -> bytes:
    x = _features(rows, seed)
    tensor = {"name": "features", "datatype": "FP32", "shape": [rows, schema.FEATURE_DIM]}
    body = orjson.dumps({"inputs": [{**tensor, "data": x.flatten().tolist()}]})
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# --- load generator: processes of asyncio keep-alive connections -------------------------------
async def _http_connection(port: int, request: bytes, until: float, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            errors += not head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
    return errors


def _grpc_request(rows: int, seed: int) -> Any:
    from workloads.inference.proto import grpc_predict_v2_pb2 as pb

    tensor = pb.ModelInferRequest.InferInputTensor(
        name="features", datatype="FP32", shape=[rows, schema.FEATURE_DIM]
    )
    return pb.ModelInferRequest(
        model_name=MODEL,
        inputs=[tensor],
        raw_input_contents=[_features(rows, seed).astype("<f4").tobytes()],
    )


async def _grpc_connection(infer: Any, request: Any, until: float, latencies: list[float]) -> int:
    import grpc

    errors = 0
    while time.perf_counter() < until:
        start = time.perf_counter()
        try:
            await infer(request)
        except grpc.aio.AioRpcError:
            errors += 1
        latencies.append(time.perf_counter() - start)
    return errors


def _client(
    kind: str,
    port: int,
    rows: int,
    connections: int,
    args: tuple[float, int, int],
    out: mp.Queue,
) -> None:
    seconds, seed, channels = args
    latencies: list[float] = []
    if PINNED["load"]:
        os.sched_setaffinity(0, PINNED["load"])

    async def run() -> int:
        until = time.perf_counter() + seconds
        if kind == "http":
            request = _http_request(rows, seed)
            calls = [_http_connection(port, request, until, latencies) for _ in range(connections)]
            return sum(await asyncio.gather(*calls))
        import grpc

        from workloads.inference.proto import grpc_predict_v2_pb2_grpc as pb_grpc

        # each channel a subchannel pool of its own, so a TCP connection of its own
        options = [("grpc.use_local_subchannel_pool", 1)]
        opened = [
            grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options)
            for _ in range(min(channels, connections) or connections)
        ]
        stubs = [pb_grpc.GRPCInferenceServiceStub(c).ModelInfer for c in opened]
        message = _grpc_request(rows, seed)
        try:
            calls = [
                _grpc_connection(stubs[i % len(stubs)], message, until, latencies)
                for i in range(connections)
            ]
            return sum(await asyncio.gather(*calls))
        finally:
            for c in opened:
                await c.close()

    errors = asyncio.run(run())
    out.put((latencies, errors))


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    errors: int


def _cpu_seconds(pid: int) -> float:
    """utime + stime of the server process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(
    kind: str, port: int, pid: int, rows: int, seconds: float, args: argparse.Namespace
) -> Result:
    out: mp.Queue = mp.Queue()
    per = args.connections // args.processes
    workers = [
        mp.Process(
            target=_client,
            args=(kind, port, rows, per, (seconds, i, args.grpc_channels), out),
        )
        for i in range(args.processes)
    ]
    for w in workers:
        w.start()
    cpu0, start = _cpu_seconds(pid), time.perf_counter()
    results = [out.get(timeout=seconds + 60) for _ in workers]
    elapsed, cpu = time.perf_counter() - start, _cpu_seconds(pid) - cpu0
    for w in workers:
        w.join()
    latencies = np.array([x for lat, _ in results for x in lat])
    n = len(latencies)
    return Result(
        rps=n / seconds,
        p50_ms=float(np.percentile(latencies, 50) * 1e3),
        p99_ms=float(np.percentile(latencies, 99) * 1e3),
        # the CPU window also spans the clients' start-up and reporting: scale it to the load
        cpu_ms_per_request=cpu / max(n, 1) * 1e3 * (seconds / elapsed),
        errors=sum(e for _, e in results),
    )


# --- the servers under test ------------------------------------------------------------------
@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    grpc_port: int = 0


def _ready(name: str, proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"server {name} did not become ready")
        time.sleep(0.2)


def start_server(name: str, store_url: str, args: argparse.Namespace) -> Server:
    port, grpc_port = _free_port(), 0
    env = {**os.environ, "OBJECT_STORE_URL": store_url, "OMP_NUM_THREADS": "1"}
    if name in ("ours", "ceiling"):
        grpc_port = _free_port() if name == "ours" else 0
        cmd = [sys.executable, "-m", "workloads.inference", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--grpc-port", str(grpc_port), "--log-level", "WARNING"]
        cmd += ["--mode", "batched" if name == "ours" else "skip-model", "--threads", "1"]
        cmd += ["--max-batch-size", str(args.max_batch_size)]
        cmd += ["--max-queue-delay-ms", str(args.max_queue_delay_ms)]
        cmd += ["--inline-below-ms", str(args.inline_below_ms)]
    elif name == "fastapi":
        cmd = [sys.executable, "-m", "benchmarks.baselines.fastapi_naive", "--port", str(port)]
    else:  # kserve, from its own venv; it reads the model file, our code only for FraudModel
        env["PYTHONPATH"] = str(ROOT)
        model_file = Path(store_url.removeprefix("file://"), "models", MODEL, "bench", "model.pt")
        cmd = [args.kserve_python, str(ROOT / "benchmarks" / "baselines" / "kserve_model.py")]
        cmd += ["--http_port", str(port), "--model-file", str(model_file)]
    cpus = PINNED["server"]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    _ready(name, proc, port)
    return Server(proc, port, grpc_port)


@dataclass(frozen=True)
class LoadPath:
    key: str
    label: str
    server: str
    transport: str  # http (JSON) or grpc (raw FP32 contents)
    rows: int  # per request


def load_paths(rows: int) -> list[LoadPath]:
    return [
        LoadPath("ours", "ours (dynamic batching)", "ours", "http", 1),
        LoadPath("fastapi", "fastapi naive (forward on loop)", "fastapi", "http", 1),
        LoadPath("kserve", "kserve ModelServer", "kserve", "http", 1),
        LoadPath("ceiling", "ceiling (ours, model skipped)", "ceiling", "http", 1),
        LoadPath("http-wide", f"ours HTTP/JSON, {rows} rows/req", "ours", "http", rows),
        LoadPath("grpc-wide", f"ours gRPC raw, {rows} rows/req", "ours", "grpc", rows),
    ]


def mean_batch(port: int) -> float:
    samples = dict(
        line.rsplit(" ", 1)
        for line in httpx.get(f"http://127.0.0.1:{port}/metrics").text.splitlines()
        if line.startswith("ascent_inference_batch_size_")
    )
    count = float(samples.get("ascent_inference_batch_size_count", 0))
    return float(samples.get("ascent_inference_batch_size_sum", 0)) / count if count else 0.0


def serve_and_load(store_url: str, args: argparse.Namespace) -> dict[LoadPath, Result]:
    """All servers up at once (idle ones cost nothing), the paths loaded in turn `repeats`
    times so that noise from shared cores falls on each alike; the median run by req/s counts."""
    names = ["ours", "fastapi", "ceiling"]
    if args.kserve_python and Path(args.kserve_python).exists():
        names.append("kserve")
    else:
        print(f"kserve: skipped, no {args.kserve_python} (see baselines/kserve_model.py)")
    paths = [p for p in load_paths(args.rows) if p.server in names]
    servers: dict[str, Server] = {}
    runs: dict[LoadPath, list[Result]] = {p: [] for p in paths}
    try:
        for name in names:
            servers[name] = start_server(name, store_url, args)
        for repeat in range(-1, args.repeats):  # the first round warms up, for 1 s
            for path in paths:
                s = servers[path.server]
                port = s.grpc_port if path.transport == "grpc" else s.port
                seconds = args.seconds if repeat >= 0 else 1.0
                result = load(path.transport, port, s.proc.pid, path.rows, seconds, args)
                if repeat >= 0:
                    runs[path].append(result)
        batch = mean_batch(servers["ours"].port)
    finally:
        for s in servers.values():
            s.proc.terminate()
            s.proc.wait(timeout=30)
    print(f"mean rows per forward pass (ours, all its paths): {batch:.1f}")
    return {p: sorted(r, key=lambda x: x.rps)[len(r) // 2] for p, r in runs.items()}


def compute_limit(model: FraudModel, batch: int, seconds: float = 2.0) -> float:
    torch.set_num_threads(1)
    x = schema.features_from_records(schema.generate(batch, seed=1))
    rows, until = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    with torch.inference_mode():
        while time.perf_counter() < until:
            torch.sigmoid(model(x))
            rows += batch
    return rows / (time.perf_counter() - start)


def bench_model(label: str, arch: Arch, args: argparse.Namespace) -> dict[LoadPath, Result]:
    torch.manual_seed(0)
    model = FraudModel(arch).eval()
    with tempfile.TemporaryDirectory() as tmp:
        store_url = f"file://{tmp}"
        ModelRegistry(ObjectStore.from_url(store_url), MODEL).publish(
            "bench", {"model.pt": to_bytes(model)}, {"input_schema": schema.input_schema()}, True
        )
        results = serve_and_load(store_url, args)
    _report(label, arch, results, compute_limit(model, args.max_batch_size), args.rows)
    return results


def _ratio(x: Result, base: Result | None) -> str:
    return f"{x.rps / base.rps:.2f}x" if base else "-"


def _report(
    label: str, arch: Arch, results: dict[LoadPath, Result], compute: float, rows: int
) -> None:
    print(f"\n{label}: width {arch.width}, depth {arch.depth}")
    r = {p.key: x for p, x in results.items()}
    naive, ceiling = r["fastapi"], r["ceiling"]
    print(
        f"{'path':<32} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10} "
        f"{'vs naive':>8} {'vs ceil':>8} {'errors':>6}"
    )
    for path, x in results.items():
        one_row = path.rows == 1  # the ratios compare like loads only
        print(
            f"{path.label:<32} {x.rps:>8,.0f} {x.p50_ms:>7.2f} {x.p99_ms:>7.2f} "
            f"{x.cpu_ms_per_request:>10.3f} {_ratio(x, naive if one_row else None):>8} "
            f"{_ratio(x, ceiling if one_row else None):>8} {x.errors:>6}"
        )
    print(f"{'compute limit (rows/s, no HTTP)':<32} {compute:>8,.0f}")
    ours, http, grpc = r["ours"], r["http-wide"], r["grpc-wide"]
    targets = [
        (
            f"ours >= 2x fastapi naive req/s at <= its p99: {ours.rps / naive.rps:.2f}x, "
            f"p99 {ours.p99_ms:.2f} vs {naive.p99_ms:.2f} ms",
            ours.rps >= 2 * naive.rps and ours.p99_ms <= naive.p99_ms,
        ),
        (
            f"ours >= 0.9x ceiling req/s: {ours.rps / ceiling.rps:.2f}x",
            ours.rps >= 0.9 * ceiling.rps,
        ),
        (
            f"gRPC >= 1.5x HTTP/JSON req/s at {rows} rows: {grpc.rps / http.rps:.2f}x "
            f"(server CPU {grpc.cpu_ms_per_request:.3f} vs {http.cpu_ms_per_request:.3f} ms/req)",
            grpc.rps >= 1.5 * http.rps,
        ),
    ]
    if label.startswith("reference"):
        for text, ok in targets:
            print(f"[{'PASS' if ok else 'FAIL'}] {text}")
    else:  # compute-bound: the targets are the reference model's; the ratios say the rest
        print(f"(targets are for the reference model) {'; '.join(t for t, _ in targets)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per path; the median counts")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--rows", type=int, default=64, help="rows per request, HTTP vs gRPC")
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--max-queue-delay-ms", type=float, default=2.0)
    parser.add_argument("--inline-below-ms", type=float, default=1.0)
    parser.add_argument("--heavy-width", type=int, default=2048)
    parser.add_argument("--heavy-depth", type=int, default=3)
    parser.add_argument(
        "--grpc-channels",
        type=int,
        default=0,
        help="gRPC channels (TCP connections) per load process (0: one per connection)",
    )
    parser.add_argument("--kserve-python", default=KSERVE_PYTHON, help="'' to skip KServe")
    parser.add_argument("--only", choices=["reference", "heavy"], default=None)
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="servers on CPU 0, load on the other CPUs (when there are 2 or more)",
    )
    args = parser.parse_args()
    pin(args.pin)
    where = (
        f"servers on CPU {sorted(PINNED['server'])}, load on CPUs {sorted(PINNED['load'])}"
        if PINNED["server"]
        else "servers and load share every CPU"
    )
    print(
        f"{args.connections} connections from {args.processes} processes, "
        f"{args.repeats} x {args.seconds:g} s per path (median shown); {where}"
    )
    if args.only in (None, "reference"):
        bench_model("reference model", Arch(schema.FEATURE_DIM, 64, 2), args)
    if args.only in (None, "heavy"):
        bench_model(
            "heavy model", Arch(schema.FEATURE_DIM, args.heavy_width, args.heavy_depth), args
        )


if __name__ == "__main__":
    main()
