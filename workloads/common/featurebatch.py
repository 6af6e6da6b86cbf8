"""The `features` topic's records: decoded transactions as Arrow record batches (IPC stream).

One Kafka record holds the valid rows of one poll of one `transactions` partition:
- columns `offset` (int64, the source record's offset), `label` (float32) and `features`
  (fixed-size list of FEATURE_DIM float32: `schema.FEATURES` in order, also in the schema's
  metadata under `ascent.features`, so any Arrow reader knows the columns);
- headers `x-ascent-source-topic`, `x-ascent-source-partition`, `x-ascent-source-start` and
  `x-ascent-source-end` (the source offsets it covers, end exclusive) and
  `x-ascent-dead-letters` (comma-separated source offsets that went to the DLQ instead).

The record goes to the same partition number as its source partition, so per source partition
the batches are in offset order; a feature stage restarted from an older commit produces some
offsets again, and the reader keeps, per source partition, the next offset it still needs
(`keep_from`): duplicates are dropped row by row and counts stay exact.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from workloads.common import schema

FORMAT_VERSION = "1"
MAX_BATCH_ROWS = 4096  # 4096 x (51 x 4 + 12) bytes ~ 0.9 MB: under Kafka's 1 MB default
SOURCE_TOPIC = "x-ascent-source-topic"
SOURCE_PARTITION = "x-ascent-source-partition"
SOURCE_START = "x-ascent-source-start"
SOURCE_END = "x-ascent-source-end"
DEAD_LETTERS = "x-ascent-dead-letters"
ARROW_SCHEMA = pa.schema(
    [
        ("offset", pa.int64()),
        ("label", pa.float32()),
        ("features", pa.list_(pa.float32(), schema.FEATURE_DIM)),
    ],
    metadata={
        "ascent.format": FORMAT_VERSION,
        "ascent.features": json.dumps(list(schema.FEATURES)),
    },
)


class FeatureBatchError(ValueError):
    """A `features` record this reader cannot use (another format or feature set)."""


@dataclass
class FeatureBatch:
    source_topic: str
    partition: int
    start: int  # first source offset covered
    end: int  # next source offset after the batch
    offsets: np.ndarray  # int64 [n]: source offset of each row
    features: np.ndarray  # float32 [n, FEATURE_DIM]
    labels: np.ndarray  # float32 [n]
    dead_letters: np.ndarray  # int64: source offsets dead-lettered in [start, end)


def encode(offsets: np.ndarray, features: np.ndarray, labels: np.ndarray) -> bytes:
    n = len(offsets)
    flat = pa.array(np.ascontiguousarray(features, dtype=np.float32).reshape(-1))
    batch = pa.record_batch(
        [
            pa.array(np.asarray(offsets, dtype=np.int64)),
            pa.array(np.asarray(labels, dtype=np.float32)),
            pa.FixedSizeListArray.from_arrays(flat, schema.FEATURE_DIM),
        ],
        schema=ARROW_SCHEMA,
    )
    assert batch.num_rows == n
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, ARROW_SCHEMA) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue())


def headers(
    topic: str, partition: int, start: int, end: int, dead_letters: Sequence[int]
) -> list[tuple[str, str | bytes | None]]:
    return [
        (SOURCE_TOPIC, topic.encode()),
        (SOURCE_PARTITION, str(partition).encode()),
        (SOURCE_START, str(start).encode()),
        (SOURCE_END, str(end).encode()),
        (DEAD_LETTERS, ",".join(map(str, dead_letters)).encode()),
    ]


def decode(value: bytes, record_headers: Sequence[tuple[str, str | bytes | None]]) -> FeatureBatch:
    found = {k: v.decode() if isinstance(v, bytes) else (v or "") for k, v in record_headers}
    try:
        reader = pa.ipc.open_stream(value)
        meta = reader.schema.metadata or {}
        table = reader.read_all()
        partition, start, end = (
            int(found[h]) for h in (SOURCE_PARTITION, SOURCE_START, SOURCE_END)
        )
        dead = [int(v) for v in found[DEAD_LETTERS].split(",") if v]
    except (pa.ArrowException, KeyError, ValueError) as exc:
        raise FeatureBatchError(f"not a feature batch: {exc}") from exc
    if meta.get(b"ascent.features") != ARROW_SCHEMA.metadata[b"ascent.features"]:
        raise FeatureBatchError("feature batch of another feature set: upgrade the trainer")
    features = table.column("features").combine_chunks().flatten()
    return FeatureBatch(
        source_topic=found.get(SOURCE_TOPIC, ""),
        partition=partition,
        start=start,
        end=end,
        offsets=table.column("offset").to_numpy(),
        features=features.to_numpy().reshape(-1, schema.FEATURE_DIM),
        labels=table.column("label").to_numpy(),
        dead_letters=np.asarray(dead, dtype=np.int64),
    )
