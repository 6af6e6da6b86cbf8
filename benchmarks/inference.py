"""Requests/s, p50/p99 latency and server CPU per request of the inference server under 64
concurrent keep-alive connections on 127.0.0.1, against its baselines on the same model:

- naive:   one forward pass per request (`--mode direct`), same HTTP stack;
- ceiling: the same HTTP stack with the model call skipped (`--mode skip-model`);
- compute: the raw forward pass at the max batch size, in rows/s (no HTTP).

Run for the reference fraud model and for a heavy variant (`--heavy-width/--heavy-depth`,
a batch-1 forward of >= 2 ms on CPU). Targets: reference >= 0.8x the ceiling's requests/s at a
p99 no worse than naive; heavy >= 3x naive's requests/s at no worse p99.
Run: `.venv/bin/python benchmarks/inference.py` (about 2 minutes).
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
MODES = ("batched", "direct", "skip-model")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _body(seed: int) -> bytes:
    x = schema.features_from_records(schema.generate(1, seed=seed))
    tensor = {"name": "features", "datatype": "FP32", "shape": [1, schema.FEATURE_DIM]}
    return orjson.dumps({"inputs": [{**tensor, "data": x.flatten().tolist()}]})


# --- load generator: processes of asyncio keep-alive connections -------------------------------
async def _connection(port: int, request: bytes, until: float, latencies: list[float]) -> int:
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


def _client(port: int, connections: int, seconds: float, seed: int, out: mp.Queue) -> None:
    body = _body(seed)
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []

    async def run() -> int:
        until = time.perf_counter() + seconds
        results = await asyncio.gather(
            *(_connection(port, request, until, latencies) for _ in range(connections))
        )
        return sum(results)

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
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(port: int, pid: int, seconds: float, connections: int, processes: int) -> Result:
    out: mp.Queue = mp.Queue()
    per = connections // processes
    workers = [
        mp.Process(target=_client, args=(port, per, seconds, i, out)) for i in range(processes)
    ]
    cpu0, start = _cpu_seconds(pid), time.perf_counter()
    for w in workers:
        w.start()
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
        cpu_ms_per_request=cpu / max(n, 1) * 1e3 * (seconds / elapsed),
        errors=sum(e for _, e in results),
    )


# --- the servers under test ------------------------------------------------------------------
def start_server(
    store_url: str, mode: str, args: argparse.Namespace
) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    cmd = [sys.executable, "-m", "workloads.inference", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--mode", mode, "--max-batch-size", str(args.max_batch_size), "--log-level", "WARNING"]
    cmd += ["--max-queue-delay-ms", str(args.max_queue_delay_ms), "--threads", "1"]
    cmd += ["--inline-below-ms", str(args.inline_below_ms)]
    env = {**os.environ, "OBJECT_STORE_URL": store_url, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200:
                return proc, port
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"server ({mode}) did not become ready")
        time.sleep(0.2)


def mean_batch(port: int) -> float:
    samples = dict(
        line.rsplit(" ", 1)
        for line in httpx.get(f"http://127.0.0.1:{port}/metrics").text.splitlines()
        if line.startswith("ascent_inference_batch_size_")
    )
    count = float(samples.get("ascent_inference_batch_size_count", 0))
    return float(samples.get("ascent_inference_batch_size_sum", 0)) / count if count else 0.0


def serve_and_load(store_url: str, args: argparse.Namespace) -> dict[str, Result]:
    """All three servers up at once (idle ones cost nothing), loaded in turn `repeats` times so
    that noise from the shared cores falls on each alike; the median run by requests/s counts."""
    servers = {mode: start_server(store_url, mode, args) for mode in MODES}
    runs: dict[str, list[Result]] = {mode: [] for mode in MODES}
    try:
        for proc, port in servers.values():
            load(port, proc.pid, 1.0, args.connections, args.processes)  # warm up
        for _ in range(args.repeats):
            for mode, (proc, port) in servers.items():
                runs[mode].append(
                    load(port, proc.pid, args.seconds, args.connections, args.processes)
                )
        batch = mean_batch(servers["batched"][1])
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
    print(f"mean rows per forward pass (ours): {batch:.1f}")
    return {mode: sorted(r, key=lambda x: x.rps)[len(r) // 2] for mode, r in runs.items()}


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


def bench_model(label: str, arch: Arch, args: argparse.Namespace) -> dict[str, Result | float]:
    torch.manual_seed(0)
    model = FraudModel(arch).eval()
    with tempfile.TemporaryDirectory() as tmp:
        store_url = f"file://{tmp}"
        ModelRegistry(ObjectStore.from_url(store_url), MODEL).publish(
            "bench", {"model.pt": to_bytes(model)}, {"input_schema": schema.input_schema()}, True
        )
        results: dict[str, Result | float] = {**serve_and_load(store_url, args)}
    results["compute"] = compute_limit(model, args.max_batch_size)
    _report(label, arch, results)
    return results


def _report(label: str, arch: Arch, r: dict[str, Result | float]) -> None:
    print(f"\n{label}: width {arch.width}, depth {arch.depth}")
    print(f"{'path':<34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} {'errors':>7}")
    names = {
        "batched": "ours (dynamic batching)",
        "direct": "naive (one forward per request)",
        "skip-model": "ceiling (model call skipped)",
    }
    for key, name in names.items():
        x = r[key]
        assert isinstance(x, Result)
        print(
            f"{name:<34} {x.rps:>9,.0f} {x.p50_ms:>8.2f} {x.p99_ms:>8.2f} "
            f"{x.cpu_ms_per_request:>11.3f} {x.errors:>7}"
        )
    print(f"{'compute limit (rows/s, no HTTP)':<34} {r['compute']:>9,.0f}")
    ours, naive, ceiling = r["batched"], r["direct"], r["skip-model"]
    assert isinstance(ours, Result) and isinstance(naive, Result) and isinstance(ceiling, Result)
    print(
        f"ours/ceiling {ours.rps / ceiling.rps:.2f}x, ours/naive {ours.rps / naive.rps:.2f}x, "
        f"p99 ours {ours.p99_ms:.1f} ms vs naive {naive.p99_ms:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per path; the median counts")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--max-queue-delay-ms", type=float, default=2.0)
    parser.add_argument("--inline-below-ms", type=float, default=1.0)
    parser.add_argument("--heavy-width", type=int, default=2048)
    parser.add_argument("--heavy-depth", type=int, default=3)
    parser.add_argument("--only", choices=["reference", "heavy"], default=None)
    args = parser.parse_args()
    print(
        f"{args.connections} connections from {args.processes} processes, "
        f"{args.repeats} x {args.seconds:g} s per path (median shown)"
    )
    if args.only in (None, "reference"):
        bench_model("reference model", Arch(schema.FEATURE_DIM, 64, 2), args)
    if args.only in (None, "heavy"):
        bench_model(
            "heavy model", Arch(schema.FEATURE_DIM, args.heavy_width, args.heavy_depth), args
        )


if __name__ == "__main__":
    main()
