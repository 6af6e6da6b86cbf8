"""`python -m workloads.pipeline`: the whole data path on one machine, on embedded defaults.

    python -m workloads.pipeline [--records 50000] [--requests 2000] [--concurrency 32]
        [--artifacts DIR] [--malformed-every N] [--json]

Stages, in order, each under a time bound (`bounds()`):

    broker   an embedded Kafka-protocol broker (Tansu) on 127.0.0.1, unless
             KAFKA_BOOTSTRAP_SERVERS names one
    store    file://<artifacts>/store, unless OBJECT_STORE_URL names a store (s3://...)
    topics   transactions, fraud-scores, transactions-dlq
    produce  synthetic transactions, every N-th one malformed
    train    the trainer, in process: Kafka -> model -> checkpoints -> published through the gate
    serve    the inference server (a subprocess on 127.0.0.1), ready on the published version
    infer    a bounded burst of concurrent requests over keep-alive connections
    score    the stream scorer, in process, until it has consumed every record produced
    verify   both consumer groups committed every record; the model's artifacts are in the store

On the embedded broker (fresh, in memory) the canonical topic and group names are used; on a
broker from the environment they get the run's suffix (`transactions-1a2b3c4d`), so runs never mix.
The report goes to stdout (a table, or JSON with --json) and to `<artifacts>/report.json`.

Time bounds: when a stage's bound passes, a watchdog asks the running workload to stop (the
trainer and the scorer stop as on SIGTERM), the produce loop checks it between chunks, and every
blocking call takes its timeout from the time left. A failing stage stops the rest:
`pipeline failed at stage NAME: REASON` on stderr, exit status 1; the server and the broker are
stopped either way.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import numpy as np
import orjson
from confluent_kafka import Consumer, TopicPartition
from tqdm import tqdm

from infra.names import GROUP_SCORER, GROUP_TRAINER, TOPIC_DLQ, TOPIC_SCORES, TOPIC_TRANSACTIONS
from workloads.common import schema
from workloads.common.embedded import embedded_broker, free_port
from workloads.common.logs import configure_logging
from workloads.common.objectstore import ObjectStore
from workloads.common.registry import MANIFEST, ModelRegistry
from workloads.common.settings import KafkaSettings
from workloads.inference.scorer import Scorer
from workloads.inference.settings import MODEL_NAME, ScorerSettings
from workloads.pipeline_report import PipelineReport, render_table
from workloads.producer import ensure_topic, produce
from workloads.training.distributed import init_distributed
from workloads.training.settings import TrainerSettings
from workloads.training.trainer import Trainer

# Tansu answers the first JoinGroup after session.timeout.ms/2: keep it short on the embedded
# broker. A real Kafka refuses sessions under group.min.session.timeout.ms (6 s by default).
QUICK_JOIN: dict[str, Any] = {"session.timeout.ms": 2000, "heartbeat.interval.ms": 500}
PROGRESS_EVERY_S = 5.0  # a line this often while a long stage runs
IDLE_TIMEOUT_S = 5.0  # trainer and scorer: give up when no record comes for this long


def bounds(records: int) -> dict[str, float]:
    """Seconds each stage may take, for a run of `records` (generous for two shared cores)."""
    per_10k = records / 10_000
    return {
        "broker": 15,
        "store": 15,
        "topics": 20,
        "produce": 30 + 5 * per_10k,
        "train": 60 + 20 * per_10k,
        "serve": 60,
        "infer": 60,
        "score": 45 + 10 * per_10k,
        "verify": 20,
    }


@dataclass
class PipelineOptions:
    """What to run and against what; the defaults are `make pipeline`'s."""

    records: int = 50_000
    requests: int = 2_000
    concurrency: int = 32
    artifacts: Path | None = None  # default: ./artifacts/pipeline-<UTC timestamp>
    malformed_every: int = 100
    partitions: int = 6
    seed: int = 0
    min_auc: float = 0.85
    bootstrap_servers: str | None = None  # else KAFKA_BOOTSTRAP_SERVERS, else embedded
    store_url: str | None = None  # else OBJECT_STORE_URL, else file://<artifacts>/store
    # the scorer's consumer settings; default QUICK_JOIN on the embedded broker, else none
    scorer_consumer: dict[str, Any] | None = None
    bounds: dict[str, float] = field(default_factory=dict)  # overrides of bounds(records)
    progress: bool = True  # stage lines on stderr, and a bar when stderr is a terminal


