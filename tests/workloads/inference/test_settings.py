"""Server and scorer settings: flags over the environment, errors that name the setting."""

from __future__ import annotations

import pytest

from workloads.inference.settings import parse_scorer, parse_server


def test_flags_override_the_environment(monkeypatch):
    monkeypatch.setenv("INFER_MAX_BATCH_SIZE", "32")
    monkeypatch.setenv("KAFKA_GROUP_ID", "scores-b")
    assert parse_server([]).max_batch_size == 32
    assert parse_server(["--max-batch-size", "8"]).max_batch_size == 8
    assert parse_scorer([]).group_id == "scores-b"


@pytest.mark.parametrize(
    ("parse", "argv", "named"),
    [
        (parse_server, ["--max-batch-size", "0"], "max_batch_size"),
        (parse_server, ["--mode", "fast"], "mode"),
        (parse_server, ["--port", "70000"], "port"),
        (parse_scorer, ["--batch-records", "-1"], "batch_records"),
    ],
)
def test_bad_settings_name_the_setting(parse, argv, named):
    with pytest.raises(SystemExit, match=named):
        parse(argv)
