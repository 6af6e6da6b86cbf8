"""`python -m workloads.training [flags]`, alone or as `torchrun ... -m workloads.training`."""

from __future__ import annotations

import json
import logging
import os
import sys

from workloads.common.logs import configure_logging
from workloads.common.objectstore import ObjectNotFound, ObjectStore
from workloads.common.settings import KafkaSettings, StoreSettings
from workloads.training.distributed import init_distributed
from workloads.training.settings import parse_settings
from workloads.training.source import EXIT_BROKER_UNAVAILABLE, BrokerUnavailable
from workloads.training.trainer import Trainer

EXIT_GATE_FAILED = 3


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    settings = parse_settings(argv)
    try:
        kafka, store_settings = KafkaSettings(), StoreSettings()
    except ValueError as exc:
        print(f"invalid environment: {exc}", file=sys.stderr)
        return 2
    ctx = init_distributed()
    try:
        result = Trainer(settings, kafka, ObjectStore.from_settings(store_settings), ctx).run()
    except BrokerUnavailable as exc:  # retried by the Job: resumes from the last checkpoint
        logging.getLogger("workloads.training").error(
            "broker unavailable", extra={"error": str(exc)}
        )
        print(f"training stopped: {exc}; exit {EXIT_BROKER_UNAVAILABLE}", file=sys.stderr)
        return EXIT_BROKER_UNAVAILABLE
    except (
        RuntimeError,
        PermissionError,
        ObjectNotFound,
    ) as exc:  # a missing topic, lost checkpoints, ...
        logging.getLogger("workloads.training").error("training failed", extra={"error": str(exc)})
        print(f"training failed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the object store unreachable: retried like a broker outage
        logging.getLogger("workloads.training").error(
            "object store unavailable", extra={"error": str(exc)}
        )
        print(
            f"training stopped: object store unavailable: {exc}; exit {EXIT_BROKER_UNAVAILABLE}",
            file=sys.stderr,
        )
        return EXIT_BROKER_UNAVAILABLE
    finally:
        ctx.close()
    if ctx.is_primary:
        summary = {
            "steps": result.steps,
            "trained": result.trained,
            "held_out": result.held_out,
            "dead_lettered": result.dead_lettered,
            "seconds": round(result.seconds, 2),
            "version": result.version,
            "promoted": result.promoted,
            **result.metrics,
        }
        print(json.dumps(summary))
        logging.getLogger("workloads.training").info("done", extra=summary)
        if settings.fail_on_gate and result.version and not result.promoted:
            return EXIT_GATE_FAILED
    return 0


if __name__ == "__main__":
    code = main()
    if code == EXIT_BROKER_UNAVAILABLE:  # a commit is stuck in librdkafka, whose teardown at
        sys.stdout.flush()  # interpreter exit would wait for it for ever: leave at once
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
