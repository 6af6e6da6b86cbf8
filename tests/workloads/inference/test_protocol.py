"""Parsing infer bodies and naming metric routes: pure functions, every client mistake named."""

from __future__ import annotations

import numpy as np
import pytest

from workloads.common import schema
from workloads.inference.app import route_label
from workloads.inference.protocol import (
    MAX_ROWS,
    BadRequest,
    TooLarge,
    infer_response,
    metadata,
    parse_infer,
)

from .conftest import features, tensor_body


def test_a_tensor_body_becomes_rows_of_features():
    x = features(3, seed=1)
    job = parse_infer(tensor_body(x, "req-1"))
    assert job.id == "req-1" and not job.records
    assert job.x.dtype.is_floating_point and tuple(job.x.shape) == (3, schema.FEATURE_DIM)
    assert np.allclose(job.x.numpy(), x.numpy())


def test_nested_data_and_fp64_are_accepted():
    x = features(2, seed=2)
    body = tensor_body(x)
    body["inputs"][0] |= {"datatype": "FP64", "data": x.tolist()}
    assert np.allclose(parse_infer(body).x.numpy(), x.numpy())


def test_records_are_the_convenience_form():
    records = schema.generate(2, seed=3)
    assert parse_infer(records[0]).records
    job = parse_infer(records)
    assert job.records and np.allclose(job.x.numpy(), features(2, seed=3).numpy())


def _tensor(**change):
    body = tensor_body(features(2, seed=4))
    body["inputs"][0] |= change
    return body


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("just a string", "JSON object"),
        ({"inputs": []}, "exactly one tensor"),
        ({"inputs": [1]}, "exactly one tensor"),
        (_tensor(name="x"), "unknown input 'x'"),
        (_tensor(datatype="INT64"), "datatype 'INT64'"),
        (_tensor(shape=[2, 5]), "shape [2, 5]"),
        (_tensor(shape=[0, schema.FEATURE_DIM]), "shape [0,"),
        (_tensor(shape=[2, schema.FEATURE_DIM, 1]), "shape"),
        (_tensor(shape="2x43"), "shape"),
        (_tensor(shape=[3, schema.FEATURE_DIM]), f"shape [3, {schema.FEATURE_DIM}] needs"),
        (_tensor(data=["a"] * 2 * schema.FEATURE_DIM), "must hold numbers only"),
        (_tensor(data=None), "`inputs[0].data` must be a list of numbers, not null"),
        ({**_tensor(), "id": 5}, "`id` must be a string"),
        ({**_tensor(), "outputs": [{"name": "logits"}]}, "unknown output 'logits'"),
        ([], "no records"),
        ({"card_id": "c1"}, "record 0: country: missing"),
        ([schema.generate(1, seed=0)[0], {"amount": "x"}], "record 1: amount: expected number"),
    ],
)
def test_every_mistake_is_a_bad_request_that_says_what(body, says):
    with pytest.raises(BadRequest) as caught:
        parse_infer(body)
    assert says in str(caught.value)


def test_the_answer_has_the_protocols_shape():
    job = parse_infer(tensor_body(features(2, seed=5), "abc"))
    answer = infer_response("fraud-detector", "v1", job, np.array([0.1, 0.9], dtype=np.float32))
    assert answer["id"] == "abc" and answer["model_version"] == "v1"
    (out,) = answer["outputs"]
    assert out["name"] == "fraud_probability" and out["shape"] == [2, 1]
    assert out["datatype"] == "FP32" and np.allclose(out["data"], [0.1, 0.9])
    meta = metadata("fraud-detector", "v1")
    assert meta["inputs"][0]["shape"] == [-1, schema.FEATURE_DIM]
    assert meta["parameters"]["features"] == list(schema.FEATURES)


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/v2/models/fraud-detector/infer", "/v2/models/{name}/infer"),
        ("/v2/models/anything/ready", "/v2/models/{name}/ready"),
        ("/v2/models/x", "/v2/models/{name}"),
        ("/v2/models/x/versions/v9/infer", "/v2/models/{name}/versions/{version}/infer"),
        ("/v2/models/x/versions/v9/ready", "/v2/models/{name}/versions/{version}/ready"),
        ("/v2/models/x/versions/v9", "/v2/models/{name}/versions/{version}"),
        ("/v2/models/x/versions/v9/junk/123", "/v2/models/{name}/versions/{version}"),
        ("/v2/models/x/weird/deep", "/v2/models/{name}"),
        ("/v2/health/ready", "/v2/health/ready"),
        ("/random/12345", "other"),
    ],
)
def test_metric_routes_are_templates(path, label):
    assert route_label(path) == label


