"""Open Inference Protocol (v2, REST) bodies for the fraud model: parse and answer.

One input tensor, `features`: FP32, shape [n, FEATURE_DIM] (order: `schema.FEATURES`), data
flat in row-major order or nested. One output, `fraud_probability`: FP32, shape [n, 1].
For convenience an infer body may instead be a transaction record (a JSON object without
`inputs`) or a list of them; the answer is then `{"model_name", "model_version", "scores"}`.
Every problem with a body is a `BadRequest`, answered 400 with the protocol's `{"error"}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from workloads.common import schema

INPUT = "features"
OUTPUT = "fraud_probability"
DATATYPES = {"FP32": np.float32, "FP64": np.float64, "FP16": np.float16}


class BadRequest(ValueError):
    """A client mistake in an infer body."""


@dataclass
class InferRequest:
    x: torch.Tensor  # [n, FEATURE_DIM] float32
    id: str | None = None
    records: bool = False  # the convenience form: answer with plain scores


def metadata(name: str, version: str) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [version],
        "platform": "pytorch",
        "inputs": [{"name": INPUT, "datatype": "FP32", "shape": [-1, schema.FEATURE_DIM]}],
        "outputs": [{"name": OUTPUT, "datatype": "FP32", "shape": [-1, 1]}],
        "parameters": {"features": list(schema.FEATURES)},
    }


def parse_infer(body: Any) -> InferRequest:
    if isinstance(body, list) or (isinstance(body, dict) and "inputs" not in body):
        return _records(body)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with `inputs`, or transaction records")
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise BadRequest("`id` must be a string")
    inputs = body["inputs"]
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise BadRequest(f"`inputs` must hold exactly one tensor, `{INPUT}`")
    for wanted in body.get("outputs") or []:
        name = wanted.get("name") if isinstance(wanted, dict) else None
        if name != OUTPUT:
            raise BadRequest(f"unknown output {name!r}: this model has only {OUTPUT!r}")
    return InferRequest(_tensor(inputs[0]), request_id)


def _tensor(spec: dict[str, Any]) -> torch.Tensor:
    name, datatype, shape = spec.get("name"), spec.get("datatype"), spec.get("shape")
    if name != INPUT:
        raise BadRequest(f"unknown input {name!r}: this model takes {INPUT!r}")
    if datatype not in DATATYPES:
        raise BadRequest(f"datatype {datatype!r} not supported for {INPUT!r}: use FP32")
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(type(d) is int for d in shape)
        or shape[0] < 1
        or shape[1] != schema.FEATURE_DIM
    ):
        raise BadRequest(
            f"shape {shape!r} not accepted for {INPUT!r}: use [n, {schema.FEATURE_DIM}]"
        )
    try:
        data = np.asarray(spec.get("data"), dtype=DATATYPES[datatype])
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"`data` of {INPUT!r} must be numbers: {exc}") from None
    if data.size != math.prod(shape) or data.ndim not in (1, 2):
        raise BadRequest(
            f"`data` of {INPUT!r} holds {data.size} values; shape {shape} needs {math.prod(shape)}"
        )
    if not np.isfinite(data).all():
        raise BadRequest(f"`data` of {INPUT!r} holds a non-finite value")
    return torch.from_numpy(data.reshape(shape).astype(np.float32, copy=False))


def _records(body: Any) -> InferRequest:
    records = body if isinstance(body, list) else [body]
    if not records:
        raise BadRequest("no records in the body")
    try:
        return InferRequest(schema.features_from_records(records), records=True)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def infer_response(
    name: str, version: str, request: InferRequest, scores: np.ndarray
) -> dict[str, Any]:
    if request.records:
        return {"model_name": name, "model_version": version, "scores": scores.tolist()}
    answer: dict[str, Any] = {
        "model_name": name,
        "model_version": version,
        "outputs": [
            {"name": OUTPUT, "datatype": "FP32", "shape": [len(scores), 1], "data": scores.tolist()}
        ],
    }
    if request.id is not None:
        answer["id"] = request.id
    return answer
