"""Run the app under uvicorn (uvloop, httptools), with a draining shutdown on SIGTERM:
readiness goes false at once, requests keep being served for `drain_s` (while endpoints drop
the pod), then uvicorn stops accepting, lets in-flight requests finish, and exits."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import uvicorn

from workloads.inference.app import create_app
from workloads.inference.service import InferenceService

log = logging.getLogger("workloads.inference")
GRACEFUL_TIMEOUT_S = 30


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, service: InferenceService) -> None:
        super().__init__(config)
        self.service = service

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


def serve(service: InferenceService) -> None:
    config = uvicorn.Config(
        create_app(service),
        host=service.settings.host,
        port=service.settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,  # keep the JSON logging set up by the caller
        timeout_graceful_shutdown=GRACEFUL_TIMEOUT_S,
    )
    # uvicorn re-raises the signal it caught once it has shut down; with this handler behind it,
    # a drained shutdown ends the process with status 0 instead of dying of that signal.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
    DrainingServer(config, service).run()
