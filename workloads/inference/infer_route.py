"""The infer routes as a bare ASGI layer in front of Starlette's router.

`POST /v2/models/{name}/infer` and `POST /v2/models/{name}/versions/{version}/infer` are the
hot path: at 1 row a request, Starlette's `Request`, routing, `Response` and exception
middleware cost more CPU than the forward pass (measured: ~0.17 ms of a 0.21 ms request with
the model skipped; uvicorn itself ~0.04 ms). This layer reads the body straight from
`receive` (the same size limit, and `ClientDisconnect` when the client goes away), calls the
app's handler and sends the answer as two ASGI messages. `admit` runs first, before a byte of
the body is read: an unknown model or version (404), or no model loaded yet (503), is answered
at once, however large the body a client is still sending. Every other request, and any other
method on these paths (405), goes on to the router unchanged.

Errors are the app's own: `fault` turns an exception into the same response the Starlette
exception handlers give, so both paths answer a mistake alike; an exception `fault` does not
know propagates (a 500 from uvicorn, as from Starlette).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, bytes, Headers]  # status, body, headers (content-length is added)
# (body, Inference-Header-Content-Length or None) -> answer, for an admitted request
Handler = Callable[[bytes, str | None], Awaitable[Answer]]
Admit = Callable[[str, str | None], object]  # (name, version): raises to refuse, body unread
Fault = Callable[[Exception, str], Response | None]


def infer_target(path: str) -> tuple[str, str | None] | None:
    """(name, version) of an infer path, None for any other path (as Starlette's `{name}`
    matches: one non-empty segment)."""
    parts = path.split("/")
    if parts[-1] != "infer" or parts[1:3] != ["v2", "models"] or not parts[3]:
        return None
    if len(parts) == 5:
        return parts[3], None
    if len(parts) == 7 and parts[4] == "versions" and parts[5]:
        return parts[3], parts[5]
    return None


async def read_body(receive: Receive, limit: int, declared: bytes | None) -> bytes:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared.decode()} bytes is over the limit of {limit}")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class InferRoute:
    def __init__(
        self,
        app: ASGIApp,
        admit: Admit,
        handle: Handler,
        fault: Fault,
        max_body_bytes: int,
        header: str,
    ) -> None:
        self.app, self.admit, self.handle, self.fault = app, admit, handle, fault
        self.max_body_bytes, self.header = max_body_bytes, header.lower().encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = None
        if scope["type"] == "http" and scope["method"] == "POST":
            target = infer_target(scope["path"])
        if target is None:
            await self.app(scope, receive, send)
            return
        declared = binary = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                declared = value
            elif key == self.header:
                binary = value.decode("latin-1")
        try:
            self.admit(*target)
            body = await read_body(receive, self.max_body_bytes, declared)
            status, payload, headers = await self.handle(body, binary)
        except Exception as exc:
            response = self.fault(exc, scope["path"])
            if response is None:
                raise
            await response(scope, receive, send)
            return
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
