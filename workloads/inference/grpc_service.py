"""The gRPC face of the server: the Open Inference Protocol's `inference.GRPCInferenceService`
(KServe's `grpc_predict_v2.proto`, vendored in `proto/`), on its own port beside HTTP.

It runs as a `grpc.aio` server on uvicorn's own event loop and calls the very objects the HTTP
routes call (`InferenceService.model()`, `.score()`, so the same dynamic batcher: a gRPC request
and an HTTP one can share a forward pass). The batcher's futures and events belong to that loop,
which is why this is not a thread of its own.

One input, `features` (FP32, [n, FEATURE_DIM]; FP64 and FP16 are taken too), as
`raw_input_contents` (little-endian, row-major) or as `contents.fp32_contents`/`fp64_contents`;
one output, `fraud_probability` (FP32, [n, 1]), raw when the input came raw, typed otherwise.
Errors are status codes: INVALID_ARGUMENT for any client mistake, NOT_FOUND for an unknown model
or version, UNAVAILABLE while no model is loaded or while shutting down; INTERNAL only for the
server's own failures (a model whose output is not finite).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import grpc
import numpy as np
import torch

from workloads.common import schema
from workloads.inference import binary
from workloads.inference.models import LoadedModel
from workloads.inference.proto import grpc_predict_v2_pb2 as pb
from workloads.inference.proto import grpc_predict_v2_pb2_grpc as pb_grpc
from workloads.inference.protocol import INPUT, MAX_ROWS, OUTPUT, metadata
from workloads.inference.service import InferenceService, NotReady
from workloads.inference.settings import ServerSettings

log = logging.getLogger("workloads.inference")
SERVER_NAME = "ascent-inference"
SERVICE = "inference.GRPCInferenceService"
# the float datatypes the model takes, little-endian as the protocol's raw contents are
RAW_DTYPES: dict[str, np.dtype[Any]] = {k: binary.DATATYPES[k] for k in ("FP32", "FP64", "FP16")}
HANDSHAKE_TIMEOUT_MIN_MS = 1000


def _version() -> str:
    try:
        return version("ascent")
    except PackageNotFoundError:
        return "0"


class Refused(Exception):
    """A request answered with a status code other than OK."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _bad(message: str) -> Refused:
    return Refused(grpc.StatusCode.INVALID_ARGUMENT, message)


def _clip(value: str, limit: int = 64) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def decode_input(request: pb.ModelInferRequest) -> torch.Tensor:
    """The `features` tensor of a request, checked as the HTTP route checks its JSON."""
    if len(request.inputs) != 1:
        raise _bad(f"`inputs` must hold exactly one tensor, {INPUT!r}; got {len(request.inputs)}")
    spec = request.inputs[0]
    if spec.name != INPUT:
        raise _bad(f"unknown input {_clip(spec.name)}: this model takes {INPUT!r}")
    for wanted in request.outputs:
        if wanted.name != OUTPUT:
            raise _bad(f"unknown output {_clip(wanted.name)}: this model has only {OUTPUT!r}")
    if spec.datatype not in RAW_DTYPES:
        raise _bad(f"datatype {_clip(spec.datatype)} not supported for {INPUT!r}: use FP32")
    shape = list(spec.shape)
    if len(shape) != 2 or shape[0] < 1 or shape[1] != schema.FEATURE_DIM:
        raise _bad(f"shape {shape} not accepted for {INPUT!r}: use [n, {schema.FEATURE_DIM}]")
    if shape[0] > MAX_ROWS:
        raise _bad(f"{shape[0]} rows in one request; at most {MAX_ROWS}")
    count, dtype = math.prod(shape), RAW_DTYPES[spec.datatype]
    if request.raw_input_contents:
        if len(request.raw_input_contents) != 1:
            raise _bad(f"{len(request.raw_input_contents)} raw_input_contents for one input")
        if spec.HasField("contents"):
            raise _bad("an input has both raw_input_contents and contents: send one")
        raw = request.raw_input_contents[0]
        if len(raw) != count * dtype.itemsize:
            raise _bad(
                f"raw_input_contents of {INPUT!r} holds {len(raw)} bytes; shape {shape} of "
                f"{spec.datatype} needs {count * dtype.itemsize}"
            )
        data = np.frombuffer(raw, dtype=dtype)
    elif spec.datatype == "FP32":
        data = np.asarray(spec.contents.fp32_contents, dtype=np.float32)
    elif spec.datatype == "FP64":
        data = np.asarray(spec.contents.fp64_contents, dtype=np.float64)
    else:
        raise _bad(f"{spec.datatype} input must come as raw_input_contents")
    if data.size != count:
        raise _bad(
            f"contents of {INPUT!r} hold {data.size} values; shape {shape} needs {count} "
            f"({spec.datatype} values in the field of that type, or raw_input_contents)"
        )
    if not np.isfinite(data).all():
        raise _bad(f"contents of {INPUT!r} hold a non-finite value")
    with np.errstate(over="ignore"):  # checked just below
        x = data.reshape(shape).astype(np.float32)
    if not np.isfinite(x).all():
        raise _bad(
            f"contents of {INPUT!r} hold a {spec.datatype} value outside the range of the model's "
            "FP32 input"
        )
    return torch.from_numpy(x)


