"""The dead-letter queue: a record that cannot be used goes there as it came, with the reason.

Headers name where it came from, so it can be found, fixed and replayed:
`x-ascent-reason`, `x-ascent-source-topic`, `x-ascent-source-partition`, `x-ascent-source-offset`
(UTF-8 strings). The original record's headers are kept ahead of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import Message, Producer

from infra.names import TOPIC_DLQ

REASON = "x-ascent-reason"
SOURCE_TOPIC = "x-ascent-source-topic"
SOURCE_PARTITION = "x-ascent-source-partition"
SOURCE_OFFSET = "x-ascent-source-offset"
MAX_REASON = 1000  # characters: a reason is for people, not a payload


def dlq_headers(message: Message, reason: str) -> list[tuple[str, Any]]:
    original = message.headers() or []
    return [
        *(original.items() if isinstance(original, dict) else original),
        (REASON, reason[:MAX_REASON].encode()),
        (SOURCE_TOPIC, (message.topic() or "").encode()),
        (SOURCE_PARTITION, str(message.partition()).encode()),
        (SOURCE_OFFSET, str(message.offset()).encode()),
    ]


def dead_letter(
    producer: Producer,
    message: Message,
    reason: str,
    topic: str = TOPIC_DLQ,
    on_delivery: Callable[[Any, Message], None] | None = None,
) -> None:
    """Produce `message`'s key and value to `topic` with the reason and source headers.

    Asynchronous like any produce: the caller polls/flushes its producer (and should do so before
    committing the source offset). A full local queue is drained once before retrying."""
    kwargs: dict[str, Any] = {
        "key": message.key(),
        "value": message.value(),
        "headers": dlq_headers(message, reason),
    }
    if on_delivery is not None:
        kwargs["on_delivery"] = on_delivery
    try:
        producer.produce(topic, **kwargs)
    except BufferError:
        producer.poll(1.0)
        producer.produce(topic, **kwargs)