DIM = schema.FEATURE_DIM
ROW = [0.5] * DIM


@pytest.mark.parametrize(
    ("body", "says"),
    [
        # numbers only: no numeric strings, no booleans, no nulls
        (_tensor(data=["1.0"] * 2 * DIM), "holds string values"),
        (_tensor(data=[True] * 2 * DIM), "holds boolean values"),
        (_tensor(data=[1.0] * (2 * DIM - 1) + [False]), "holds boolean values"),
        (_tensor(data=[[*ROW[:-1], True], ROW]), "holds boolean values"),
        (_tensor(data=[None] * 2 * DIM), "holds null values"),
        (_tensor(data=[{}] * 2 * DIM), "holds object values"),
        # shape and data agree exactly: no transposing, no ragged rows, no reshaping
        (_tensor(data=[[0.5, 0.5]] * DIM), f"nested as {DIM} lists of 2"),
        (_tensor(data=[ROW, ROW[:-1]]), "shape [2, 43] needs 2 lists of 43"),
        (_tensor(data=[ROW, ROW, ROW]), "nested as 3 lists"),
        (_tensor(data=[ROW, *ROW]), "mixes lists and values"),
        (_tensor(data=[[ROW], [ROW]]), "nested as 2 lists of 1"),
        (_tensor(data=[[[0.5]] * DIM] * 2), "holds array values"),
        (_tensor(data=ROW * 3), f"holds {3 * DIM} values; shape [2, {DIM}] needs {2 * DIM}"),
        (_tensor(data=5), "must be a list of numbers, not 5"),
        (_tensor(data="0.5"), "must be a list of numbers, not '0.5'"),
        # shape: a list of non-negative integers
        (_tensor(shape=[-2, DIM]), "holds a negative size"),
        (_tensor(shape=[True, DIM]), "`inputs[0].shape` must be a list of non-negative integers"),
        (_tensor(shape=[2.0, DIM]), "`inputs[0].shape` must be a list"),
        (_tensor(shape=None), "not null"),
        (_tensor(shape={"n": 2}), "not a JSON object"),
        # names are strings, datatypes strings, parameters objects
        (_tensor(name=5), "`inputs[0].name` must be a string, not 5"),
        (_tensor(name=None), "`inputs[0].name` must be a string, not null"),
        (_tensor(name=["features"]), "`inputs[0].name` must be a string, not a JSON array"),
        (_tensor(datatype=["FP32"]), "`inputs[0].datatype` must be a string"),
        (_tensor(datatype={}), "`inputs[0].datatype` must be a string"),
        (_tensor(datatype=None), "`inputs[0].datatype` must be a string"),
        (_tensor(datatype="fp32"), "datatype 'fp32' not supported"),
        (_tensor(parameters=[]), "`inputs[0].parameters` must be an object"),
        ({**_tensor(), "parameters": "x"}, "`parameters` must be an object"),
        ({**_tensor(), "id": None}, "`id` must be a string, not null"),
        # outputs: a list of objects with a string name, unknown names named
        ({**_tensor(), "outputs": 5}, "`outputs` must be a list of objects, not 5"),
        ({**_tensor(), "outputs": True}, "`outputs` must be a list of objects, not true"),
        ({**_tensor(), "outputs": {"name": "x"}}, "`outputs` must be a list"),
        ({**_tensor(), "outputs": [5]}, "`outputs[0]` must be an object, not 5"),
        ({**_tensor(), "outputs": [{}]}, "`outputs[0].name` is missing"),
        ({**_tensor(), "outputs": [{"name": None}]}, "`outputs[0].name` must be a string"),
        (
            {**_tensor(), "outputs": [{"name": "fraud_probability"}, {"name": "x"}]},
            "unknown output 'x' in `outputs[1].name`",
        ),
        (
            {**_tensor(), "outputs": [{"name": "fraud_probability", "parameters": 1}]},
            "`outputs[0].parameters` must be an object",
        ),
        # values must fit the datatype, and the model's FP32 input, once cast
        (_tensor(data=[3.5e38] * 2 * DIM), "outside the range of FP32"),
        (_tensor(data=[-3.5e38] * 2 * DIM), "outside the range of FP32"),
        (_tensor(datatype="FP16", data=[7e4] * 2 * DIM), "outside the range of FP16"),
        (_tensor(datatype="FP64", data=[1e300] * 2 * DIM), "the model's FP32 input"),
        (_tensor(data=[10**400] * 2 * DIM), "does not fit FP32"),
        (_tensor(data=[float("nan")] * 2 * DIM), "outside the range of FP32"),
        # a protocol body without `inputs` is not taken for a record
        ({"outputs": [{"name": "fraud_probability"}]}, "`inputs` is missing"),
        ({"id": "x"}, "`inputs` is missing"),
        ({"inputs": None}, "`inputs` must be a list of exactly one tensor, `features`; got null"),
        ({"inputs": [_tensor()["inputs"][0]] * 2}, "got 2 tensors"),
        ({"inputs": ["features"]}, "`inputs[0]` must be an object"),
        (5, "not 5"),
        (None, "not null"),
    ],
)
def test_parsing_is_strict_and_names_the_field(body, says):
    with pytest.raises(BadRequest) as caught:
        parse_infer(body)
    assert says in str(caught.value)
    assert not isinstance(caught.value, TooLarge)


