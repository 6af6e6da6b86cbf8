"""`python -m workloads.inference [flags]`: the Open Inference Protocol server."""

from __future__ import annotations

import sys

import torch

from workloads.common.logs import configure_logging
from workloads.common.objectstore import ObjectStore
from workloads.common.settings import StoreSettings
from workloads.inference.server import serve
from workloads.inference.service import InferenceService
from workloads.inference.settings import parse_server


def main(argv: list[str] | None = None) -> int:
    settings = parse_server(argv)
    configure_logging(settings.log_level)
    try:
        store = ObjectStore.from_settings(StoreSettings())
        if settings.threads:
            torch.set_num_threads(settings.threads)
        service = InferenceService(settings, store)
    except ValueError as exc:
        print(f"invalid environment: {exc}", file=sys.stderr)
        return 2
    return serve(service)


if __name__ == "__main__":
    sys.exit(main())
