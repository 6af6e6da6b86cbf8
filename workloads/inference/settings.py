"""Server and scorer settings: flags over environment variables, validated with clear errors."""

from __future__ import annotations

import resource
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.names import GROUP_SCORER, TOPIC_DLQ, TOPIC_SCORES, TOPIC_TRANSACTIONS
from workloads.common.flags import parse_flags

MODEL_NAME = "fraud-detector"
NOFILE_UNLIMITED = 1 << 20  # what an RLIMIT_NOFILE of "unlimited" counts as


def open_files_limit() -> int:
    """This process's soft RLIMIT_NOFILE: how many descriptors it may hold at once."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return NOFILE_UNLIMITED if soft == resource.RLIM_INFINITY else int(soft)


class ServerSettings(BaseSettings):
    """The Open Inference Protocol server (`INFER_*`)."""

    model_config = SettingsConfigDict(env_prefix="INFER_", extra="forbid")

    model_name: str = MODEL_NAME
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=1, le=65535)
    max_batch_size: int = Field(default=64, ge=1, le=65536, description="rows per forward pass")
    max_queue_delay_ms: float = Field(
        default=2.0, ge=0, le=1000, description="longest a request waits for a batch to fill"
    )
    inline_below_ms: float = Field(
        default=1.0,
        ge=0,
        description="batches faster than this run on the event loop (0: always the model thread)",
    )
    threads: int = Field(default=1, ge=0, description="torch CPU threads (0: torch's default)")
    device: str = Field(default="auto", description="auto (cuda when present), cpu or cuda[:N]")
    reload_interval_s: float = Field(default=10.0, gt=0, description="how often to check latest")
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="larger bodies get 413")
    drain_s: float = Field(
        default=0.0, ge=0, le=300, description="after SIGTERM: not ready, still serving, this long"
    )
    mode: Literal["batched", "direct", "skip-model"] = Field(
        default="batched",
        description="direct: one forward pass per request; skip-model: no model call "
        "(both are benchmark baselines)",
    )
    grpc_port: int = Field(
        default=8081,
        ge=0,
        le=65535,
        description="port of the gRPC GRPCInferenceService (0: no gRPC listener)",
    )
    # --- connection limits: every connection holds a descriptor, and so does every reload ----
    max_connections: int = Field(
        default=0,
        ge=0,
        description="open connections per listener (HTTP, and gRPC when on); one more is "
        "answered 503 and closed. 0: (RLIMIT_NOFILE - fd_reserve) / listeners",
    )
    fd_reserve: int = Field(
        default=128,
        ge=16,
        description="descriptors kept free of connections: model reloads, the object store, "
        "logs, torch",
    )
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        le=1 << 20,
        description="request line and headers; larger get 431 and the connection closed",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="a new connection, or a request once begun, must complete its headers "
        "within this; else 408 and closed",
    )
    body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="a request body must arrive in full within this after its headers; "
        "else 408 and closed",
    )
    keep_alive_timeout_s: float = Field(
        default=5.0, gt=0, le=3600, description="an idle kept-alive connection is closed after"
    )
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.grpc_port and self.grpc_port == self.port:
            raise ValueError(f"grpc_port {self.grpc_port} is also the HTTP port; pick another")
        self.connection_limit()  # raises when the descriptors cannot hold what is asked
        return self

    def listeners(self) -> int:
        return 2 if self.grpc_port else 1

    def connection_limit(self) -> int:
        """Connections each listener may hold at once: `max_connections`, or what the open
        files limit leaves after `fd_reserve`, shared by the listeners."""
        nofile, listeners = open_files_limit(), self.listeners()
        room = nofile - self.fd_reserve
        if self.max_connections:
            if self.max_connections * listeners > room:
                raise ValueError(
                    f"max_connections {self.max_connections} x {listeners} listener(s) needs "
                    f"more descriptors than the open files limit ({nofile}) less fd_reserve "
                    f"({self.fd_reserve}) leaves ({room}); lower it or raise `ulimit -n`"
                )
            return self.max_connections
        if room // listeners < 1:
            raise ValueError(
                f"the open files limit ({nofile}) leaves no descriptor for connections after "
                f"fd_reserve ({self.fd_reserve}); raise `ulimit -n` or lower fd_reserve"
            )
        return room // listeners


class ScorerSettings(BaseSettings):
    """The stream scorer (`SCORER_*`): transactions in, fraud scores out."""

    model_config = SettingsConfigDict(env_prefix="SCORER_", extra="forbid", populate_by_name=True)

    model_name: str = MODEL_NAME
    topic: str = TOPIC_TRANSACTIONS
    scores_topic: str = TOPIC_SCORES
    dlq_topic: str = TOPIC_DLQ
    group_id: str = Field(default=GROUP_SCORER, validation_alias="KAFKA_GROUP_ID")
    batch_records: int = Field(default=2048, ge=1, le=100000, description="records per poll")
    poll_timeout_s: float = Field(default=0.5, gt=0)
    threads: int = Field(default=1, ge=0, description="torch CPU threads (0: torch's default)")
    device: str = "auto"
    reload_interval_s: float = Field(default=10.0, gt=0)
    model_wait_s: float = Field(default=300.0, gt=0, description="wait this long for a model")
    idle_timeout_s: float = Field(default=0.0, ge=0, description="exit when idle (0: never)")
    max_records: int = Field(default=0, ge=0, description="exit after this many (0: never)")
    heartbeat_file: str = Field(
        default="", description="touched every loop; a liveness probe checks its age"
    )
    log_level: str = "INFO"


def parse_server(argv: list[str] | None = None) -> ServerSettings:
    return parse_flags(ServerSettings, "python -m workloads.inference", argv)


def parse_scorer(argv: list[str] | None = None) -> ScorerSettings:
    return parse_flags(ScorerSettings, "python -m workloads.inference.scorer", argv)
