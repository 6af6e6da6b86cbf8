"""`python -m workloads.pipeline` reduced: its report checked against what the run left behind
(the published manifest, the topics read back, the committed offsets, the files), and failing
stages named without hanging."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from workloads.common.objectstore import ObjectStore
from workloads.common.registry import ModelRegistry
from workloads.pipeline import (
    QUICK_JOIN,
    PipelineOptions,
    StageFailed,
    main,
    run_pipeline,
)
from workloads.pipeline_report import PipelineReport, render_table

from .kafka_checks import committed, per_partition, read_all

RECORDS, MALFORMED_EVERY, REQUESTS, PARTITIONS = 4000, 100, 200, 3
STAGES = ["broker", "store", "topics", "produce", "train", "serve", "infer", "score", "verify"]


def _options(tmp_path: Path, bootstrap: str, **changes: Any) -> PipelineOptions:
    """A reduced run on the session broker (so topics and groups get the run's suffix)."""
    reduced = PipelineOptions(
        records=RECORDS,
        requests=REQUESTS,
        concurrency=8,
        malformed_every=MALFORMED_EVERY,
        partitions=PARTITIONS,
        min_auc=0.5,  # a few thousand records: the gate is not what this test is about
        artifacts=tmp_path / "run",
        bootstrap_servers=bootstrap,
        store_url=f"file://{tmp_path / 'store'}",
        scorer_consumer=QUICK_JOIN,
        progress=False,
    )
    return replace(reduced, **changes)


@pytest.fixture(scope="module")
def run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> PipelineReport:
    return run_pipeline(_options(tmp_path_factory.mktemp("pipeline"), kafka_bootstrap))


def test_every_stage_ran_in_order(run):
    assert list(run.stages) == STAGES
    assert not run.embedded_broker
    suffixed = {*run.topics.values(), *run.groups.values()}
    assert len({name.rsplit("-", 1)[1] for name in suffixed}) == 1  # one run, one suffix


def test_model_figures_match_the_published_manifest(run):
    registry = ModelRegistry(ObjectStore.from_url(run.store_url), "fraud-detector")
    manifest = registry.manifest(run.model_version)
    assert registry.latest()["version"] == run.model_version and run.promoted
    assert manifest["metrics"]["roc_auc"] == run.roc_auc
    assert manifest["metrics"]["train_records"] == run.trained
    trainer_offsets = run.committed[run.groups["trainer"]]
    assert manifest["data"] == {
        "topic": run.topics["transactions"],
        "offsets": {str(p): offset for p, offset in trainer_offsets.items()},
    }
    assert run.trained + run.held_out + run.dead_lettered == run.produced == RECORDS
    assert run.artifacts["manifest"] == registry.store.url(
        registry.key(run.model_version, "manifest.json")
    )
    curve = Path(run.artifacts["training curve"].removeprefix("file://"))
    assert curve.read_bytes().startswith(b"\x89PNG")
    assert Path(run.artifacts["model"].removeprefix("file://")).stat().st_size > 0


def test_scores_and_dead_letters_match_the_topics(run, kafka_bootstrap):
    malformed = RECORDS // MALFORMED_EVERY
    assert run.malformed == run.dead_lettered == run.scorer_dead_lettered == malformed
    assert run.consumed == RECORDS and run.scored == RECORDS - malformed
    scores = [
        orjson.loads(value)
        for values in read_all(
            kafka_bootstrap, run.topics["scores"], run.scored, PARTITIONS
        ).values()
        for value in values
    ]
    assert len(scores) == run.scored
    assert {s["model_version"] for s in scores} == {run.model_version} == {run.scorer_model_version}
    assert all(0.0 <= s["score"] <= 1.0 for s in scores)
    # the trainer and the scorer each dead-letter every malformed record once
    dlq = read_all(kafka_bootstrap, run.topics["dlq"], 2 * malformed, 1)
    assert sum(map(len, dlq.values())) == 2 * malformed


def test_committed_offsets_cover_the_topic(run, kafka_bootstrap):
    topic = run.topics["transactions"]
    counts = per_partition(kafka_bootstrap, topic, RECORDS, PARTITIONS)
    assert sum(counts.values()) == RECORDS
    for group in run.groups.values():
        assert committed(kafka_bootstrap, group, topic, PARTITIONS) == counts
        assert run.committed[group] == counts


def test_inference_burst_and_report(run):
    assert (run.requests, run.request_errors) == (REQUESTS, 0)
    assert run.requests_per_s > 0 and 0 < run.p50_ms <= run.p99_ms
    written = json.loads(Path(run.artifacts["report"]).read_text())
    assert written == json.loads(run.to_json())
    table = render_table(run)
    for figure in (f"{run.scored:,}", run.model_version, f"{run.roc_auc:.4f}"):
        assert figure in table


def test_an_unreachable_broker_fails_at_topics_within_its_bound(tmp_path):
    dead = "127.0.0.1:1"  # nothing listens on port 1
    began = time.monotonic()
    with pytest.raises(StageFailed) as failed:
        run_pipeline(_options(tmp_path, dead, bounds={"topics": 2}))
    assert failed.value.stage == "topics"
    assert "did not finish within 2 s" in failed.value.reason
    assert time.monotonic() - began < 15


def test_a_stage_past_its_bound_stops_its_workload(tmp_path, kafka_bootstrap):
    began = time.monotonic()
    with pytest.raises(StageFailed) as failed:
        run_pipeline(_options(tmp_path, kafka_bootstrap, records=2000, bounds={"train": 0.3}))
    assert (failed.value.stage, failed.value.reason) == ("train", "did not finish within 0.3 s")
    assert time.monotonic() - began < 30  # the trainer was asked to stop, and did


def test_the_command_names_the_failing_stage(tmp_path, monkeypatch, capsys, kafka_bootstrap):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("OBJECT_STORE_URL", "ftp://nowhere/models")
    assert main(["--records", "10", "--artifacts", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("pipeline failed at stage store: 'ftp://nowhere/models'")
