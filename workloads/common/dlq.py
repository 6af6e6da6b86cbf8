"""The dead-letter queue: a record that cannot be used goes there as it came, with the reason.

Headers name where it came from, so it can be found, fixed and replayed:
`x-ascent-reason`, `x-ascent-source-topic`, `x-ascent-source-partition`, `x-ascent-source-offset`
(UTF-8 strings). The original record's headers are kept ahead of them.

A dead letter is never too large to deliver: a record whose key, value and headers exceed
`INLINE_MAX_BYTES` (a quarter of Kafka's default 1 MB message limit) keeps its key, and its
value goes to the object store at `dead-letters/<topic>/<partition>/<offset>.bin` (one key per
source record: a replay overwrites it) with `x-ascent-payload-key`, `x-ascent-payload-size` and
`x-ascent-payload-sha256` headers and an empty value. Without an object store the value is cut to
`INLINE_MAX_BYTES` and `x-ascent-truncated: true` says so (size and hash are of the whole value).
Original headers over `MAX_ORIGINAL_HEADERS_BYTES` are dropped (`x-ascent-headers-dropped: N`),
a key over `MAX_KEY_BYTES` is cut (the size and hash headers then describe the key too).

Delivery is at least once: a consumer that dies after producing a dead letter and before
committing produces it again after the restart. De-duplicate on
(`x-ascent-source-topic`, `x-ascent-source-partition`, `x-ascent-source-offset`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from confluent_kafka import Message, Producer

from infra.names import PREFIX_DEAD_LETTERS, TOPIC_DLQ

REASON = "x-ascent-reason"
SOURCE_TOPIC = "x-ascent-source-topic"
SOURCE_PARTITION = "x-ascent-source-partition"
SOURCE_OFFSET = "x-ascent-source-offset"
PAYLOAD_KEY = "x-ascent-payload-key"
PAYLOAD_SIZE = "x-ascent-payload-size"
PAYLOAD_SHA256 = "x-ascent-payload-sha256"
TRUNCATED = "x-ascent-truncated"
HEADERS_DROPPED = "x-ascent-headers-dropped"
KEY_SIZE = "x-ascent-key-size"
KEY_SHA256 = "x-ascent-key-sha256"
MAX_REASON = 1000  # characters: a reason is for people, not a payload
INLINE_MAX_BYTES = 256 * 1024
MAX_ORIGINAL_HEADERS_BYTES = 16 * 1024
MAX_KEY_BYTES = 4 * 1024


class PayloadStore(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...


def payload_key(message: Message) -> str:
    return f"{PREFIX_DEAD_LETTERS}{message.topic()}/{message.partition()}/{message.offset()}.bin"


def _size(headers: list[tuple[str, Any]]) -> int:
    return sum(len(k) + len(v or b"") for k, v in headers)


def dlq_record(message: Message, reason: str, store: PayloadStore | None = None) -> dict[str, Any]:
    """The key, value and headers of `message`'s dead letter (see the module docstring)."""
    raw = message.headers() or []
    original = list(raw.items() if isinstance(raw, dict) else raw)
    ours: list[tuple[str, Any]] = [
        (REASON, reason[:MAX_REASON].encode()),
        (SOURCE_TOPIC, (message.topic() or "").encode()),
        (SOURCE_PARTITION, str(message.partition()).encode()),
        (SOURCE_OFFSET, str(message.offset()).encode()),
    ]
    if _size(original) > MAX_ORIGINAL_HEADERS_BYTES:
        ours.append((HEADERS_DROPPED, str(len(original)).encode()))
        original = []
    key, value = message.key(), message.value() or b""
    if key is not None and len(key) > MAX_KEY_BYTES:
        ours += [
            (KEY_SIZE, str(len(key)).encode()),
            (KEY_SHA256, hashlib.sha256(key).hexdigest().encode()),
        ]
        key = key[:MAX_KEY_BYTES]
    if len(key or b"") + len(value) + _size(original + ours) > INLINE_MAX_BYTES:
        digest = hashlib.sha256(value).hexdigest().encode()
        ours += [(PAYLOAD_SIZE, str(len(value)).encode()), (PAYLOAD_SHA256, digest)]
        if store is not None:
            where = payload_key(message)
            store.put_bytes(where, value)
            ours.append((PAYLOAD_KEY, where.encode()))
            value = b""
        else:
            ours.append((TRUNCATED, b"true"))
            value = value[: max(0, INLINE_MAX_BYTES - len(key or b"") - _size(original + ours))]
    return {"key": key, "value": value, "headers": original + ours}


def dead_letter(
    producer: Producer,
    message: Message,
    reason: str,
    topic: str = TOPIC_DLQ,
    on_delivery: Callable[[Any, Message], None] | None = None,
    store: PayloadStore | None = None,
) -> None:
    """Produce `message`'s dead letter to `topic` (see `dlq_record`).

    Asynchronous like any produce: the caller flushes its producer, checks that nothing is left
    and no delivery failed, and only then commits the source offset. A full local queue is
    drained before retrying."""
    kwargs = dlq_record(message, reason, store)
    if on_delivery is not None:
        kwargs["on_delivery"] = on_delivery
    while True:
        try:
            producer.produce(topic, **kwargs)
            return
        except BufferError:
            producer.poll(0.1)
