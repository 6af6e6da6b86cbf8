"""Trainer settings: flags over environment variables (`TRAIN_*`), validated with clear errors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.names import GROUP_TRAINER, TOPIC_DLQ, TOPIC_FEATURES, TOPIC_TRANSACTIONS
from workloads.common.flags import parse_flags


class TrainerSettings(BaseSettings):
    """The trainer: Kafka -> PyTorch -> checkpoints -> a gated, published model."""

    model_config = SettingsConfigDict(env_prefix="TRAIN_", extra="forbid", populate_by_name=True)

    input: Literal["records", "features"] = Field(
        default="records",
        description="records: JSON transactions; features: the feature stage's Arrow batches",
    )
    topic: str = Field(default="", description="default: transactions, or features for features")
    dlq_topic: str = TOPIC_DLQ
    group_id: str = Field(default=GROUP_TRAINER, validation_alias="KAFKA_GROUP_ID")
    batch_size: int = Field(default=256, ge=1, le=65536)
    learning_rate: float = Field(default=3e-3, gt=0, le=1)
    pos_weight: float = Field(default=10.0, gt=0, description="weight of the rare fraud class")
    width: int = Field(default=64, ge=1, le=16384)
    depth: int = Field(default=2, ge=1, le=64)
    checkpoint_every: int = Field(default=2000, ge=1, description="steps between checkpoints")
    checkpoint_interval_s: float = Field(
        default=60.0, gt=0, description="seconds between checkpoints (whichever comes first)"
    )
    fresh: bool = Field(
        default=False,
        description="start a new model even though this run has checkpoints or committed offsets",
    )
    keep_checkpoints: int = Field(default=3, ge=1)
    max_records: int = Field(default=0, ge=0, description="stop after this many (0: no limit)")
    idle_timeout_s: float = Field(default=5.0, gt=0, description="stop when no data this long")
    poll_timeout_s: float = Field(default=0.5, gt=0)
    poll_records: int = Field(default=4096, ge=1, le=100000, description="records per poll")
    eval_every: int = Field(default=10, ge=2, description="1 record in N is held out")
    eval_cap: int = Field(default=20000, ge=100)
    threshold: float = Field(default=0.5, gt=0, lt=1)
    min_auc: float = Field(default=0.85, ge=0, le=1, description="gate for moving `latest`")
    model_name: str = "fraud-detector"
    run_id: str = Field(default="default", pattern=r"^[A-Za-z0-9._-]+$")
    seed: int = 0
    threads: int = Field(default=0, ge=0, description="torch CPU threads (0: torch's default)")
    log_every: int = Field(default=20, ge=1)
    fail_on_gate: bool = False

    @model_validator(mode="after")
    def _default_topic(self) -> TrainerSettings:
        if not self.topic:
            self.topic = TOPIC_FEATURES if self.input == "features" else TOPIC_TRANSACTIONS
        return self


def parse_settings(argv: list[str] | None = None) -> TrainerSettings:
    """Flags (`--batch-size 512`) override `TRAIN_BATCH_SIZE`; errors name the setting."""
    return parse_flags(TrainerSettings, "python -m workloads.training", argv)
