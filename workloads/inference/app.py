"""The HTTP face of the server: Open Inference Protocol v2 routes, errors, `/metrics`.

Errors always carry the protocol's `{"error": "..."}` body, at most `MAX_ERROR_BYTES`: 400 for
a bad body, 404 for an unknown model, version or route, 405 for a wrong method, 413 for a body
over `max_body_bytes` or more rows than `protocol.MAX_ROWS`, 503 while no model is loaded. A
client mistake never gets a 5xx; the one deliberate 500 is a model whose output is not finite
(counted, and its version marked unhealthy). A client that goes away before its body arrived is
counted as status 499 (nginx's "client closed request") and logged at INFO.

No body holds the event loop for long: one with more JSON objects and arrays than
`MAX_CONTAINERS` (a `{` or `[` counted in C, strings included: an upper bound) is refused with
413 before it is parsed, since building millions of empty objects is what costs; bodies over
`OFF_LOOP_BYTES`, and bodies of more than `OFF_LOOP_RECORDS` records, are decoded and checked
in a worker thread. orjson holds the GIL while it parses, ~15 ms per MiB of numbers: keep
`max_body_bytes` at a few MiB at most.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio.to_thread
import numpy as np
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workloads.inference import binary, infer_route
from workloads.inference.metrics import ServerMetrics
from workloads.inference.models import LoadedModel
from workloads.inference.protocol import (
    MAX_ROWS,
    OUTPUT,
    BadRequest,
    InferRequest,
    TooLarge,
    infer_response,
    metadata,
    parse_infer,
    show,
)
from workloads.inference.service import InferenceService, ModelFault, NotReady

log = logging.getLogger("workloads.inference")
SERVER_NAME = "ascent-inference"
OFF_LOOP_BYTES = 64 << 10  # bodies larger than this are decoded in a worker thread
OFF_LOOP_RECORDS = 64  # and bodies of more records than this are checked in one
MAX_CONTAINERS = 2 * MAX_ROWS + 64  # JSON objects + arrays in a body (413 before parsing)
MAX_ERROR_BYTES = 4096  # an error body is never larger than this
_MAX_MESSAGE_CHARS = 600  # clipped to this: 6 bytes a char at worst once JSON-escaped
CLIENT_CLOSED = 499  # the status counted for a client that left before its body arrived
BINARY_TYPE = binary.BINARY_CONTENT_TYPE.encode()
BINARY_HEADER = binary.HEADER.lower().encode()


def _version() -> str:
    try:
        return version("ascent")
    except PackageNotFoundError:
        return "0"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def error(status: int, message: str) -> Response:
    body = orjson.dumps({"error": message})
    if len(body) > MAX_ERROR_BYTES:
        clipped = message[:_MAX_MESSAGE_CHARS] + f"... ({len(message)} characters in all)"
        body = orjson.dumps({"error": clipped})
    return Response(body, status_code=status, media_type="application/json")


def route_label(path: str) -> str:
    """The route template of a path, so metrics have few series whatever clients send."""
    if path.startswith("/v2/models/"):
        rest = path.removeprefix("/v2/models/").split("/")
        tail = "/".join(rest[1:])
        if len(rest) >= 3 and rest[1] == "versions":
            last = "/".join(rest[3:])
            return "/v2/models/{name}/versions/{version}" + (
                f"/{last}" if last in ("ready", "infer") else ""
            )
        return "/v2/models/{name}" + (f"/{tail}" if tail in ("ready", "infer") else "")
    if path in ("/v2", "/v2/health/live", "/v2/health/ready", "/metrics"):
        return path
    return "other"


class Observe:
    """Counts, times and tracks in flight every request but the scrape itself."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        route, start = route_label(scope["path"]), time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, capture)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)
            self.metrics.requests.labels(route, str(status)).inc()


def _loads(body: bytes) -> Any:
    containers = body.count(b"{") + body.count(b"[")  # an upper bound, counted in C
    if containers > MAX_CONTAINERS:
        raise TooLarge(
            f"the body holds up to {containers} JSON objects or arrays; the limit is "
            f"{MAX_CONTAINERS} ({MAX_ROWS} rows of one object or array each)"
        )
    try:
        return orjson.loads(body)  # not recursive; refuses nesting deeper than 1024
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from None


def _parse(parsed: Any) -> InferRequest:
    try:
        return parse_infer(parsed)
    except RecursionError:  # belt and braces: nothing here recurses over client data
        raise BadRequest("the body is nested too deeply") from None


def decode(body: bytes) -> InferRequest:
    """JSON to a checked request; every problem is a `BadRequest` (413: `TooLarge`)."""
    return _parse(_loads(body))


def decode_binary(body: bytes, header_length: str) -> InferRequest:
    """A body with the binary data extension: a JSON header of `header_length` bytes, then raw
    tensors (`binary.py`); its binary inputs get the same checks as JSON `data`."""
    try:
        _loads(body[: binary.header_length(header_length, len(body))])  # its size and depth
        doc, arrays = binary.split_request(body, header_length)
        return _parse(binary.inline_inputs(doc, arrays) if arrays else doc)
    except binary.BinaryDataError as exc:
        raise BadRequest(str(exc)) from None


