"""The Open Inference Protocol's binary tensor data extension (HTTP/REST), as Triton speaks it.

A body with binary tensors is a JSON header followed by raw tensor bytes; the HTTP header
`Inference-Header-Content-Length` gives the JSON's length in bytes. Each binary tensor carries
`"parameters": {"binary_data_size": N}` and no `data`; its bytes follow the JSON in the order the
tensors are listed. Tensors are little-endian, row-major, without padding; BOOL is one byte (0 or
1) per element; BYTES is each element as a 4-byte little-endian unsigned length then the bytes.
`tritonclient` sends inputs this way by default and asks for outputs this way too (per output
`parameters.binary_data: true`, or request-level `parameters.binary_data_output: true`).

Pure functions, bytes in and bytes out: `split_request` reads a request body, `wants_binary`
says whether an output should be answered as binary, `encode_response` writes a response body.
Every client mistake is a `BinaryDataError` (a `ValueError`) with a short message naming the
input. Spec: triton-inference-server/server docs/protocol/extension_binary_data.md.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

HEADER = "Inference-Header-Content-Length"
# What Triton answers with: octet-stream (plus HEADER) when binary data follows the JSON.
BINARY_CONTENT_TYPE = "application/octet-stream"
JSON_CONTENT_TYPE = "application/json"

# v2 datatype -> numpy dtype of its binary form (little-endian; BYTES: Python bytes objects).
DATATYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "BYTES": np.dtype(object),
}
_LENGTH = struct.Struct("<I")


class BinaryDataError(ValueError):
    """A client mistake in a binary tensor body (answer 400)."""


def header_length(value: str | int | None, body_size: int) -> int | None:
    """The JSON header's length from `Inference-Header-Content-Length`, checked against the body."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BinaryDataError(f"{HEADER} must be an integer, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            raise BinaryDataError(f"{HEADER} must be a non-negative integer, got {value!r}")
        value = int(text)
    if not 0 < value <= body_size:
        raise BinaryDataError(f"{HEADER} {value} is out of range: the body has {body_size} bytes")
    return value