class StageFailed(Exception):
    """A stage did not do its job in its time; the message names it and says why."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"pipeline failed at stage {stage}: {reason}")
        self.stage, self.reason = stage, reason


class Deadline:
    """A stage's time bound: the time left, and hooks that ask the stage to stop once it passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.hooks: list[Callable[[], None]] = []

    def left(self) -> float:
        return max(self.at - time.monotonic(), 0.1)

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def check(self) -> None:
        if self.expired():
            raise TimeoutError(f"did not finish within {self.seconds:g} s")

    def fire(self) -> None:
        for hook in self.hooks:
            hook()


@dataclass
class Burst:
    """What the inference burst measured."""

    latencies_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_pipeline(options: PipelineOptions) -> PipelineReport:
    """Run every stage; the report, or `StageFailed` naming the first stage that failed."""
    return Pipeline(options).run()


class Pipeline:
    """One run: the stages as methods, each filling its part of the report."""

    kafka: KafkaSettings  # set by the broker stage
    store: ObjectStore  # set by the store stage

    def __init__(self, options: PipelineOptions) -> None:
        self.o = options
        self.bounds = {**bounds(options.records), **options.bounds}
        self.suffix = uuid.uuid4().hex[:8]
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        self.artifacts = (options.artifacts or Path("artifacts") / f"pipeline-{stamp}").resolve()
        self.report = PipelineReport(artifacts_dir=str(self.artifacts))
        self.run_id = f"pipeline-{self.suffix}"
        self.server_log = self.artifacts / "inference-server.log"

    def run(self) -> PipelineReport:
        began = time.monotonic()
        with ExitStack() as stack:
            self.start_broker(stack)
            self.open_store()
            self.create_topics()
            self.produce()
            self.train()
            port = self.start_server(stack)
            self.infer(port)
            self.score()
            self.verify()
        self.report.seconds = round(time.monotonic() - began, 2)
        path = self.artifacts / "report.json"
        self.report.artifacts["report"] = str(path)
        path.write_text(self.report.to_json() + "\n")
        return self.report

    # --- the stage wrapper ---------------------------------------------------------------------
    @contextmanager
    def stage(self, name: str) -> Iterator[Deadline]:
        """Run the body under the stage's bound; any error becomes `StageFailed(name, why)`."""
        deadline = Deadline(self.bounds[name])
        watchdog = threading.Timer(deadline.seconds, deadline.fire)
        watchdog.daemon = True
        began = time.monotonic()
        watchdog.start()
        try:
            yield deadline
            deadline.check()  # a stage stopped at its bound has failed, however it ended
        except Exception as exc:
            raise StageFailed(name, _reason(exc, deadline)) from exc
        finally:
            watchdog.cancel()
        self.report.stages[name] = round(time.monotonic() - began, 2)
        self.say(f"{name:<8} ok  {self.report.stages[name]:6.1f} s")

    def say(self, line: str) -> None:
        if self.o.progress:
            print(line, file=sys.stderr, flush=True)

    @contextmanager
    def ticking(self, name: str, count: Callable[[], int], what: str) -> Iterator[None]:
        """A progress line every PROGRESS_EVERY_S while a long stage runs: count and rate."""
        done = threading.Event()
        began = time.monotonic()

        def tick() -> None:
            while not done.wait(PROGRESS_EVERY_S):
                n = count()
                rate = n / max(time.monotonic() - began, 1e-9)
                self.say(f"{name:<8} ... {n:,} {what} ({rate:,.0f}/s)")

        ticker = threading.Thread(target=tick, name=f"{name}-progress", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()

    # --- the stages ------------------------------------------------------------------------------
    def start_broker(self, stack: ExitStack) -> None:
        with self.stage("broker") as deadline:
            given = self.o.bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
            bootstrap = given or stack.enter_context(embedded_broker(timeout=deadline.left()))
            self.kafka = KafkaSettings(bootstrap_servers=bootstrap)
            suffix = f"-{self.suffix}" if given else ""
            self.report.bootstrap_servers, self.report.embedded_broker = bootstrap, not given
            self.report.topics = {
                "transactions": TOPIC_TRANSACTIONS + suffix,
                "scores": TOPIC_SCORES + suffix,
                "dlq": TOPIC_DLQ + suffix,
            }
            self.report.groups = {
                "trainer": GROUP_TRAINER + suffix,
                "scorer": GROUP_SCORER + suffix,
            }

    def open_store(self) -> None:
        with self.stage("store"):
            self.artifacts.mkdir(parents=True, exist_ok=True)
            url = (
                self.o.store_url
                or os.environ.get("OBJECT_STORE_URL")
                or f"file://{self.artifacts / 'store'}"
            )
            self.store = ObjectStore.from_url(url)
            self.store.list(f"models/{MODEL_NAME}/")  # reachable and readable, before any work
            self.report.store_url = url

    def create_topics(self) -> None:
        with self.stage("topics") as deadline:
            partitions = {"transactions": self.o.partitions, "scores": self.o.partitions, "dlq": 1}
            for role, count in partitions.items():
                # the client's own timeout a little past the stage's bound: when the broker is
                # gone, the bound (not a race with the client's timeout) names the failure
                ensure_topic(self.kafka, self.report.topics[role], count, deadline.left() + 0.5)

    def produce(self) -> None:
        with self.stage("produce") as deadline:
            bar = tqdm(
                total=self.o.records,
                unit="rec",
                unit_scale=True,
                desc="produce",
                disable=not (self.o.progress and sys.stderr.isatty()),
            )

            def progress(n: int) -> None:
                bar.update(n)
                deadline.check()

            try:
                summary = produce(
                    self.kafka,
                    self.o.records,
                    self.o.seed,
                    topic=self.report.topics["transactions"],
                    partitions=0,  # created by the topics stage
                    malformed_every=self.o.malformed_every,
                    config={"message.timeout.ms": max(int(deadline.left() * 1000), 1000)},
                    progress=progress,
                )
            finally:
                bar.close()
            self.report.produced, self.report.malformed = summary["produced"], summary["malformed"]
            self.report.produce_records_per_s = summary["records_per_s"]
            if summary["failed"]:
                errors = summary.get("errors", {})
                raise RuntimeError(f"{summary['failed']} of {self.o.records} failed: {errors}")

    def train(self) -> None:
        with self.stage("train") as deadline, _sigterm_given_back():
            settings = TrainerSettings(
                topic=self.report.topics["transactions"],
                dlq_topic=self.report.topics["dlq"],
                group_id=self.report.groups["trainer"],
                run_id=self.run_id,
                max_records=self.report.produced,
                idle_timeout_s=IDLE_TIMEOUT_S,
                min_auc=self.o.min_auc,
                seed=self.o.seed,
            )
            ctx = init_distributed()
            try:
                trainer = Trainer(settings, self.kafka, self.store, ctx)
                deadline.hooks.append(lambda: trainer.request_stop(signal.SIGALRM))
                with self.ticking("train", lambda: trainer.rows_trained, "records trained"):
                    result = trainer.run()
            finally:
                ctx.close()
            r = self.report
            r.trained, r.held_out, r.dead_lettered = (
                result.trained,
                result.held_out,
                result.dead_lettered,
            )
            r.training_seconds = round(result.seconds, 2)
            r.training_records_per_s = round(result.trained / max(result.seconds, 1e-9), 1)
            r.roc_auc = result.metrics.get("roc_auc", 0.0)
            r.model_version, r.promoted = result.version or "", result.promoted
            if result.version is None:
                raise RuntimeError("nothing published: the held-out slice lacks a class")
            if not result.promoted:
                raise RuntimeError(
                    f"version {result.version} has ROC AUC {r.roc_auc:.4f}, under the gate "
                    f"{self.o.min_auc}: published, not promoted, so there is nothing to serve"
                )

    def start_server(self, stack: ExitStack) -> int:
        with self.stage("serve") as deadline:
            port = free_port()
            log_file = stack.enter_context(self.server_log.open("wb"))
            cmd = [sys.executable, "-m", "workloads.inference", "--host", "127.0.0.1"]
            cmd += ["--port", str(port), "--grpc-port", "0", "--threads", "1"]
            cmd += ["--log-level", "WARNING"]
            env = {**os.environ, "OBJECT_STORE_URL": self.report.store_url, "OMP_NUM_THREADS": "1"}
            proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            stack.callback(_stop, proc)
            served = _wait_ready(proc, f"http://127.0.0.1:{port}", deadline, self.server_log)
            if served != self.report.model_version:
                raise RuntimeError(f"the server serves {served}, not {self.report.model_version}")
            return port

    def infer(self, port: int) -> None:
        with self.stage("infer") as deadline:
            path = f"/v2/models/{MODEL_NAME}/versions/{self.report.model_version}/infer"
            requests = _requests(port, path, min(self.o.requests, 512), self.o.seed + 1)
            burst = asyncio.run(
                asyncio.wait_for(
                    _burst(port, requests, self.o.requests, self.o.concurrency), deadline.left()
                )
            )
            ms = np.array(burst.latencies_s) * 1e3
            r = self.report
            r.requests, r.request_errors = len(ms), len(burst.failures)
            r.requests_per_s = round(len(ms) / max(burst.seconds, 1e-9), 1)
            r.p50_ms, r.p99_ms = (round(float(np.percentile(ms, q)), 3) for q in (50, 99))
            if burst.failures:
                raise RuntimeError(
                    f"{len(burst.failures)} of {len(ms)} requests failed, "
                    f"first: {burst.failures[0]}"
                )

    def score(self) -> None:
        with self.stage("score") as deadline, _sigterm_given_back():
            settings = ScorerSettings(
                topic=self.report.topics["transactions"],
                scores_topic=self.report.topics["scores"],
                dlq_topic=self.report.topics["dlq"],
                group_id=self.report.groups["scorer"],
                max_records=self.report.produced,
                idle_timeout_s=IDLE_TIMEOUT_S,
                model_wait_s=deadline.left(),
            )
            consumer = self.o.scorer_consumer
            if consumer is None:
                consumer = QUICK_JOIN if self.report.embedded_broker else {}
            scorer = Scorer(settings, self.kafka, self.store, consumer)
            deadline.hooks.append(lambda: scorer.request_stop(signal.SIGALRM))
            result = scorer.run()
            r = self.report
            r.consumed, r.scored = result.consumed, result.scored
            r.scorer_dead_lettered = result.dead_lettered
            r.scorer_model_version = result.model_version or ""
            if result.consumed != r.produced:
                raise RuntimeError(f"consumed {result.consumed} of {r.produced} records")
            if r.scorer_model_version != r.model_version:
                raise RuntimeError(f"scored with {r.scorer_model_version}, not {r.model_version}")

    def verify(self) -> None:
        with self.stage("verify") as deadline:
            topic, produced = self.report.topics["transactions"], self.report.produced
            for group in self.report.groups.values():
                offsets = _committed(self.kafka, group, topic, self.o.partitions, deadline.left())
                self.report.committed[group] = offsets
                if sum(offsets.values()) != produced:
                    raise RuntimeError(
                        f"group {group} committed {sum(offsets.values())} of {produced} "
                        f"records on {topic}: {offsets}"
                    )
            registry = ModelRegistry(self.store, MODEL_NAME)
            version = self.report.model_version
            keys = {
                "manifest": registry.key(version, MANIFEST),
                "model": registry.key(version, "model.pt"),
                "training curve": registry.key(version, "training_curve.png"),
                "checkpoint": f"checkpoints/{self.run_id}/latest.json",
            }
            for what, key in keys.items():
                if not self.store.exists(key):
                    raise RuntimeError(f"no {what} at {self.store.url(key)}")
                self.report.artifacts[what] = self.store.url(key)
            self.report.artifacts["server log"] = str(self.server_log)


# --- helpers -----------------------------------------------------------------------------------
def _reason(exc: Exception, deadline: Deadline) -> str:
    """Why a stage failed: the error, prefixed by the bound when it ran out of time."""
    detail = str(exc) or type(exc).__name__
    if not deadline.expired():
        return detail
    bound = f"did not finish within {deadline.seconds:g} s"
    return bound if detail in (bound, "TimeoutError") else f"{bound} ({detail})"


@contextmanager
def _sigterm_given_back() -> Iterator[None]:
    """The trainer and the scorer take SIGTERM (a graceful stop); give it back afterwards."""
    previous = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _tail(path: Path, lines: int = 5) -> str:
    return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])


