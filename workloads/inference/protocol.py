"""Open Inference Protocol (v2, REST) bodies for the fraud model: parse and answer.

One input tensor, `features`: FP32 (or FP64/FP16), shape [n, FEATURE_DIM] (order:
`schema.FEATURES`), data flat in row-major order (exactly n * FEATURE_DIM numbers) or nested
exactly as the shape says (n lists of FEATURE_DIM numbers). One output, `fraud_probability`:
FP32, shape [n, 1]. For convenience an infer body may instead be a transaction record (a JSON
object without `inputs`) or a list of them; the answer is then
`{"model_name", "model_version", "scores"}`.

Parsing is strict: numbers only (a JSON boolean or a numeric string is not a number), values
must fit the datatype and the model's FP32 input once cast, `shape` entries are non-negative
integers, names are strings, `parameters` are objects, `outputs` is a list of objects with a
string `name`. At most `MAX_ROWS` rows per request (`TooLarge`, answered 413; checked before
the data is read). Every other problem with a body is a `BadRequest`, answered 400 with the
protocol's `{"error"}`; messages name the field (`inputs[0].shape`) and never echo more than a
short excerpt of what the client sent.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from workloads.common import schema
from workloads.inference import binary

INPUT = "features"
OUTPUT = "fraud_probability"
DATATYPES = {"FP32": np.float32, "FP64": np.float64, "FP16": np.float16}
MAX_ROWS = 8192  # rows (tensor rows or records) per request; more is a 413
MAX_PROBLEMS = 5  # problems listed in one error message; the rest are "and N more"
_NUMBERS = frozenset((int, float))  # `bool` is its own type: never a number here
_PROTOCOL_KEYS = frozenset(("id", "outputs", "parameters"))
_KINDS = {bool: "boolean", type(None): "null", str: "string", list: "array", dict: "object"}


class BadRequest(ValueError):
    """A client mistake in an infer body."""


class TooLarge(BadRequest):
    """More rows than `MAX_ROWS`: 413."""


@dataclass
class InferRequest:
    x: torch.Tensor  # [n, FEATURE_DIM] float32
    id: str | None = None
    records: bool = False  # the convenience form: answer with plain scores
    binary_output: bool = False  # answer `scores` as raw bytes (the binary data extension)


def metadata(name: str, version: str) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [version],
        "platform": "pytorch",
        "inputs": [{"name": INPUT, "datatype": "FP32", "shape": [-1, schema.FEATURE_DIM]}],
        "outputs": [{"name": OUTPUT, "datatype": "FP32", "shape": [-1, 1]}],
        "parameters": {"features": list(schema.FEATURES)},
    }


def show(value: Any, limit: int = 64) -> str:
    """A short, safe excerpt of a client value for an error message: strings and numbers
    quoted (clipped), containers by type only (their repr could be huge or recurse deep)."""
    if isinstance(value, str):
        text = repr(value[:limit]) + ("..." if len(value) > limit else "")
        return text
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return repr(value)[:limit]
    return f"a JSON {json_type(value)}"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def problems(items: list[str], limit: int = MAX_PROBLEMS) -> str:
    """`a; b; c; and N more`: a bounded list of problems."""
    shown = "; ".join(items[:limit])
    return shown + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def parse_infer(body: Any, max_rows: int = MAX_ROWS) -> InferRequest:
    if isinstance(body, list) or (
        isinstance(body, dict) and "inputs" not in body and not (_PROTOCOL_KEYS & body.keys())
    ):
        return _records(body, max_rows)
    if not isinstance(body, dict):
        raise BadRequest(
            "the body must be a JSON object with `inputs`, or transaction records, "
            f"not {show(body)}"
        )
    if "inputs" not in body:
        raise BadRequest("`inputs` is missing: the body must hold one tensor, `features`")
    request_id = body.get("id")
    if "id" in body and not isinstance(request_id, str):
        raise BadRequest(f"`id` must be a string, not {show(request_id)}")
    _parameters(body, "parameters")
    inputs = body["inputs"]
    if not isinstance(inputs, list) or len(inputs) != 1:
        got = f"{len(inputs)} tensors" if isinstance(inputs, list) else show(inputs)
        raise BadRequest(f"`inputs` must be a list of exactly one tensor, `{INPUT}`; got {got}")
    if not isinstance(inputs[0], dict):
        raise BadRequest(
            f"`inputs[0]` must be an object (exactly one tensor, `{INPUT}`), not {show(inputs[0])}"
        )
    _outputs(body)
    try:
        wants = binary.wants_binary(body, OUTPUT)
    except binary.BinaryDataError as exc:
        raise BadRequest(str(exc)) from None
    return InferRequest(_tensor(inputs[0], max_rows), request_id, binary_output=wants)


def _parameters(spec: dict[str, Any], where: str) -> None:
    if "parameters" in spec and not isinstance(spec["parameters"], dict):
        raise BadRequest(f"`{where}` must be an object, not {show(spec['parameters'])}")


def _outputs(body: dict[str, Any]) -> None:
    if "outputs" not in body:
        return
    outputs = body["outputs"]
    if not isinstance(outputs, list):
        raise BadRequest(f"`outputs` must be a list of objects, not {show(outputs)}")
    for i, wanted in enumerate(outputs):
        if not isinstance(wanted, dict):
            raise BadRequest(f"`outputs[{i}]` must be an object, not {show(wanted)}")
        if "name" not in wanted:
            raise BadRequest(f"`outputs[{i}].name` is missing")
        name = wanted["name"]
        if not isinstance(name, str):
            raise BadRequest(f"`outputs[{i}].name` must be a string, not {show(name)}")
        if name != OUTPUT:
            raise BadRequest(
                f"unknown output {show(name)} in `outputs[{i}].name`: "
                f"this model has only {OUTPUT!r}"
            )
        _parameters(wanted, f"outputs[{i}].parameters")


def _dims(shape: list[int]) -> str:
    if len(shape) <= 8:
        return str(shape)
    return f"[{', '.join(map(str, shape[:8]))}, ...] ({len(shape)} entries)"


def _shape(shape: Any, max_rows: int) -> list[int]:
    where, dim = "`inputs[0].shape`", schema.FEATURE_DIM
    if not isinstance(shape, list) or not all(type(d) is int for d in shape):
        raise BadRequest(
            f"{where} must be a list of non-negative integers, [n, {dim}]; not {show(shape)}"
        )
    if any(d < 0 for d in shape):
        raise BadRequest(f"{where}: shape {_dims(shape)} holds a negative size: use [n, {dim}]")
    if len(shape) != 2 or shape[0] < 1 or shape[1] != dim:
        raise BadRequest(
            f"{where}: shape {_dims(shape)} not accepted for {INPUT!r}: use [n, {dim}], n >= 1"
        )
    if shape[0] > max_rows:
        raise TooLarge(f"{where}: {shape[0]} rows is over the limit of {max_rows} rows")
    return shape


def _tensor(spec: dict[str, Any], max_rows: int) -> torch.Tensor:
    name, datatype = spec.get("name"), spec.get("datatype")
    if not isinstance(name, str):
        raise BadRequest(f"`inputs[0].name` must be a string, not {show(name)}")
    if name != INPUT:
        raise BadRequest(f"unknown input {show(name)}: this model takes {INPUT!r}")
    if not isinstance(datatype, str):
        raise BadRequest(
            f"`inputs[0].datatype` must be a string such as 'FP32', not {show(datatype)}"
        )
    if datatype not in DATATYPES:
        raise BadRequest(
            f"datatype {show(datatype)} not supported for {INPUT!r}: use FP32 (or FP64, FP16)"
        )
    _parameters(spec, "inputs[0].parameters")
    rows, cols = _shape(spec.get("shape"), max_rows)
    data = spec.get("data")
    values = _values(data, rows, cols)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
        try:
            array = np.asarray(values, dtype=DATATYPES[datatype])
        except (TypeError, ValueError, OverflowError) as exc:  # a huge integer, say
            raise BadRequest(f"`inputs[0].data` does not fit {datatype}: {exc}") from None
        if not np.isfinite(array).all():
            raise BadRequest(
                f"`inputs[0].data` holds a value outside the range of {datatype}"
                f" (first at flat index {int(np.argmin(np.isfinite(array)))})"
            )
        x = array.reshape(rows, cols).astype(np.float32, copy=False)
        if not np.isfinite(x).all():
            raise BadRequest(
                f"`inputs[0].data` holds a {datatype} value outside the range of the model's FP32 "
                f"input (first at flat index {int(np.argmin(np.isfinite(x.ravel())))})"
            )
    return torch.from_numpy(x)


def _values(data: Any, rows: int, cols: int) -> list[Any]:
    """The flat list of `data`, checked: numbers only, exactly as many as the shape says, in
    one of the two layouts (flat, or nested exactly as the shape)."""
    where, need = "`inputs[0].data`", rows * cols
    if not isinstance(data, list):
        raise BadRequest(f"{where} must be a list of numbers, not {show(data)}")
    kinds = set(map(type, data))
    if list in kinds:  # nested: exactly `rows` lists of `cols` numbers
        if kinds != {list}:
            raise BadRequest(f"{where} mixes lists and values: nest it exactly as the shape")
        lengths = set(map(len, data))
        if len(data) != rows or lengths != {cols}:
            raise BadRequest(
                f"{where} is nested as {len(data)} lists of "
                f"{'/'.join(str(n) for n in sorted(lengths)[:4])}"
                f"{'/...' if len(lengths) > 4 else ''} values; shape {[rows, cols]} needs "
                f"{rows} lists of {cols}"
            )
        flat = list(itertools.chain.from_iterable(data))
        kinds = set(map(type, flat))
    else:
        if len(data) != need:
            raise BadRequest(f"{where} holds {len(data)} values; shape {[rows, cols]} needs {need}")
        flat = data
    if not kinds <= _NUMBERS:
        wrong = sorted(_KINDS.get(k, k.__name__) for k in kinds - _NUMBERS)
        raise BadRequest(f"{where} must hold numbers only; it holds {', '.join(wrong)} values")
    return flat


def _records(body: Any, max_rows: int) -> InferRequest:
    records = body if isinstance(body, list) else [body]
    if not records:
        raise BadRequest("no records in the body")
    if len(records) > max_rows:
        raise TooLarge(f"{len(records)} records is over the limit of {max_rows} rows")
    try:
        return InferRequest(schema.features_from_records(records), records=True)
    except ValueError as exc:
        first, *rest = str(exc).split("; record ")
        raise BadRequest(problems([first, *(f"record {r}" for r in rest)])) from None


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