def test_values_that_fit_are_accepted_exactly():
    body = _tensor(data=[3.0e38] * 2 * DIM)
    assert float(parse_infer(body).x.max()) == pytest.approx(3.0e38, rel=1e-6)
    ints = _tensor(data=[1] * 2 * DIM)
    assert parse_infer(ints).x.sum() == 2 * DIM
    ok = {**_tensor(), "id": "a", "parameters": {}, "outputs": [{"name": "fraud_probability"}]}
    ok["inputs"][0]["parameters"] = {"binary_data_size": 1}
    assert tuple(parse_infer(ok).x.shape) == (2, DIM)


def test_more_rows_than_the_limit_are_too_large_and_say_the_limit():
    with pytest.raises(TooLarge) as caught:
        parse_infer(_tensor(shape=[MAX_ROWS + 1, DIM], data=[]))  # refused before the data
    assert f"over the limit of {MAX_ROWS} rows" in str(caught.value)
    with pytest.raises(TooLarge) as caught:
        parse_infer([{}] * (MAX_ROWS + 1))
    assert f"{MAX_ROWS + 1} records is over the limit of {MAX_ROWS} rows" in str(caught.value)
    assert parse_infer(tensor_body(features(3, seed=1)), max_rows=3).x.shape[0] == 3
    with pytest.raises(TooLarge):
        parse_infer(tensor_body(features(3, seed=1)), max_rows=2)


def test_messages_stay_short_whatever_the_body():
    with pytest.raises(BadRequest) as caught:
        parse_infer([{}] * 1000)
    message = str(caught.value)
    assert message.startswith("record 0: ") and message.endswith("; and 995 more")
    assert "record 4: " in message and "record 5: " not in message and len(message) < 2000
    with pytest.raises(BadRequest) as caught:
        parse_infer(_tensor(name="x" * 100_000))
    assert len(str(caught.value)) < 200 and "..." in str(caught.value)
    with pytest.raises(BadRequest) as caught:
        parse_infer(_tensor(shape=list(range(100_000))))
    assert len(str(caught.value)) < 300
    deep: list = [0.5]
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(BadRequest) as caught:  # no repr of the nesting, no RecursionError
        parse_infer(_tensor(name=deep))
    assert "a JSON array" in str(caught.value)
    with pytest.raises(BadRequest):
        parse_infer(_tensor(data=deep))
