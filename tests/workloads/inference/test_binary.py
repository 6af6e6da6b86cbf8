"""The binary tensor data extension against tritonclient's own encoder and decoder, bit for bit,
and every malformed binary body named."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from workloads.common import schema
from workloads.inference.binary import (
    DATATYPES,
    HEADER,
    BinaryDataError,
    datatype_of,
    encode_response,
    encode_tensor,
    inline_inputs,
    split_request,
    wants_binary,
)
from workloads.inference.protocol import parse_infer


@pytest.fixture(scope="module")
def http() -> Any:
    return pytest.importorskip("tritonclient.http")


def sample(datatype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    count = int(np.prod(shape))
    if datatype == "BYTES":
        items = [rng.bytes(int(rng.integers(0, 9))) for _ in range(count)]
        if count:
            items[0] = b""
        if count > 1:
            items[1] = "né\x00".encode()
        array = np.empty(count, dtype=object)
        array[:] = items
        return array.reshape(shape)
    if datatype == "BOOL":
        return rng.integers(0, 2, size=shape).astype(bool)
    dtype = DATATYPES[datatype].newbyteorder("=")
    if dtype.kind == "f":
        values = rng.standard_normal(size=count).astype(dtype)
        specials = np.array([np.nan, np.inf, -np.inf, -0.0], dtype=dtype)
        values[: min(count, 4)] = specials[: min(count, 4)]
        return values.reshape(shape)
    info = np.iinfo(dtype)
    values = rng.integers(info.min, info.max, size=count, dtype=dtype, endpoint=True)
    if count >= 2:
        values[0], values[1] = info.min, info.max
    return values.reshape(shape)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype == object or b.dtype == object:
        return bool(a.dtype == b.dtype == object) and list(a.ravel()) == list(b.ravel())
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


ALL_TYPES = list(DATATYPES)
SHAPES = [(2, 3), (5,), (1, 1, 4), (0, 3)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("datatype", ALL_TYPES)
def test_tritonclient_requests_split_bit_for_bit(http: Any, datatype: str, shape: tuple[int, ...]):
    x = sample(datatype, shape, seed=len(shape))
    tensor = http.InferInput("x", list(shape), datatype)
    tensor.set_data_from_numpy(x, binary_data=True)
    body, json_size = http.InferenceServerClient.generate_request_body([tensor])
    assert json_size is not None
    doc, arrays = split_request(body, str(json_size))
    assert set(arrays) == {"x"}
    assert same(arrays["x"], x), (arrays["x"], x)
    assert doc["inputs"][0]["parameters"]["binary_data_size"] == len(encode_tensor(datatype, x))
    if datatype != "BYTES":
        assert arrays["x"].flags.writeable and arrays["x"].dtype.isnative


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("datatype", ALL_TYPES)
def test_binary_responses_decode_in_tritonclient_bit_for_bit(
    http: Any, datatype: str, shape: tuple[int, ...]
):
    y = sample(datatype, shape, seed=7)
    doc = {"model_name": "m", "model_version": "1", "outputs": [{"name": "y"}]}
    body, json_size = encode_response(doc, {"y": y})
    result = http.InferenceServerClient.parse_response_body(body, header_length=json_size)
    got = result.as_numpy("y")
    if datatype == "BOOL":
        assert got.dtype == np.bool_
    assert same(got, y), (got, y)
    out = result.get_output("y")
    assert out["datatype"] == datatype and out["shape"] == list(shape) and "data" not in out
    assert out["parameters"]["binary_data_size"] == len(body) - json_size
    assert doc == {"model_name": "m", "model_version": "1", "outputs": [{"name": "y"}]}


def test_mixed_json_and_binary_inputs_in_order(http: Any):
    a, b, c = sample("FP32", (2, 2), 1), sample("INT64", (3,), 2), sample("BYTES", (2,), 3)
    d = sample("FP16", (4,), 4)
    inputs = []
    for name, arr, datatype, binary in (
        ("a", a, "FP32", True),
        ("j", np.array([1, 2, 3], dtype=np.int32), "INT32", False),
        ("b", b, "INT64", True),
        ("c", c, "BYTES", True),
        ("k", np.array([True, False]), "BOOL", False),
        ("d", d, "FP16", True),
    ):
        tensor = http.InferInput(name, list(arr.shape), datatype)
        tensor.set_data_from_numpy(arr, binary_data=binary)
        inputs.append(tensor)
    outputs = [http.InferRequestedOutput("y"), http.InferRequestedOutput("z", binary_data=False)]
    body, json_size = http.InferenceServerClient.generate_request_body(
        inputs, outputs=outputs, request_id="r-1"
    )
    doc, arrays = split_request(body, json_size)
    assert list(arrays) == ["a", "b", "c", "d"]
    for name, arr in (("a", a), ("b", b), ("c", c), ("d", d)):
        assert same(arrays[name], arr)
    assert doc["id"] == "r-1"
    assert doc["inputs"][1]["data"] == [1, 2, 3] and doc["inputs"][4]["data"] == [True, False]
    assert wants_binary(doc, "y") and not wants_binary(doc, "z")


def test_tritonclient_without_outputs_asks_for_all_binary(http: Any):
    tensor = http.InferInput("x", [1], "FP32")
    tensor.set_data_from_numpy(np.array([1.5], dtype=np.float32), binary_data=False)
    body, json_size = http.InferenceServerClient.generate_request_body([tensor])
    assert json_size is None  # no binary input: the whole body is JSON, no header
    doc, arrays = split_request(body, None)
    assert arrays == {} and doc["inputs"][0]["data"] == [1.5]
    assert wants_binary(doc, "anything")


def test_mixed_json_and_binary_outputs_decode(http: Any):
    y, w = sample("FP64", (2, 2), 5), sample("BYTES", (3,), 6)
    doc = {
        "model_name": "m",
        "id": "r-9",
        "outputs": [
            {"name": "y", "datatype": "FP64", "shape": [2, 2], "data": [0, 0, 0, 0]},
            {"name": "z", "datatype": "INT32", "shape": [2], "data": [4, 5]},
            {"name": "w", "datatype": "BYTES", "shape": [3], "parameters": {"x": 1}},
        ],
    }
    body, json_size = encode_response(doc, {"y": y, "w": w})
    result = http.InferResult.from_response_body(body, header_length=json_size)
    assert same(result.as_numpy("y"), y) and same(result.as_numpy("w"), w)
    assert result.as_numpy("z").tolist() == [4, 5]
    assert result.get_output("w")["parameters"]["x"] == 1
    header = orjson.loads(body[:json_size])
    assert header["id"] == "r-9" and "data" not in header["outputs"][0]
    assert header["outputs"][2]["parameters"]["x"] == 1
    sizes = [o.get("parameters", {}).get("binary_data_size") for o in header["outputs"]]
    assert sizes == [32, None, len(encode_tensor("BYTES", w))]
    assert json_size + 32 + sizes[2] == len(body)


def test_the_spec_example_request():
    header = orjson.dumps(
        {
            "model_name": "mymodel",
            "inputs": [
                {
                    "name": "input0",
                    "shape": [2, 2],
                    "datatype": "UINT32",
                    "parameters": {"binary_data_size": 16},
                },
                {
                    "name": "input1",
                    "shape": [3],
                    "datatype": "BOOL",
                    "parameters": {"binary_data_size": 3},
                },
            ],
            "outputs": [{"name": "output0", "parameters": {"binary_data": True}}],
        }
    )
    blob = np.arange(4, dtype="<u4").tobytes() + b"\x01\x00\x01"
    doc, arrays = split_request(header + blob, f" {len(header)} ")
    assert arrays["input0"].tolist() == [[0, 1], [2, 3]]
    assert arrays["input1"].tolist() == [True, False, True]
    assert wants_binary(doc, "output0")


def test_a_plain_json_body_needs_no_header():
    body = orjson.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]})
    doc, arrays = split_request(body, None)
    assert arrays == {} and doc["inputs"][0]["data"] == [1]
    # an empty binary tensor needs no bytes, so no header either
    empty = {"name": "e", "shape": [0], "datatype": "FP32", "parameters": {"binary_data_size": 0}}
    _, arrays = split_request(orjson.dumps({"inputs": [empty]}), None)
    assert arrays["e"].shape == (0,)


def test_inlined_binary_features_parse_like_json(http: Any):
    x = np.random.default_rng(3).standard_normal((4, schema.FEATURE_DIM)).astype(np.float32)
    tensor = http.InferInput("features", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    body, json_size = http.InferenceServerClient.generate_request_body(
        [tensor], outputs=[http.InferRequestedOutput("fraud_probability")], request_id="b-1"
    )
    doc, arrays = split_request(body, str(json_size))
    inlined = inline_inputs(doc, arrays)
    assert "parameters" not in inlined["inputs"][0]
    assert "data" not in doc["inputs"][0]  # the original is left alone
    assert inlined["inputs"][0]["data"] == x.ravel().tolist()
    job = parse_infer(inlined)
    assert job.id == "b-1" and job.x.numpy().tobytes() == x.tobytes()


def test_inlined_bytes_become_strings():
    spec = {"name": "s", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 13}}
    doc, arrays = split_request(*build([spec], prefixed(b"ab", "h\u00e9".encode())))
    assert inline_inputs(doc, arrays)["inputs"][0] == {**BYTES2, "data": ["ab", "h\u00e9"]}
    spec["parameters"] = {"binary_data_size": 6}
    doc, arrays = split_request(*build([{**spec, "shape": [1]}], prefixed(b"\xff\xfe")))
    with pytest.raises(BinaryDataError, match=r"input 's'.*UTF-8"):
        inline_inputs(doc, arrays)


def test_wants_binary_precedence():
    def req(output_params: dict[str, Any] | None, request_params: dict[str, Any] | None):
        out: dict[str, Any] = {"name": "y"}
        if output_params is not None:
            out["parameters"] = output_params
        doc: dict[str, Any] = {"outputs": [{"name": "other"}, out]}
        if request_params is not None:
            doc["parameters"] = request_params
        return doc

    assert wants_binary(req({"binary_data": True}, None), "y")
    assert not wants_binary(req({"binary_data": False}, {"binary_data_output": True}), "y")
    assert wants_binary(req({"binary_data": True}, {"binary_data_output": False}), "y")
    assert wants_binary(req({}, {"binary_data_output": True}), "y")
    assert wants_binary(req(None, {"binary_data_output": True}), "y")
    assert not wants_binary(req(None, None), "y")
    assert not wants_binary({}, "y")
    assert wants_binary({"parameters": {"binary_data_output": True}}, "y")
    with pytest.raises(BinaryDataError, match="'y'"):
        wants_binary(req({"binary_data": "yes"}, None), "y")
    with pytest.raises(BinaryDataError, match="binary_data_output"):
        wants_binary(req(None, {"binary_data_output": 1}), "y")


def test_encode_response_rejects_server_mistakes():
    with pytest.raises(ValueError, match="not in the response"):
        encode_response({"outputs": [{"name": "y"}]}, {"q": np.zeros(1)})
    with pytest.raises(ValueError, match="shape"):
        encode_response({"outputs": [{"name": "y", "shape": [3]}]}, {"y": np.zeros(2)})


def test_datatype_of_numpy_arrays():
    assert datatype_of(np.zeros(1, dtype=">f4")) == "FP32"
    assert datatype_of(np.zeros(1, dtype=bool)) == "BOOL"
    assert datatype_of(np.array([b"a"])) == "BYTES"
    assert datatype_of(np.zeros(1, dtype=np.uint16)) == "UINT16"
    # big-endian input still goes out little-endian
    assert encode_tensor("FP32", np.array([1.0], dtype=">f4")) == np.array([1.0], "<f4").tobytes()


# --- malformed bodies -------------------------------------------------------------------------


def fp32(name: str = "x", shape: Any = None, size: Any = 8, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "shape": shape or [2], "datatype": "FP32"}
    spec["parameters"] = {"binary_data_size": size}
    spec.update(extra)
    return spec


def build(inputs: list[Any], blob: bytes, header: Any = "auto") -> tuple[bytes, Any]:
    head = orjson.dumps({"inputs": inputs})
    return head + blob, (str(len(head)) if header == "auto" else header)


def prefixed(*items: bytes) -> bytes:
    return b"".join(len(i).to_bytes(4, "little") + i for i in items)


GOOD = np.zeros(2, dtype="<f4").tobytes()
BYTES2 = {"name": "s", "shape": [2], "datatype": "BYTES"}

MALFORMED = {
    "header-not-int": ([fp32()], GOOD, "12a", HEADER),
    "header-negative": ([fp32()], GOOD, "-5", HEADER),
    "header-float": ([fp32()], GOOD, "5.0", HEADER),
    "header-zero": ([fp32()], GOOD, "0", HEADER),
    "header-beyond-body": ([fp32()], GOOD, "100000", HEADER),
    "header-cuts-json": ([fp32()], GOOD, "10", "JSON"),
    "no-header-but-binary": ([fp32()], GOOD, None, HEADER),
    "no-header-size-given": ([fp32(size=4, shape=[1])], b"", None, "input 'x'.*without"),
    "too-few-bytes": ([fp32(), fp32("y")], GOOD + b"\0" * 4, "auto", "input 'y'.*only 4"),
    "extra-bytes": (
        [fp32()],
        GOOD + b"\0",
        "auto",
        "1 unexpected bytes after the binary data of input 'x'",
    ),
    "extra-bytes-no-binary": ([{"name": "j", "data": [1]}], b"\0", "auto", "no input"),
    "unknown-datatype": ([fp32(datatype="FP8")], GOOD, "auto", "input 'x'.*datatype 'FP8'"),
    "size-string": ([fp32(size="8")], GOOD, "auto", "input 'x'.*binary_data_size"),
    "size-negative": ([fp32(size=-8)], GOOD, "auto", "input 'x'.*binary_data_size"),
    "size-bool": ([fp32(size=True)], GOOD, "auto", "input 'x'.*binary_data_size"),
    "size-float": ([fp32(size=8.0)], GOOD, "auto", "input 'x'.*binary_data_size"),
    "data-and-size": ([fp32(data=[1, 2])], GOOD, "auto", "input 'x'.*both"),
    "size-vs-shape": ([fp32(shape=[3])], GOOD, "auto", "input 'x'.*does not match shape"),
    "bad-shape": ([fp32(shape=[-1, 2])], GOOD, "auto", "input 'x'.*shape"),
    "shape-not-list": ([fp32(shape="2")], GOOD, "auto", "input 'x'.*shape"),
    "bool-not-0-1": (
        [{"name": "b", "shape": [2], "datatype": "BOOL", "parameters": {"binary_data_size": 2}}],
        b"\x01\x02",
        "auto",
        "input 'b'.*0 or 1",
    ),
    "bytes-truncated-prefix": (
        [{**BYTES2, "parameters": {"binary_data_size": 7}}],
        prefixed(b"a") + b"\0\0",
        "auto",
        "input 's'.*truncated",
    ),
    "bytes-element-overruns": (
        [{**BYTES2, "parameters": {"binary_data_size": 9}}],
        prefixed(b"a") + (10).to_bytes(4, "little"),
        "auto",
        "input 's'.*claims 10 bytes",
    ),
    "bytes-too-few-elements": (
        [{**BYTES2, "parameters": {"binary_data_size": 5}}],
        prefixed(b"a"),
        "auto",
        "input 's'.*holds 1 elements",
    ),
    "bytes-too-many-elements": (
        [{**BYTES2, "parameters": {"binary_data_size": 15}}],
        prefixed(b"a", b"b", b"c"),
        "auto",
        "input 's'.*more than the 2",
    ),
    "duplicate-name": ([fp32(), fp32()], GOOD + GOOD, "auto", "input 'x'.*more than once"),
    "parameters-not-object": (
        [{"name": "x", "shape": [2], "datatype": "FP32", "parameters": [8]}],
        b"",
        "auto",
        "input 'x'.*parameters",
    ),
    "name-missing": (
        [{"shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}}],
        GOOD,
        "auto",
        "input #0.*name",
    ),
    "input-not-object": ([7], b"", "auto", "input #0"),
}


@pytest.mark.parametrize("case", MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_binary_bodies_are_named(case: tuple[list[Any], bytes, Any, str]):
    inputs, blob, header, match = case
    body, length = build(inputs, blob, header)
    with pytest.raises(BinaryDataError, match=match):
        split_request(body, length)


def test_malformed_json_headers():
    with pytest.raises(BinaryDataError, match="JSON"):
        split_request(b"[1, 2]", None)
    with pytest.raises(BinaryDataError, match="inputs"):
        split_request(b'{"inputs": 3}', None)
    with pytest.raises(BinaryDataError, match="JSON"):
        split_request(b"\xff\xfe", "2")


def test_binary_data_error_is_a_value_error():
    assert issubclass(BinaryDataError, ValueError)
