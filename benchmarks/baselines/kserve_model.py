"""KServe's own answer to our server: a `kserve.Model` subclass under `kserve.ModelServer`
(v2 protocol; uvicorn with uvloop/httptools when installed, one worker), the forward pass in
a synchronous `predict` (KServe calls it on the event loop), no batching.

KServe 0.21 wants protobuf 6 and our gRPC modules protobuf 5, so it runs from a venv of its
own (the benchmark's `--kserve-python`), made with:

    python3 -m venv /tmp/kserve-venv
    /tmp/kserve-venv/bin/pip install torch==2.13.0   # the CPU wheel first: never a bare torch
    /tmp/kserve-venv/bin/pip install kserve==0.21.0 uvloop httptools orjson

It reads the model file directly (`--model-file`) and our code only for `FraudModel`
(`PYTHONPATH` at the repository root). Access and latency logs are off, as ours are.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import kserve
import torch
from kserve import InferOutput, InferRequest, InferResponse

from workloads.common.model import from_bytes

MODEL = "fraud-detector"


class FraudDetector(kserve.Model):
    def __init__(self, name: str, model_file: Path) -> None:
        super().__init__(name)
        self.model_file = model_file
        self.module: torch.nn.Module | None = None

    def load(self) -> bool:
        self.module = from_bytes(self.model_file.read_bytes())
        self.ready = True
        return self.ready

    def predict(
        self, payload: InferRequest, headers: dict[str, str] | None = None, **_: Any
    ) -> InferResponse:
        assert self.module is not None
        x = torch.from_numpy(payload.inputs[0].as_numpy()).float()
        with torch.inference_mode():
            scores = torch.sigmoid(self.module(x)).numpy().reshape(-1, 1)
        output = InferOutput(name="fraud_probability", shape=list(scores.shape), datatype="FP32")
        output.set_data_from_numpy(scores, binary_data=False)
        return InferResponse(
            model_name=self.name, infer_outputs=[output], response_id=payload.id or ""
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        parents=[kserve.model_server.parser], conflict_handler="resolve"
    )
    parser.add_argument("--model-file", type=Path, required=True)
    args, _ = parser.parse_known_args()
    torch.set_num_threads(1)
    model = FraudDetector(MODEL, args.model_file)
    model.load()
    server = kserve.ModelServer(
        http_port=args.http_port,
        workers=1,
        enable_grpc=False,
        enable_latency_logging=False,
        enable_docs_url=False,
    )
    for name in ("uvicorn.access", "kserve.trace"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server.start([model])


if __name__ == "__main__":
    main()
