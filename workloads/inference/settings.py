"""Server and scorer settings: flags over environment variables, validated with clear errors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.names import GROUP_SCORER, TOPIC_DLQ, TOPIC_SCORES, TOPIC_TRANSACTIONS
from workloads.common.flags import parse_flags

MODEL_NAME = "fraud-detector"


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
    log_level: str = "INFO"


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
