"""The gRPC GRPCInferenceService against a real server: health, metadata, ModelInfer with raw
and typed contents (the same scores as the HTTP route), and status codes for client mistakes.

The client is grpcio with the stubs generated from the vendored KServe proto; Triton's own gRPC
client runs against the same server in `test_triton_grpc.py` (from its own venv).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest
import torch

from workloads.common import schema
from workloads.inference.proto import grpc_predict_v2_pb2 as pb
from workloads.inference.proto import grpc_predict_v2_pb2_grpc as pb_grpc

from .conftest import MODEL, features, publish, tensor_body

INFER = f"/v2/models/{MODEL}/infer"
D = schema.FEATURE_DIM


@pytest.fixture
def served(file_store, server_for) -> Iterator[tuple[Any, Any, pb_grpc.GRPCInferenceServiceStub]]:
    model = publish(file_store, "v1", seed=1)
    server = server_for(file_store)
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield server, model, pb_grpc.GRPCInferenceServiceStub(channel)


def raw_request(x: torch.Tensor, **kw) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=MODEL, **kw)
    request.inputs.add(name="features", datatype="FP32", shape=list(x.shape))
    request.raw_input_contents.append(x.numpy().astype("<f4").tobytes())
    return request


def scores_of(answer: pb.ModelInferResponse) -> np.ndarray:
    out = answer.outputs[0]
    if answer.raw_output_contents:
        data = np.frombuffer(answer.raw_output_contents[0], dtype="<f4")
    else:
        data = np.asarray(out.contents.fp32_contents, dtype=np.float32)
    return data.reshape(list(out.shape))


def code_of(call, *args) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, timeout=10)
    return caught.value.code()


def test_health_and_metadata(served):
    _server, _model, stub = served
    assert stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
    assert stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready
    assert stub.ModelReady(pb.ModelReadyRequest(name=MODEL), timeout=10).ready
    assert stub.ModelReady(pb.ModelReadyRequest(name=MODEL, version="v1"), timeout=10).ready
    meta = stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=10)
    assert meta.name == "ascent-inference" and meta.version
    model = stub.ModelMetadata(pb.ModelMetadataRequest(name=MODEL), timeout=10)
    assert model.name == MODEL and list(model.versions) == ["v1"]
    assert [(t.name, t.datatype, list(t.shape)) for t in model.inputs] == [
        ("features", "FP32", [-1, D])
    ]
    assert [(t.name, t.datatype, list(t.shape)) for t in model.outputs] == [
        ("fraud_probability", "FP32", [-1, 1])
    ]


def test_raw_infer_gives_the_http_scores(served):
    server, model, stub = served
    x = features(64, seed=5)
    answer = stub.ModelInfer(raw_request(x, id="req-1"), timeout=10)
    assert (answer.model_name, answer.model_version, answer.id) == (MODEL, "v1", "req-1")
    out = answer.outputs[0]
    assert (out.name, out.datatype, list(out.shape)) == ("fraud_probability", "FP32", [64, 1])
    got = scores_of(answer)
    http = server.client.post(INFER, json=tensor_body(x)).json()["outputs"][0]["data"]
    assert np.allclose(got.reshape(-1), np.asarray(http).reshape(-1), atol=1e-6)
    with torch.inference_mode():
        expected = torch.sigmoid(model(x)).numpy().reshape(-1)
    assert np.allclose(got.reshape(-1), expected, atol=1e-6)
    bad = raw_request(x)
    bad.inputs[0].datatype = "INT8"
    assert code_of(stub.ModelInfer, bad) == grpc.StatusCode.INVALID_ARGUMENT
    route = "/inference.GRPCInferenceService/ModelInfer"
    counted = {
        status: server.metric("ascent_inference_requests_total", route=route, status=status)
        for status in ("OK", "INVALID_ARGUMENT")
    }
    assert counted == {"OK": 1, "INVALID_ARGUMENT": 1}
    assert server.metric("ascent_inference_in_flight_requests") == 0


def test_typed_contents_and_many_requests_at_once(served):
    _server, _model, stub = served
    x = features(8, seed=6)
    typed = pb.ModelInferRequest(model_name=MODEL)
    tensor = typed.inputs.add(name="features", datatype="FP32", shape=[8, D])
    tensor.contents.fp32_contents.extend(x.flatten().tolist())
    expected = scores_of(stub.ModelInfer(raw_request(x), timeout=10))
    answer = stub.ModelInfer(typed, timeout=10)
    assert not answer.raw_output_contents
    assert np.allclose(scores_of(answer), expected, atol=1e-6)
    futures = [stub.ModelInfer.future(raw_request(features(64, seed=s))) for s in range(16)]
    for s, future in enumerate(futures):  # batched together; each gets its own rows back
        want = scores_of(stub.ModelInfer(raw_request(features(64, seed=s)), timeout=10))
        assert np.allclose(scores_of(future.result(timeout=20)), want, atol=1e-6)


def _bad_requests() -> dict[str, pb.ModelInferRequest]:
    x = features(4, seed=7)
    bad: dict[str, pb.ModelInferRequest] = {}
    r = raw_request(x)
    r.inputs[0].shape[:] = [4, D + 1]
    bad["wrong shape"] = r
    r = raw_request(x)
    r.inputs[0].datatype = "INT64"
    bad["wrong datatype"] = r
    r = raw_request(x)
    r.raw_input_contents[0] = r.raw_input_contents[0][:-4]
    bad["short raw contents"] = r
    r = raw_request(x)
    r.inputs[0].name = "other"
    bad["unknown input"] = r
    r = raw_request(x)
    r.outputs.add(name="other")
    bad["unknown output"] = r
    r = pb.ModelInferRequest(model_name=MODEL)
    bad["no inputs"] = r
    r = pb.ModelInferRequest(model_name=MODEL)
    r.inputs.add(name="features", datatype="FP32", shape=[1, D]).contents.fp32_contents.extend(
        [float("nan")] * D
    )
    bad["non-finite"] = r
    r = pb.ModelInferRequest(model_name=MODEL)
    r.inputs.add(name="features", datatype="FP32", shape=[2, D]).contents.fp32_contents.extend(
        [0.0] * D
    )
    bad["too few typed values"] = r
    r = raw_request(x)
    r.inputs[0].contents.fp32_contents.extend([0.0] * (4 * D))
    bad["raw and typed"] = r
    r = pb.ModelInferRequest(model_name=MODEL)
    r.inputs.add(name="features", datatype="FP16", shape=[1, D]).contents.fp32_contents.extend(
        [0.0] * D
    )
    bad["FP16 not raw"] = r
    r = pb.ModelInferRequest(model_name=MODEL)
    r.inputs.add(name="features", datatype="FP64", shape=[1, D])
    r.raw_input_contents.append(np.full(D, 1e300, dtype="<f8").tobytes())
    bad["FP64 beyond FP32's range"] = r  # finite as FP64, inf once cast for the model
    return bad


@pytest.mark.parametrize("case", sorted(_bad_requests()))
def test_client_mistakes_are_invalid_argument(served, case):
    _server, _model, stub = served
    assert code_of(stub.ModelInfer, _bad_requests()[case]) == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_model_or_version_is_not_found(served):
    _server, _model, stub = served
    x = features(2, seed=8)
    assert code_of(stub.ModelInfer, pb.ModelInferRequest(model_name="nope")) == (
        grpc.StatusCode.NOT_FOUND
    )
    other = raw_request(x)
    other.model_name = "nope"
    assert code_of(stub.ModelInfer, other) == grpc.StatusCode.NOT_FOUND
    assert code_of(stub.ModelInfer, raw_request(x, model_version="v9")) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert code_of(stub.ModelMetadata, pb.ModelMetadataRequest(name="nope")) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert code_of(stub.ModelReady, pb.ModelReadyRequest(name="nope")) == (
        grpc.StatusCode.NOT_FOUND
    )


def test_no_model_yet_is_unavailable(file_store, server_for):
    server = server_for(file_store, ready=False)  # nothing published
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        grpc.channel_ready_future(channel).result(timeout=10)
        assert stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
        assert not stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready
        assert not stub.ModelReady(pb.ModelReadyRequest(name=MODEL), timeout=10).ready
        x = features(2, seed=9)
        assert code_of(stub.ModelInfer, raw_request(x)) == grpc.StatusCode.UNAVAILABLE
        assert code_of(stub.ModelMetadata, pb.ModelMetadataRequest(name=MODEL)) == (
            grpc.StatusCode.UNAVAILABLE
        )


def test_grpc_port_zero_turns_it_off(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(file_store, "--grpc-port", "0")
    assert server.grpc_port == 0
    assert server.client.get("/v2/health/ready").status_code == 200


def test_connections_past_the_limit_are_refused(file_store, server_for):
    """`max_connections` bounds the gRPC listener too: a connection past it is closed (the
    client sees UNAVAILABLE), and one is accepted again once others go."""
    publish(file_store, "v1", seed=1)
    server = server_for(file_store, "--max-connections", "2")
    own = [("grpc.use_local_subchannel_pool", 1)]  # one connection per channel

    def live(channel: grpc.Channel) -> grpc.StatusCode:
        try:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            stub.ServerLive(pb.ServerLiveRequest(), timeout=5)
        except grpc.RpcError as exc:
            return exc.code()
        return grpc.StatusCode.OK

    target = f"127.0.0.1:{server.grpc_port}"
    held = [grpc.insecure_channel(target, options=own) for _ in range(2)]
    assert [live(c) for c in held] == [grpc.StatusCode.OK] * 2
    with grpc.insecure_channel(target, options=own) as extra:
        assert live(extra) == grpc.StatusCode.UNAVAILABLE
    for channel in held:
        channel.close()
    deadline = time.monotonic() + 20
    while True:
        with grpc.insecure_channel(target, options=own) as again:
            if live(again) == grpc.StatusCode.OK:
                break
        assert time.monotonic() < deadline, "still refused once the connections went"
        time.sleep(0.2)
