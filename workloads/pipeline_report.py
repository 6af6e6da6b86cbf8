"""What `make pipeline` prints: the run's numbers as one dataclass, an aligned table or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class PipelineReport:
    """Every figure of one pipeline run; each one is read back from what the stage produced."""

    # where it ran
    bootstrap_servers: str = ""
    embedded_broker: bool = False
    store_url: str = ""
    artifacts_dir: str = ""
    topics: dict[str, str] = field(default_factory=dict)  # role -> topic name
    groups: dict[str, str] = field(default_factory=dict)  # workload -> consumer group
    # produce
    produced: int = 0
    malformed: int = 0
    produce_records_per_s: float = 0.0
    # train
    trained: int = 0
    held_out: int = 0
    dead_lettered: int = 0
    training_seconds: float = 0.0
    training_records_per_s: float = 0.0
    roc_auc: float = 0.0
    model_version: str = ""
    promoted: bool = False
    # serve
    requests: int = 0
    request_errors: int = 0
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    # score
    consumed: int = 0
    scored: int = 0
    scorer_dead_lettered: int = 0
    scorer_model_version: str = ""
    # verify: the committed offsets of each group on the transactions topic, by partition
    committed: dict[str, dict[int, int]] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # what -> URL or path
    stages: dict[str, float] = field(default_factory=dict)  # stage -> seconds, in order
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _n(value: int) -> str:
    return f"{value:,}"


def rows(r: PipelineReport) -> list[tuple[str, str, str]]:
    """(section, label, value) for the table, in reading order."""
    broker = f"{r.bootstrap_servers} ({'embedded' if r.embedded_broker else 'from environment'})"
    committed = ", ".join(
        f"{group} {sum(parts.values()):,}" for group, parts in r.committed.items()
    )
    out = [
        ("platform", "kafka", broker),
        ("", "object store", r.store_url),
        ("", "topics", ", ".join(r.topics.values())),
        ("produce", "records produced", f"{_n(r.produced)} ({_n(r.malformed)} malformed)"),
        ("", "rate", f"{r.produce_records_per_s:,.0f} records/s"),
        ("train", "trained / held out", f"{_n(r.trained)} / {_n(r.held_out)}"),
        ("", "dead-lettered", _n(r.dead_lettered)),
        (
            "",
            "throughput",
            f"{r.training_records_per_s:,.0f} records/s over {r.training_seconds:.1f} s",
        ),
        ("", "ROC AUC (held out)", f"{r.roc_auc:.4f}"),
        ("", "model version", f"{r.model_version} ({'' if r.promoted else 'not '}promoted)"),
        ("serve", "requests", f"{_n(r.requests)} ({_n(r.request_errors)} errors)"),
        ("", "throughput", f"{r.requests_per_s:,.0f} requests/s"),
        ("", "latency p50 / p99", f"{r.p50_ms:.2f} ms / {r.p99_ms:.2f} ms"),
        ("score", "records consumed", _n(r.consumed)),
        ("", "scores produced", _n(r.scored)),
        ("", "dead-lettered", _n(r.scorer_dead_lettered)),
        ("", "model version", r.scorer_model_version),
        ("verify", "committed offsets", committed),
    ]
    out += [("artifacts" if i == 0 else "", k, v) for i, (k, v) in enumerate(r.artifacts.items())]
    timings = ", ".join(f"{name} {s:.1f}" for name, s in r.stages.items())
    out += [("time", "total", f"{r.seconds:.1f} s"), ("", "stages (s)", timings)]
    return out


def render_table(r: PipelineReport) -> str:
    table = rows(r)
    section = max(len(s) for s, _, _ in table)
    label = max(len(lbl) for _, lbl, _ in table)
    return "\n".join(f"{s:<{section}}  {lbl:<{label}}  {v}" for s, lbl, v in table)
