"""Create the platform's topics with the promised partition count, and grow them when they have
fewer: `python -m workloads.topics --partitions N [TOPIC ...]` (default: every topic the
platform uses, `infra.names.TOPICS`). On MSK nothing else creates them
(`auto.create.topics.enable` is false and no workload role may CreateTopic); the platform runs
this once per `pulumi up`, as a short Job under its own role. Idempotent: a topic that is there
with enough partitions is left alone.

Exit codes: 0 every topic ready; 2 bad arguments or settings; 3 a topic could not be created or
grown (named, with the broker's reason).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from pydantic import ValidationError

from infra.names import TOPICS
from workloads.common.settings import KafkaSettings

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 3
PLATFORM_TOPICS = TOPICS  # transactions, fraud-scores, transactions-dlq, features: one count


class TopicError(RuntimeError):
    """A topic the broker would not create or grow."""


def ensure_topics(
    settings: KafkaSettings, wanted: Mapping[str, int], timeout: float = 15
) -> dict[str, str]:
    """Each topic -> "created", "grown" or "ready"; TopicError naming every one that failed."""
    admin = AdminClient(settings.client_config())
    present = admin.list_topics(timeout=timeout).topics
    done: dict[str, str] = {}
    create = [NewTopic(t, n, -1) for t, n in wanted.items() if t not in present]
    grow = [
        NewPartitions(t, n)
        for t, n in wanted.items()
        if t in present and len(present[t].partitions) < n
    ]
    failures: list[str] = []
    for topic, future in (
        admin.create_topics(create, operation_timeout=timeout) if create else {}
    ).items():
        try:
            future.result(timeout)
            done[topic] = "created"
        except KafkaException as exc:
            if exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                done[topic] = "ready"
            else:
                failures.append(f"{topic}: cannot create with {wanted[topic]} partitions: {exc}")
    for topic, future in (
        admin.create_partitions(grow, operation_timeout=timeout) if grow else {}
    ).items():
        have = len(present[topic].partitions)
        try:
            future.result(timeout)
            done[topic] = "grown"
        except KafkaException as exc:
            failures.append(f"{topic}: has {have} partitions, needs {wanted[topic]}: {exc}")
    for topic in wanted:
        done.setdefault(topic, "ready")
    if failures:
        raise TopicError("; ".join(failures))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workloads.topics", description=__doc__)
    parser.add_argument("--partitions", type=int, required=True, help="at least this many")
    parser.add_argument("topics", nargs="*", default=list(PLATFORM_TOPICS))
    args = parser.parse_args(argv)
    if args.partitions < 1:
        parser.error("--partitions must be >= 1")
    try:
        settings = KafkaSettings()
    except ValidationError as exc:
        print(f"topics: bad Kafka settings: {exc.errors()[0]['msg']}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = ensure_topics(settings, {t: args.partitions for t in args.topics})
    except (TopicError, KafkaException) as exc:
        print(f"topics: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for topic, state in sorted(result.items()):
        print(f"topics: {topic} {state} (>= {args.partitions} partitions)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
