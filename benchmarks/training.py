"""Records/s through the whole trainer (Kafka -> tensors -> DDP step), against its two limits
measured in the same run on the same data:

- ingest limit: a raw confluent-kafka consume loop over the topic (no decoding, no training);
- compute limit: the same optimizer steps on tensors already in memory.

Target: the trainer reaches >= 0.8 of the slower limit.
Run: `.venv/bin/python benchmarks/training.py`.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time

import torch
from confluent_kafka import Consumer, TopicPartition

from infra.names import TOPIC_DLQ
from workloads.common import schema
from workloads.common.embedded import embedded_broker
from workloads.common.model import Arch, FraudModel, optimizer
from workloads.common.objectstore import ObjectStore
from workloads.common.settings import KafkaSettings
from workloads.producer import ensure_topic, produce
from workloads.training.distributed import init_distributed
from workloads.training.feed import held_out_mask
from workloads.training.settings import TrainerSettings
from workloads.training.trainer import Trainer

PARTITIONS = 4


def ingest_limit(bootstrap: str, topic: str, count: int, batch: int) -> float:
    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench-raw", "enable.auto.commit": False}
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen, start = 0, time.perf_counter()
    while seen < count:
        seen += sum(1 for m in c.consume(batch, 1.0) if m.error() is None)
    elapsed = time.perf_counter() - start
    c.close()
    return count / elapsed


def compute_limit(records: list[bytes], settings: TrainerSettings) -> float:
    batch = schema.decode_batch(records)
    n = len(batch.labels)
    hold = torch.from_numpy(
        held_out_mask(torch.zeros(n).numpy(), torch.arange(n).numpy(), settings.eval_every)
    )
    x, y = batch.features[~hold], batch.labels[~hold]
    torch.manual_seed(0)
    model = FraudModel(Arch(schema.FEATURE_DIM, settings.width, settings.depth))
    opt = optimizer(model, settings.learning_rate)
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor(settings.pos_weight), reduction="sum"
    )
    start = time.perf_counter()
    for i in range(0, len(y), settings.batch_size):
        opt.zero_grad(set_to_none=True)
        bx, by = x[i : i + settings.batch_size], y[i : i + settings.batch_size]
        loss = loss_fn(model(bx), by) / len(by)
        loss.backward()
        opt.step()
    return n / (time.perf_counter() - start)


def trainer_rate(bootstrap: str, topic: str, count: int, settings: TrainerSettings) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(
            settings,
            KafkaSettings(bootstrap_servers=bootstrap),
            ObjectStore.from_url(f"file://{tmp}"),
            init_distributed(),
        )
        result = trainer.run()  # result.seconds: consume, decode, train, checkpoint, commit
    return count / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with embedded_broker() as bootstrap:
        kafka = KafkaSettings(bootstrap_servers=bootstrap)
        topic = "bench-transactions"
        produce(kafka, args.records, seed=3, topic=topic, partitions=PARTITIONS)
        ensure_topic(kafka, TOPIC_DLQ, 1)
        records = [schema.encode(r) for r in schema.generate(args.records, seed=3)]
        settings = TrainerSettings(
            topic=topic,
            batch_size=args.batch_size,
            max_records=args.records,
            idle_timeout_s=5,
            run_id="bench",
            min_auc=0.0,
        )
        if settings.threads:
            torch.set_num_threads(settings.threads)  # the trainer's setting, for both paths
        ingest = ingest_limit(bootstrap, topic, args.records, args.batch_size)
        compute = compute_limit(records, settings)
        full = trainer_rate(bootstrap, topic, args.records, settings)
    slower = min(ingest, compute)
    print(
        f"records: {args.records}, batch size: {args.batch_size}, torch threads: "
        f"{torch.get_num_threads()}"
    )
    print(f"{'path':<38} {'records/s':>12}")
    print(f"{'raw consume (ingest limit)':<38} {ingest:>12,.0f}")
    print(f"{'steps on in-memory tensors (compute)':<38} {compute:>12,.0f}")
    print(f"{'whole trainer':<38} {full:>12,.0f}")
    print(f"ratio to the slower limit: {full / slower:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
