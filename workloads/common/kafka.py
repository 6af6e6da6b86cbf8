"""Consumer helpers every workload shares."""

from __future__ import annotations

import logging

from confluent_kafka import Consumer, KafkaError, Message

log = logging.getLogger(__name__)


def consume(consumer: Consumer, max_records: int, timeout: float) -> list[Message]:
    """Up to `max_records` records within `timeout`; end-of-partition events are dropped and
    other per-record errors logged (librdkafka retries them itself)."""
    good = []
    for m in consumer.consume(num_messages=max_records, timeout=timeout):
        err = m.error()
        if err is None:
            good.append(m)
        elif err.code() != KafkaError._PARTITION_EOF:
            log.warning("consume error", extra={"error": str(err)})
    return good
