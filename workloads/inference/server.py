"""Run the app under uvicorn (uvloop, httptools), with a draining shutdown on SIGTERM:
readiness goes false at once, requests keep being served for `drain_s` (while endpoints drop
the pod), then uvicorn stops accepting, lets in-flight requests finish, and exits. The gRPC
listener (`grpc_service`, when `grpc_port` is set) runs on the same event loop and stops first.

Connections are bounded (`GuardedHttpToolsProtocol`), because each holds a descriptor and a
server out of descriptors can neither accept nor read a new model version:

- past `connection_limit()` open connections, a new one is answered 503 and closed at once;
- a new connection, or a request once begun, must complete its request line and headers
  within `header_timeout_s` (408 and closed; a connection that never sent a byte is just
  closed), and its body within `body_timeout_s` after them (408 and closed);
- request line and headers over `max_header_bytes` get 431 and the connection closed;
- an idle kept-alive connection is closed after `keep_alive_timeout_s`.

Those answers are sent, the write side shut, and the connection closed when the client closes
its side or `LINGER_S` later, so a client still sending reads the answer instead of a reset.
uvicorn has none of the timeouts for httptools, nor a size limit (only h11 has one), and its
`limit_concurrency` is checked only once a request has arrived, so idle connections past it
keep their descriptors: hence the subclass.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from asyncio import TimerHandle
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, ClassVar

import httptools
import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from workloads.inference.app import create_app
from workloads.inference.service import InferenceService
from workloads.inference.settings import ServerSettings

log = logging.getLogger("workloads.inference")
GRACEFUL_TIMEOUT_S = 30
REFUSED_LOG_EVERY_S = 10.0
LINGER_S = 1.0  # how long a refused connection waits for its client to close first


@dataclass
class Limits:
    max_connections: int
    max_header_bytes: int
    header_timeout_s: float
    body_timeout_s: float
    keep_alive_timeout_s: float
    max_lingering: int = 32  # refused connections waiting to close; past it, closed at once
    lingering: int = field(default=0, compare=False)
    refused: int = field(default=0, compare=False)  # connections refused, in all
    logged_at: float = field(default=float("-inf"), compare=False)

    @classmethod
    def of(cls, settings: ServerSettings) -> Limits:
        return cls(
            max_connections=settings.connection_limit(),
            max_header_bytes=settings.max_header_bytes,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            keep_alive_timeout_s=settings.keep_alive_timeout_s,
            max_lingering=max(1, settings.fd_reserve // 4),
        )


class _Refusal(Exception):
    """Raised from a parser callback to stop parsing and answer `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _answer(status: int, message: str) -> bytes:
    body = orjson.dumps({"error": message})
    head = STATUS_LINE[status] + b"".join(
        [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
    )
    return head + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a connection cap, header/body deadlines and a header
    size limit (module docstring). `limits` is set on the subclass `guarded_protocol` makes."""

    limits: ClassVar[Limits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.limits.keep_alive_timeout_s  # type: ignore[assignment]
        self._deadline: TimerHandle | None = None
        self._registered = False  # counted in the server's connections
        self._closing = False  # answered and closing: whatever else arrives is dropped
        self._lingers = False
        self._in_header = True  # reading a request line and headers
        self._header_bytes = 0
        self._started_request = False

    # --- connection -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self.transport = transport
            self.limits.refused += 1
            now = self.loop.time()
            if now - self.limits.logged_at >= REFUSED_LOG_EVERY_S:  # not one line per refusal
                self.limits.logged_at = now
                log.warning(
                    "connections refused: at the connection limit",
                    extra={"limit": self.limits.max_connections, "refused": self.limits.refused},
                )
            self._refuse(503, f"over the limit of {self.limits.max_connections} connections")
            return
        super().connection_made(transport)
        self._registered = True
        self._arm(self.limits.header_timeout_s, self._header_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._lingers:
            self._lingers = False
            self.limits.lingering -= 1
        if self._registered:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        self._unset_keepalive_if_required()
        counting = self._in_header  # the header began in an earlier read: all of this is header
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Refusal):
                self._refuse(exc.__context__.status, str(exc.__context__))
                return
            self._bad_request()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            self._bad_request()
            return
        if counting and self._in_header:
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(431, self._too_large())

    def _bad_request(self) -> None:
        msg = "Invalid HTTP request received."
        self.logger.warning(msg)
        self._disarm()
        self._closing = True
        self.send_400_response(msg)

    # --- parser callbacks -----------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_header, self._header_bytes, self._started_request = True, 0, True
        if self._deadline is None:  # a kept-alive connection's next request
            self._arm(self.limits.header_timeout_s, self._header_timed_out)

    def on_headers_complete(self) -> None:
        self._in_header = False
        size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
        if size > self.limits.max_header_bytes:
            raise _Refusal(431, self._too_large())
        self._disarm()
        self._arm(self.limits.body_timeout_s, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # --- deadlines and answers ------------------------------------------------------------
    def _too_large(self) -> str:
        return f"request line and headers over the limit of {self.limits.max_header_bytes} bytes"

    def _arm(self, delay: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _header_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._started_request:  # connected and never sent a byte: nothing to answer
            self._closing = True
            self.transport.close()
            return
        self._refuse(408, f"request headers not received within {self.limits.header_timeout_s}s")

    def _body_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or (self.cycle and self.cycle.response_started):
            return
        self._refuse(408, f"request body not received within {self.limits.body_timeout_s}s")

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` (unless a response has begun), shut the write side, and close once
        the client closes its side or `LINGER_S` later."""
        self._disarm()
        self._closing = True
        transport = self.transport
        if transport.is_closing():
            return
        if self._registered and self.cycle is not None:
            self.cycle.keep_alive = False
        if not (self.cycle and self.cycle.response_started):
            transport.write(_answer(status, message))
        if self.limits.lingering >= self.limits.max_lingering or not transport.can_write_eof():
            transport.close()
            return
        self.limits.lingering += 1
        self._lingers = True
        transport.write_eof()
        self._deadline = self.loop.call_later(LINGER_S, transport.close)

    def timeout_keep_alive_handler(self) -> None:
        self._closing = True
        super().timeout_keep_alive_handler()


def guarded_protocol(limits: Limits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class uvicorn is given: `GuardedHttpToolsProtocol` bound to `limits`."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"limits": limits})


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, service: InferenceService) -> None:
        super().__init__(config)
        self.service = service
        self.grpc: Any = None  # grpc.aio.Server once started
        self.failed = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.service.draining or not self.service.settings.drain_s:
            self.service.draining = True
            super().handle_exit(sig, frame)
            return
        self.service.draining = True
        log.info("draining before shutdown", extra={"seconds": self.service.settings.drain_s})
        timer = threading.Timer(self.service.settings.drain_s, super().handle_exit, (sig, frame))
        timer.daemon = True
        timer.start()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)  # the lifespan (batcher, model watcher), then HTTP
        if self.should_exit or not self.service.settings.grpc_port:
            return
        from workloads.inference.grpc_service import create_server  # grpc only when used

        try:
            self.grpc = create_server(self.service)
            await self.grpc.start()
        except Exception as exc:
            log.error("cannot start the gRPC listener", extra={"error": str(exc)})
            self.grpc = None
            self.failed = self.should_exit = True
            return
        log.info("gRPC listening", extra={"port": self.service.settings.grpc_port})

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.grpc is not None:  # refuse new calls, let those in flight finish
            await self.grpc.stop(GRACEFUL_TIMEOUT_S)
        await super().shutdown(sockets)


def serve(service: InferenceService) -> int:
    config = uvicorn.Config(
        create_app(service),
        host=service.settings.host,
        port=service.settings.port,
        loop="uvloop",
        http=guarded_protocol(Limits.of(service.settings)),
        lifespan="on",
        access_log=False,
        log_config=None,  # keep the JSON logging set up by the caller
        timeout_graceful_shutdown=GRACEFUL_TIMEOUT_S,
    )
    # uvicorn re-raises the signal it caught once it has shut down; with this handler behind it,
    # a drained shutdown ends the process with status 0 instead of dying of that signal.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
    server = DrainingServer(config, service)
    server.run()
    return 1 if server.failed else 0