def split_request(
    body: bytes, header_length_value: str | int | None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Split an infer request body into its JSON header and its binary input tensors.

    `header_length_value` is the `Inference-Header-Content-Length` header (None when absent: the
    whole body is JSON). Returns the parsed JSON header, unchanged, and an array (native byte
    order, writable, shaped as declared) for every input that carries `binary_data_size`; the
    inputs without it are left for the JSON parser. BYTES arrays hold `bytes` objects.
    """
    view = memoryview(body)
    length = header_length(header_length_value, len(view))
    json_end = len(view) if length is None else length
    try:
        doc = orjson.loads(view[:json_end])
    except orjson.JSONDecodeError as exc:
        if length is None:
            raise BinaryDataError(
                f"the body must be a JSON object (binary tensor data needs the {HEADER} "
                f"header): {exc}"
            ) from None
        raise BinaryDataError(
            f"the first {json_end} bytes of the body ({HEADER}) must be a JSON object: {exc}"
        ) from None
    if not isinstance(doc, dict):
        raise BinaryDataError("the JSON header must be an object")
    inputs = doc.get("inputs")
    if inputs is None:
        inputs = []
    if not isinstance(inputs, list):
        raise BinaryDataError("`inputs` must be a list")

    planned: list[tuple[str, str, list[int], int]] = []
    for index, spec in enumerate(inputs):
        plan = _plan(spec, index)
        if plan is not None:
            if any(plan[0] == seen[0] for seen in planned):
                raise BinaryDataError(f"input {plan[0]!r} appears more than once")
            planned.append(plan)

    remaining = len(view) - json_end
    wanted = sum(size for *_, size in planned)
    if wanted != remaining:
        raise BinaryDataError(_size_mismatch(planned, remaining, length is None))

    arrays: dict[str, np.ndarray] = {}
    offset = json_end
    for name, datatype, shape, size in planned:
        chunk = view[offset : offset + size]
        offset += size
        arrays[name] = _decode(name, datatype, shape, chunk)
    return doc, arrays


def _plan(spec: Any, index: int) -> tuple[str, str, list[int], int] | None:
    if not isinstance(spec, dict):
        raise BinaryDataError(f"input #{index} must be an object")
    name = spec.get("name")
    label = repr(name) if isinstance(name, str) else f"#{index}"
    parameters = spec.get("parameters")
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise BinaryDataError(f"input {label}: `parameters` must be an object")
    if "binary_data_size" not in parameters:
        return None
    size = parameters["binary_data_size"]
    if not isinstance(name, str):
        raise BinaryDataError(f"input {label}: `name` must be a string")
    if type(size) is not int or size < 0:
        raise BinaryDataError(
            f"input {label}: binary_data_size must be a non-negative integer, got {size!r}"
        )
    if "data" in spec:
        raise BinaryDataError(f"input {label}: has both `data` and binary_data_size")
    datatype = spec.get("datatype")
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise BinaryDataError(
            f"input {label}: unknown datatype {datatype!r} (one of {', '.join(DATATYPES)})"
        )
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise BinaryDataError(
            f"input {label}: shape must be a list of non-negative integers, got {shape!r}"
        )
    if datatype != "BYTES":
        expected = math.prod(shape) * DATATYPES[datatype].itemsize
        if size != expected:
            raise BinaryDataError(
                f"input {label}: binary_data_size {size} does not match shape {shape} "
                f"of {datatype} ({expected} bytes)"
            )
    return name, datatype, shape, size


def _size_mismatch(
    planned: list[tuple[str, str, list[int], int]], remaining: int, no_header: bool
) -> str:
    if no_header and planned:
        name = planned[0][0]
        return f"input {name!r}: binary data sent without the {HEADER} header"
    offset = 0
    for name, _, _, size in planned:
        if offset + size > remaining:
            return (
                f"input {name!r}: binary_data_size {size} but only "
                f"{max(remaining - offset, 0)} bytes remain after the JSON header"
            )
        offset += size
    if planned:
        last = planned[-1][0]
        return f"{remaining - offset} unexpected bytes after the binary data of input {last!r}"
    return f"{remaining} unexpected bytes after the JSON header, and no input has binary_data_size"


def _decode(name: str, datatype: str, shape: list[int], chunk: memoryview) -> np.ndarray:
    if datatype == "BYTES":
        return _decode_bytes(name, shape, chunk)
    dtype = DATATYPES[datatype]
    if datatype == "BOOL":
        raw = np.frombuffer(chunk, dtype=np.uint8)
        if raw.size and int(raw.max()) > 1:
            raise BinaryDataError(f"input {name!r}: BOOL elements must be bytes 0 or 1")
    flat = np.frombuffer(chunk, dtype=dtype)
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _decode_bytes(name: str, shape: list[int], chunk: memoryview) -> np.ndarray:
    count = math.prod(shape)
    items: list[bytes] = []
    offset, end = 0, len(chunk)
    while offset < end:
        if len(items) == count:
            raise BinaryDataError(
                f"input {name!r}: BYTES data holds more than the {count} elements of shape {shape}"
            )
        if end - offset < _LENGTH.size:
            raise BinaryDataError(
                f"input {name!r}: BYTES element {len(items)} has a truncated 4-byte length prefix"
            )
        (size,) = _LENGTH.unpack_from(chunk, offset)
        offset += _LENGTH.size
        if size > end - offset:
            raise BinaryDataError(
                f"input {name!r}: BYTES element {len(items)} claims {size} bytes "
                f"but only {end - offset} remain"
            )
        items.append(bytes(chunk[offset : offset + size]))
        offset += size
    if len(items) != count:
        raise BinaryDataError(
            f"input {name!r}: BYTES data holds {len(items)} elements; shape {shape} needs {count}"
        )
    array = np.empty(count, dtype=object)
    array[:] = items
    return array.reshape(shape)


def inline_inputs(doc: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """A copy of the JSON header with each binary input's values put in as its `data`.

    For a JSON-only parser (such as `protocol.parse_infer`): `binary_data_size` is dropped and
    `data` becomes the flat row-major list of Python values, exactly as a JSON body would hold it
    (BYTES elements as UTF-8 strings; one that is not UTF-8 is a `BinaryDataError`). The parser's
    own checks (shape, datatype, finite values) then apply to binary and JSON bodies alike.
    """
    out = dict(doc)
    inputs = []
    for spec in doc.get("inputs") or []:
        name = spec.get("name") if isinstance(spec, dict) else None
        if isinstance(name, str) and name in arrays:
            spec = dict(spec)
            parameters = {
                k: v for k, v in (spec.get("parameters") or {}).items() if k != "binary_data_size"
            }
            if parameters:
                spec["parameters"] = parameters
            else:
                spec.pop("parameters", None)
            spec["data"] = _as_json_data(name, arrays[name])
        inputs.append(spec)
    if "inputs" in doc:
        out["inputs"] = inputs
    return out


def _as_json_data(name: str, array: np.ndarray) -> list[Any]:
    flat = np.asarray(array).ravel(order="C")
    if flat.dtype != object:
        return list(flat.tolist())
    try:
        return [i.decode("utf-8") if isinstance(i, bytes) else str(i) for i in flat]
    except UnicodeDecodeError:
        raise BinaryDataError(f"input {name!r}: a BYTES element is not UTF-8 text") from None


def wants_binary(request_doc: Mapping[str, Any], output_name: str) -> bool:
    """Whether `output_name` should be answered as binary data.

    The spec's precedence: the requested output's `parameters.binary_data` if given, else the
    request's `parameters.binary_data_output`, else JSON. (Triton's server applies
    `binary_data_output` only to outputs the request does not list; tritonclient always sets
    `binary_data` on the outputs it lists, so the two agree for tritonclient.)
    """
    for wanted in request_doc.get("outputs") or []:
        if isinstance(wanted, dict) and wanted.get("name") == output_name:
            parameters = wanted.get("parameters")
            if isinstance(parameters, dict) and "binary_data" in parameters:
                flag = parameters["binary_data"]
                if not isinstance(flag, bool):
                    raise BinaryDataError(
                        f"output {output_name!r}: binary_data must be true or false, got {flag!r}"
                    )
                return flag
            break
    parameters = request_doc.get("parameters")
    if isinstance(parameters, dict) and "binary_data_output" in parameters:
        flag = parameters["binary_data_output"]
        if not isinstance(flag, bool):
            raise BinaryDataError(f"binary_data_output must be true or false, got {flag!r}")
        return flag
    return False


def encode_tensor(datatype: str, array: np.ndarray) -> bytes:
    """The binary form of a tensor: little-endian, row-major; BYTES length-prefixed."""
    if datatype not in DATATYPES:
        raise ValueError(f"unknown datatype {datatype!r}")
    if datatype == "BYTES":
        parts: list[bytes] = []
        for item in np.asarray(array, dtype=object).ravel(order="C"):
            raw = item if isinstance(item, bytes) else str(item).encode("utf-8")
            parts.append(_LENGTH.pack(len(raw)))
            parts.append(raw)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=DATATYPES[datatype]).tobytes(order="C")


def datatype_of(array: np.ndarray) -> str:
    """The v2 datatype of a numpy array (object and bytes/str arrays are BYTES)."""
    kind = np.asarray(array).dtype
    if kind.kind in "OSU":
        return "BYTES"
    for name, dtype in DATATYPES.items():
        if name != "BYTES" and dtype.newbyteorder("=") == kind.newbyteorder("="):
            return name
    raise ValueError(f"no v2 datatype for numpy dtype {kind}")


def encode_response(
    doc: Mapping[str, Any], binary_outputs: Mapping[str, np.ndarray]
) -> tuple[bytes, int]:
    """A response body: the JSON of `doc`, then the bytes of each output in `binary_outputs`.

    Each output of `doc["outputs"]` named in `binary_outputs` loses `data` and gains
    `parameters.binary_data_size` (its `datatype` and `shape` are filled from the array when
    missing); its bytes follow the JSON in output order. Returns the body and the JSON's length in
    bytes, for `Inference-Header-Content-Length`. `doc` is not modified. A name in
    `binary_outputs` that `doc` does not list, or a shape that disagrees with the array, is a
    server bug: `ValueError`.
    """
    out = dict(doc)
    outputs: list[Any] = []
    blobs: list[bytes] = []
    seen: set[str] = set()
    for spec in doc.get("outputs") or []:
        name = spec.get("name") if isinstance(spec, dict) else None
        if not isinstance(name, str) or name not in binary_outputs:
            outputs.append(spec)
            continue
        seen.add(name)
        array = np.asarray(binary_outputs[name])
        spec = dict(spec)
        spec.pop("data", None)
        datatype = spec.setdefault("datatype", datatype_of(array))
        shape = spec.setdefault("shape", list(array.shape))
        if math.prod(shape) != array.size:
            raise ValueError(f"output {name!r}: shape {shape} but the array has {array.size}")
        raw = encode_tensor(datatype, array)
        spec["parameters"] = {**(spec.get("parameters") or {}), "binary_data_size": len(raw)}
        outputs.append(spec)
        blobs.append(raw)
    missing = set(binary_outputs) - seen
    if missing:
        raise ValueError(f"binary outputs {sorted(missing)} are not in the response's outputs")
    if "outputs" in doc or outputs:
        out["outputs"] = outputs
    header = orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY)
    return header + b"".join(blobs), len(header)