def _wait_ready(proc: subprocess.Popen[bytes], url: str, deadline: Deadline, log: Path) -> str:
    """Wait until the server is ready; the version it serves."""
    with httpx.Client(base_url=url, timeout=2) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}: {_tail(log)}")
            try:
                if client.get("/v2/health/ready").status_code == 200:
                    version: str = client.get(f"/v2/models/{MODEL_NAME}").json()["versions"][0]
                    return version
            except httpx.TransportError:
                pass
            if deadline.expired():
                raise TimeoutError(f"the server was not ready within {deadline.seconds:g} s")
            time.sleep(0.2)


def _requests(port: int, path: str, distinct: int, seed: int) -> list[bytes]:
    """HTTP/1.1 requests, each one unlabelled synthetic transaction in the record form."""
    out = []
    for record in schema.generate(max(distinct, 1), seed=seed):
        record.pop(schema.LABEL, None)
        body = orjson.dumps(record)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def _burst(port: int, requests: list[bytes], total: int, concurrency: int) -> Burst:
    """`total` requests over `concurrency` keep-alive connections, each sent when one returns."""
    burst, numbers = Burst(), itertools.count()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (i := next(numbers)) < total:
                start = time.perf_counter()
                writer.write(requests[i % len(requests)])
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(_content_length(head))
                burst.latencies_s.append(time.perf_counter() - start)
                if not head.startswith(b"HTTP/1.1 200"):
                    status = head.split(b"\r\n", 1)[0].decode(errors="replace")
                    burst.failures.append(f"{status}: {body[:200].decode(errors='replace')}")
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(max(min(concurrency, total), 1))))
    burst.seconds = time.perf_counter() - began
    return burst


