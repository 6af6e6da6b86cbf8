"""Parsing infer bodies and naming metric routes: pure functions, every client mistake named."""

from __future__ import annotations

import numpy as np
import pytest

from workloads.common import schema
from workloads.inference.app import route_label
from workloads.inference.protocol import (
    BadRequest,
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
        (_tensor(data=["a"] * 2 * schema.FEATURE_DIM), "must be numbers"),
        (_tensor(data=None), "holds 1 values"),
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
        ("/v2/models/x/weird/deep", "/v2/models/{name}"),
        ("/v2/health/ready", "/v2/health/ready"),
        ("/random/12345", "other"),
    ],
)
def test_metric_routes_are_templates(path, label):
    assert route_label(path) == label