def infer_response(
    request: pb.ModelInferRequest, model: LoadedModel, scores: np.ndarray
) -> pb.ModelInferResponse:
    rows = len(scores)
    answer = pb.ModelInferResponse(model_name=model.name, model_version=model.version)
    if request.id:
        answer.id = request.id
    tensor = answer.outputs.add(name=OUTPUT, datatype="FP32", shape=[rows, 1])
    values = np.ascontiguousarray(scores, dtype="<f4").reshape(-1)
    if request.raw_input_contents:
        answer.raw_output_contents.append(values.tobytes())
    else:
        tensor.contents.fp32_contents.extend(values.tolist())
    return answer


Method = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Any]]


def observed(method: Method) -> Method:
    """Answer a `Refused` with its status code, and count the call as the HTTP routes are
    counted (in flight, latency, requests by route and status): the route is the gRPC method
    path, the status the code's name (`OK`, `INVALID_ARGUMENT`, ...)."""
    route = f"/{SERVICE}/{method.__name__}"

    @functools.wraps(method)
    async def call(self: InferenceServicer, request: Any, context: grpc.aio.ServicerContext) -> Any:
        metrics, code, start = self.service.metrics, "INTERNAL", time.perf_counter()
        metrics.in_flight.inc()
        try:
            answer = await method(self, request, context)
            code = "OK"
            return answer
        except Refused as exc:
            code = exc.code.name
            await context.abort(exc.code, str(exc))
            raise  # not reached: abort raises
        finally:
            metrics.in_flight.dec()
            metrics.latency.labels(route).observe(time.perf_counter() - start)
            metrics.requests.labels(route, code).inc()

    return call


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, service: InferenceService) -> None:
        self.service = service

    def _known(self, name: str, wanted: str = "") -> LoadedModel:
        try:
            model = self.service.model()
        except NotReady as exc:
            raise Refused(grpc.StatusCode.UNAVAILABLE, str(exc)) from None
        if name != model.name:
            raise Refused(
                grpc.StatusCode.NOT_FOUND,
                f"unknown model {_clip(name)}; this server serves {model.name!r}",
            )
        if wanted and wanted != model.version:
            raise Refused(
                grpc.StatusCode.NOT_FOUND,
                f"version {_clip(wanted)} is not served; {model.version!r} is",
            )
        return model

    @observed
    async def ServerLive(
        self, request: pb.ServerLiveRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    @observed
    async def ServerReady(
        self, request: pb.ServerReadyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self.service.ready())

    @observed
    async def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(name=SERVER_NAME, version=_version(), extensions=[])

    @observed
    async def ModelReady(
        self, request: pb.ModelReadyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModelReadyResponse:
        if self.service.watcher.current is None:
            return pb.ModelReadyResponse(ready=False)
        model = self._known(request.name, request.version)
        return pb.ModelReadyResponse(ready=self.service.ready() and self.service.healthy(model))

    @observed
    async def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModelMetadataResponse:
        model = self._known(request.name, request.version)
        meta = metadata(model.name, model.version)
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta["name"],
            versions=meta["versions"],
            platform=meta["platform"],
            inputs=[tensor(**t) for t in meta["inputs"]],
            outputs=[tensor(**t) for t in meta["outputs"]],
        )

    @observed
    async def ModelInfer(
        self, request: pb.ModelInferRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModelInferResponse:
        self._known(request.model_name, request.model_version)  # the batch picks the version
        x = decode_input(request)
        try:
            scores, used = await self.service.score(x)
        except NotReady as exc:
            raise Refused(grpc.StatusCode.UNAVAILABLE, str(exc)) from None
        except RuntimeError as exc:
            if self.service.draining:  # the batcher stopped under this request
                raise Refused(grpc.StatusCode.UNAVAILABLE, str(exc)) from None
            raise
        if not np.isfinite(scores).all():
            raise Refused(grpc.StatusCode.INTERNAL, str(self.service.nonfinite(used, scores)))
        return infer_response(request, used, scores)


def grpc_options(settings: ServerSettings) -> list[tuple[str, int]]:
    """Channel arguments that bound what one client may hold, as the HTTP limits do."""
    return [
        ("grpc.max_receive_message_length", settings.max_body_bytes),
        ("grpc.max_allowed_incoming_connections", settings.connection_limit()),
        ("grpc.max_metadata_size", settings.max_header_bytes),
        (
            "grpc.server_handshake_timeout_ms",
            max(HANDSHAKE_TIMEOUT_MIN_MS, int(settings.header_timeout_s * 1000)),
        ),
    ]


def create_server(service: InferenceService) -> grpc.aio.Server:
    """A `grpc.aio` server (not started) bound to `settings.host:grpc_port`; create it on the
    event loop that serves HTTP."""
    settings = service.settings
    server = grpc.aio.server(options=grpc_options(settings))
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(service), server)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    if server.add_insecure_port(f"{host}:{settings.grpc_port}") == 0:
        raise OSError(f"cannot listen for gRPC on {host}:{settings.grpc_port}")
    return server