async def decode_body(body: bytes) -> InferRequest:
    """`decode`, in a worker thread for bodies over `OFF_LOOP_BYTES` or of more than
    `OFF_LOOP_RECORDS` records (checking a record costs far more than parsing it)."""
    if len(body) > OFF_LOOP_BYTES:
        return await anyio.to_thread.run_sync(decode, body)
    parsed = _loads(body)  # at most OFF_LOOP_BYTES of JSON: well under a millisecond
    if isinstance(parsed, list) and len(parsed) > OFF_LOOP_RECORDS:
        return await anyio.to_thread.run_sync(_parse, parsed)
    return _parse(parsed)


FAULTS = (HTTPException, BadRequest, ModelFault, ClientDisconnect, NotReady)


def fault(exc: Exception, path: str) -> Response | None:
    """The error response for an exception the app answers itself (None for any other)."""
    if isinstance(exc, HTTPException):
        return error(exc.status_code, str(exc.detail))
    if isinstance(exc, TooLarge):
        return error(413, str(exc))
    if isinstance(exc, BadRequest):
        return error(400, str(exc))
    if isinstance(exc, ModelFault):
        return error(500, str(exc))
    if isinstance(exc, NotReady):
        return error(503, str(exc))
    if isinstance(exc, ClientDisconnect):
        log.info("client closed the connection before its body arrived", extra={"path": path})
        return error(CLIENT_CLOSED, "client closed request")  # nobody reads it; Observe counts it
    return None


def create_app(service: InferenceService) -> Starlette:
    settings = service.settings

    def known(name: str, wanted: str | None) -> LoadedModel:
        """The model a path names, and the version when it names one (404 for any other)."""
        model = service.model()  # NotReady -> 503
        if name != model.name:
            raise HTTPException(
                404, f"unknown model {show(name)}; this server serves {model.name!r}"
            )
        if wanted is not None and wanted != model.version:
            raise HTTPException(404, f"version {show(wanted)} is not served; {model.version!r} is")
        return model

    def named(request: Request) -> LoadedModel:
        return known(request.path_params["name"], request.path_params.get("version"))

    async def live(_request: Request) -> Response:
        return json_response({"live": True})

    async def ready(_request: Request) -> Response:
        is_ready = service.ready()
        return json_response({"ready": is_ready}, 200 if is_ready else 503)

    async def server_metadata(_request: Request) -> Response:
        extensions = ["binary_tensor_data"]  # binary.py
        return json_response({"name": SERVER_NAME, "version": _version(), "extensions": extensions})

    async def model_metadata(request: Request) -> Response:
        model = named(request)
        return json_response(metadata(model.name, model.version))

    async def model_ready(request: Request) -> Response:
        model = named(request)
        is_ready = not service.draining and service.healthy(model)
        answer: dict[str, Any] = {"name": model.name, "ready": is_ready}
        if "version" in request.path_params:
            answer["version"] = model.version
        return json_response(answer)

    async def answer_infer(body: bytes, header: str | None) -> infer_route.Answer:
        """An infer request's answer (`InferRoute` has admitted it: `known`)."""
        if header is None:
            job = await decode_body(body)
        elif len(body) > OFF_LOOP_BYTES:
            job = await anyio.to_thread.run_sync(decode_binary, body, header)
        else:
            job = decode_binary(body, header)
        scores, used = await service.score(job.x)
        if not np.isfinite(scores).all():
            raise service.nonfinite(used, scores)
        answer = infer_response(used.name, used.version, job, scores)
        if not job.binary_output:
            return 200, orjson.dumps(answer), [(b"content-type", b"application/json")]
        column = scores.reshape(-1, 1).astype(np.float32)
        payload, length = binary.encode_response(answer, {OUTPUT: column})
        headers = [(b"content-type", BINARY_TYPE), (BINARY_HEADER, str(length).encode())]
        return 200, payload, headers

    async def infer(_request: Request) -> Response:
        """Never called: `InferRoute` answers every POST to these paths before the router;
        the routes stay so that other methods get 405 (Allow: POST)."""
        raise RuntimeError("infer requests are served by InferRoute")

    async def metrics(_request: Request) -> Response:
        service.metrics.queue_depth.set(service.batcher.depth())
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def handled(request: Request, exc: Exception) -> Response:
        response = fault(exc, request.url.path)
        assert response is not None  # registered for the exceptions `fault` knows only
        return response

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = Starlette(
        routes=[
            Route("/v2/health/live", live),
            Route("/v2/health/ready", ready),
            Route("/v2", server_metadata),
            Route("/v2/models/{name}", model_metadata),
            Route("/v2/models/{name}/ready", model_ready),
            Route("/v2/models/{name}/infer", infer, methods=["POST"]),
            Route("/v2/models/{name}/versions/{version}", model_metadata),
            Route("/v2/models/{name}/versions/{version}/ready", model_ready),
            Route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"]),
            Route("/metrics", metrics),
        ],
        exception_handlers={kind: handled for kind in FAULTS},
        lifespan=lifespan,
    )
    app.add_middleware(
        infer_route.InferRoute,
        admit=known,
        handle=answer_infer,
        fault=fault,
        max_body_bytes=settings.max_body_bytes,
        header=binary.HEADER,
    )
    app.add_middleware(Observe, metrics=service.metrics)  # outermost: it counts both paths
    return app
