"""The plain server a user would write instead of ours: FastAPI, one route, the forward pass
on the event loop (no executor, no batching), JSON by orjson (no pydantic models).

Same model (the registry's `latest` of `fraud-detector` in `OBJECT_STORE_URL`, loaded by
`from_bytes`), same response shape as ours, same uvicorn options (uvloop, httptools, one
worker, no access log), torch on one thread. A benchmark baseline, not a server to deploy:
it validates nothing beyond what a KeyError or a bad reshape gives (a 500).

Run: `OBJECT_STORE_URL=file:///... python benchmarks/baselines/fastapi_naive.py --port 8090`
"""

from __future__ import annotations

import argparse
import os

import orjson
import torch
import uvicorn
from fastapi import FastAPI, Request, Response

from workloads.common.model import from_bytes
from workloads.common.objectstore import ObjectStore
from workloads.common.registry import ModelRegistry

MODEL = "fraud-detector"


def create_app(store_url: str) -> FastAPI:
    registry = ModelRegistry(ObjectStore.from_url(store_url), MODEL)
    pointer = registry.latest()
    if pointer is None:
        raise SystemExit(f"no version of {MODEL} in {store_url}")
    version = pointer["version"]
    model = from_bytes(registry.read(version, "model.pt"))
    app = FastAPI()

    @app.get("/v2/health/ready")
    async def ready() -> Response:
        return Response(b"", media_type="application/json")

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request) -> Response:
        body = orjson.loads(await request.body())
        tensor = body["inputs"][0]
        x = torch.tensor(tensor["data"], dtype=torch.float32).reshape(tensor["shape"])
        with torch.inference_mode():
            scores = torch.sigmoid(model(x)).numpy()
        answer = {
            "model_name": name,
            "model_version": version,
            "outputs": [
                {
                    "name": "fraud_probability",
                    "datatype": "FP32",
                    "shape": [len(scores), 1],
                    "data": scores.tolist(),
                }
            ],
        }
        return Response(orjson.dumps(answer), media_type="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    torch.set_num_threads(1)
    app = create_app(os.environ["OBJECT_STORE_URL"])
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