def _committed(
    kafka: KafkaSettings, group: str, topic: str, partitions: int, timeout: float
) -> dict[int, int]:
    """The group's committed offset per partition (0 where it committed none)."""
    consumer = Consumer({**kafka.client_config(), "group.id": group})
    try:
        found = consumer.committed(
            [TopicPartition(topic, p) for p in range(partitions)], timeout=timeout
        )
        return {tp.partition: max(tp.offset, 0) for tp in found}
    finally:
        consumer.close()


# --- the command ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m workloads.pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--records", type=int, default=50_000, help="transactions to produce")
    p.add_argument("--requests", type=int, default=2_000, help="inference requests in the burst")
    p.add_argument("--concurrency", type=int, default=32, help="connections for the burst")
    p.add_argument("--artifacts", type=Path, help="default: ./artifacts/pipeline-<timestamp>")
    p.add_argument("--malformed-every", type=int, default=100, metavar="N", help="0: none")
    p.add_argument("--min-auc", type=float, default=0.85, help="the publishing gate")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--log-level", default="WARNING", help="of the workloads' own logs (stderr)")
    args = p.parse_args(argv)
    for name in ("records", "requests", "concurrency"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.malformed_every < 0:
        p.error("--malformed-every must be >= 0")
    return args


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.log_level)
    options = PipelineOptions(
        records=args.records,
        requests=args.requests,
        concurrency=args.concurrency,
        artifacts=args.artifacts,
        malformed_every=args.malformed_every,
        min_auc=args.min_auc,
    )
    previous = signal.signal(signal.SIGTERM, _interrupted)  # unwind: stop what was started
    try:
        report = run_pipeline(options)
    except StageFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pipeline interrupted: everything it started is stopped", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(report.to_json() if args.json else render_table(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
