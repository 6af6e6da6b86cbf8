"""The HTTP face of the server: Open Inference Protocol v2 routes, errors, `/metrics`.

Errors always carry the protocol's `{"error": "..."}` body: 400 for a bad body, 404 for an
unknown model or route, 405 for a wrong method, 413 for a body over `max_body_bytes`, 503 while
no model is loaded. A client mistake never gets a 5xx.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workloads.inference.metrics import ServerMetrics
from workloads.inference.models import LoadedModel
from workloads.inference.protocol import BadRequest, infer_response, metadata, parse_infer
from workloads.inference.service import InferenceService, NotReady

log = logging.getLogger("workloads.inference")
SERVER_NAME = "ascent-inference"


def _version() -> str:
    try:
        return version("ascent")
    except PackageNotFoundError:
        return "0"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def route_label(path: str) -> str:
    """The route template of a path, so metrics have few series whatever clients send."""
    if path.startswith("/v2/models/"):
        rest = path.removeprefix("/v2/models/").split("/")
        tail = "/".join(rest[1:])
        if tail.startswith("versions/") and len(rest) > 3:
            return "/v2/models/{name}/versions/{version}/" + "/".join(rest[3:])
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


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes is over the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(service: InferenceService) -> Starlette:
    settings = service.settings

    def known(name: str) -> LoadedModel:
        model = service.model()  # NotReady -> 503
        if name != model.name:
            raise HTTPException(404, f"unknown model {name!r}; this server serves {model.name!r}")
        return model

    async def live(_request: Request) -> Response:
        return json_response({"live": True})

    async def ready(_request: Request) -> Response:
        is_ready = service.ready()
        return json_response({"ready": is_ready}, 200 if is_ready else 503)

    async def server_metadata(_request: Request) -> Response:
        return json_response({"name": SERVER_NAME, "version": _version(), "extensions": []})

    async def model_metadata(request: Request) -> Response:
        model = known(request.path_params["name"])
        return json_response(metadata(model.name, model.version))

    async def model_ready(request: Request) -> Response:
        model = known(request.path_params["name"])
        return json_response({"name": model.name, "ready": not service.draining})

    async def infer(request: Request) -> Response:
        model = known(request.path_params["name"])
        wanted = request.path_params.get("version")
        if wanted is not None and wanted != model.version:
            raise HTTPException(404, f"version {wanted!r} is not served; {model.version!r} is")
        body = await read_body(request, settings.max_body_bytes)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"invalid JSON: {exc}") from None
        job = parse_infer(parsed)
        scores, used = await service.score(job.x)
        return json_response(infer_response(used.name, used.version, job, scores))

    async def metrics(_request: Request) -> Response:
        service.metrics.queue_depth.set(service.batcher.depth())
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(exc.status_code, str(exc.detail))

    async def bad_request(_request: Request, exc: Exception) -> Response:
        return error(400, str(exc))

    async def not_ready(_request: Request, exc: Exception) -> Response:
        return error(503, str(exc))

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
            Route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"]),
            Route("/metrics", metrics),
        ],
        exception_handlers={
            HTTPException: http_error,
            BadRequest: bad_request,
            NotReady: not_ready,
        },
        lifespan=lifespan,
    )
    app.add_middleware(Observe, metrics=service.metrics)
    return app
