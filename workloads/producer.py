"""`python -m workloads.producer`: the synthetic transaction stream, keyed by card, into Kafka.

    python -m workloads.producer --count 50000 --rate 0 --partitions 6 --malformed-every 0

Idempotent and batched; every delivery is accounted for (produced + failed == count). The last
line on stdout is a JSON summary; the exit status is 1 when any delivery failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Producer

from infra.names import TOPIC_TRANSACTIONS
from workloads.common.logs import configure_logging
from workloads.common.schema import encode, generate
from workloads.common.settings import KafkaSettings
from workloads.topics import ensure_topics

log = logging.getLogger("workloads.producer")
CHUNK = 2048  # records generated (and progress reported) at a time: memory stays flat
PRODUCER_CONFIG: dict[str, Any] = {
    "enable.idempotence": True,  # acks=all, no duplicates or reordering on retry
    "linger.ms": 20,
    "batch.num.messages": 10_000,
    "partitioner": "murmur2_random",  # the Java clients' partitioner: same card, same partition
    "message.timeout.ms": 60_000,  # a delivery fails (and is counted) after a minute
}


def ensure_topic(settings: KafkaSettings, topic: str, partitions: int, timeout: float = 15) -> bool:
    """Create `topic` with `partitions` partitions unless it exists; True if it was created."""
    return ensure_topics(settings, {topic: partitions}, timeout)[topic] == "created"


def malform(value: bytes, n: int) -> bytes:
    """A broken variant of an encoded record, one of three kinds in turn."""
    kind = n % 3
    if kind == 0:
        return value[: len(value) // 2]  # truncated: not JSON
    if kind == 1:
        return value.replace(b'"hour":', b'"hour":99,"_hour":', 1)  # out of range
    return value.replace(b'"amount":', b'"amount":"lots","_amount":', 1)  # wrong type


def produce(
    settings: KafkaSettings,
    count: int,
    seed: int = 0,
    *,
    topic: str = TOPIC_TRANSACTIONS,
    partitions: int = 6,
    rate: float = 0.0,
    malformed_every: int = 0,
    config: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Produce `count` records of stream `seed` to `topic`; return the summary.

    `partitions` > 0 creates the topic when missing; `rate` > 0 paces to that many records/s;
    every `malformed_every`-th record is broken; `progress(n)` is told of each n records sent."""
    if partitions > 0:
        ensure_topic(settings, topic, partitions)
    counts = {"produced": 0, "failed": 0}
    errors: dict[str, int] = {}

    def delivered(err: KafkaError | None, _msg: Any) -> None:
        if err is None:
            counts["produced"] += 1
        else:
            counts["failed"] += 1
            errors[err.str()] = errors.get(err.str(), 0) + 1

    producer = Producer({**settings.client_config(), **PRODUCER_CONFIG, **(config or {})})
    start = time.monotonic()
    malformed = 0
    for first in range(0, count, CHUNK):
        records = generate(min(CHUNK, count - first), seed, start=first)
        for i, record in enumerate(records, start=first):
            value = encode(record)
            if malformed_every and (i + 1) % malformed_every == 0:
                value, malformed = malform(value, malformed), malformed + 1
            if rate > 0 and (ahead := start + i / rate - time.monotonic()) > 0:
                time.sleep(ahead)
            _send(producer, topic, record["card_id"].encode(), value, delivered)
        if progress:
            progress(len(records))
    unsent = producer.flush()
    counts["failed"] += unsent
    seconds = time.monotonic() - start
    summary = {
        "topic": topic,
        **counts,
        "malformed": malformed,
        "seconds": round(seconds, 3),
        "records_per_s": round(counts["produced"] / seconds, 1) if seconds else 0.0,
    }
    if errors:
        summary["errors"] = errors
    return summary


def _send(producer: Producer, topic: str, key: bytes, value: bytes, on_delivery: Any) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
            producer.poll(0)
            return
        except BufferError:  # the local queue is full: let deliveries drain
            producer.poll(0.05)


class _Progress:
    """A tqdm bar on a terminal, else a JSON log line about every 10 %."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.next_log = total, 0, total / 10
        self.bar: Any = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="rec", unit_scale=True)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.done >= self.next_log or self.done == self.total:
            pct = round(100 * self.done / max(self.total, 1))
            log.info("progress", extra={"sent": self.done, "total": self.total, "percent": pct})
            self.next_log = self.done + self.total / 10

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m workloads.producer", description=__doc__)
    p.add_argument("--count", type=int, default=50_000, help="records to produce")
    p.add_argument("--rate", type=float, default=0.0, help="records/s; 0: as fast as possible")
    p.add_argument("--seed", type=int, default=0, help="the synthetic stream's seed")
    p.add_argument("--topic", default=TOPIC_TRANSACTIONS)
    p.add_argument("--partitions", type=int, default=6, help="for a new topic; 0: don't create")
    p.add_argument("--malformed-every", type=int, default=0, metavar="K", help="break every K-th")
    p.add_argument("--bootstrap-servers", help="overrides KAFKA_BOOTSTRAP_SERVERS")
    args = p.parse_args(argv)
    for name in ("count", "rate", "partitions", "malformed_every"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = parse_args(argv)
    try:
        overrides = {"bootstrap_servers": args.bootstrap_servers} if args.bootstrap_servers else {}
        settings = KafkaSettings(**overrides)
    except ValueError as exc:
        print(f"invalid environment: {exc}", file=sys.stderr)
        return 2
    bar = _Progress(args.count)
    try:
        summary = produce(
            settings,
            args.count,
            args.seed,
            topic=args.topic,
            partitions=args.partitions,
            rate=args.rate,
            malformed_every=args.malformed_every,
            progress=bar,
        )
    finally:
        bar.close()
    print(json.dumps(summary), flush=True)
    return 0 if summary["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
