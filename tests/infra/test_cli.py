"""`ascent plan`: the inventory as a table or JSON; bad input is one line and exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from infra.cli import main
from infra.offline import PROJECT_ROOT


@pytest.mark.parametrize("stack", ["local", "aws-dev", "aws-prod"])
def test_plan_json_lists_what_the_program_declares(capsys, stack, inventories):
    assert main(["plan", "--stack", stack, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    custom = list(inventories[stack].custom())
    assert doc["stack"] == stack
    assert doc["resources"] == len(custom) == sum(doc["countsByType"].values())
    listed = [(m["type"], m["name"]) for ms in doc["components"].values() for m in ms]
    assert sorted(listed) == sorted((r.type, r.name) for r in custom)
    assert doc["outputs"]["target"] == inventories[stack].outputs["target"]


def test_plan_table_shows_resources_counts_and_outputs(capsys):
    assert main(["plan", "--stack", "aws-prod"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack aws-prod: ")
    assert "Counts by type" in out and "Outputs" in out
    assert "pulumi:providers:aws" in out and "us-east-1" in out


def test_unknown_stack_is_one_line_and_exit_2(capsys):
    assert main(["plan", "--stack", "staging"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown stack 'staging'" in err


def test_invalid_config_is_one_line_naming_every_key_without_traceback(tmp_path):
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  ascent:target: aws\n  ascent:monthlyBudgetUsd: -1\n  ascent:colour: red\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.cli",
            "plan",
            "--stack",
            "bad",
            "--project-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    for key in ("ascent:region", "ascent:monthlyBudgetUsd", "ascent:colour"):
        assert key in lines[0]


PLAN_KEYS = {
    "stack", "resources", "layers", "components", "countsByType", "outputs", "policy", "cost"
}  # fmt: skip
POLICY_KEYS = {
    "mandatoryViolations", "advisoryViolations", "rules", "violations", "config",
    "enforcementOverrides",
}  # fmt: skip
COST_KEYS = {
    "region", "currency", "pricesAsOf", "minMonthly", "maxMonthly", "gpuHoursAtMax",
    "gpuMonthlyAtMax", "byComponent", "items", "unpriced", "assumptions",
}  # fmt: skip


def _plan_json(capsys, *args: str) -> dict:
    assert main(["plan", "--format", "json", *args]) == 0
    doc: dict = json.loads(capsys.readouterr().out)
    return doc


def test_plan_json_schema_is_stable(capsys):
    doc = _plan_json(capsys, "--stack", "aws-dev")
    assert set(doc) == PLAN_KEYS
    assert set(doc["policy"]) == POLICY_KEYS and set(doc["cost"]) == COST_KEYS
    item = doc["cost"]["items"][0]
    assert set(item) == {"component", "item", "min", "max", "gpuHoursAtMax"}
    assert doc["cost"]["minMonthly"] < doc["cost"]["maxMonthly"]
    assert doc["policy"]["rules"] >= 25 and doc["policy"]["mandatoryViolations"] == 0


def test_plan_table_reports_policies_and_costs(capsys):
    assert main(["plan", "--stack", "aws-prod"]) == 0
    out = capsys.readouterr().out
    assert "Policies (" in out and "no violations" in out
    assert "Monthly cost estimate (USD, us-east-1)" in out and "GPU at maximum scale" in out
    assert "assumes: spot instances at" in out


def test_a_mandatory_violation_fails_the_plan(tmp_path, capsys):
    for name in ("Pulumi.yaml", "Pulumi.aws-prod.yaml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path)
    stack = (tmp_path / "Pulumi.aws-prod.yaml").read_text()
    (tmp_path / "Pulumi.aws-prod.yaml").write_text(
        stack.replace("ascent:maxGpuNodes: 12", "ascent:maxGpuNodes: 2")
    )
    assert main(["plan", "--stack", "aws-prod", "--project-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "[mandatory/high] stack-max-gpu-nodes" in captured.out
    assert "1 mandatory policy violation" in captured.err


def test_budget_flag_fails_when_the_maximum_exceeds_it(capsys):
    assert main(["plan", "--stack", "aws-dev", "--budget", "1000"]) == 1
    assert "exceeds --budget $1,000.00" in capsys.readouterr().err
    assert main(["plan", "--stack", "aws-dev", "--budget", "1000000"]) == 0


def test_compare_prints_a_markdown_delta(tmp_path, capsys):
    base = _plan_json(capsys, "--stack", "aws-dev")
    (tmp_path / "base.json").write_text(json.dumps(base))
    head = _plan_json(capsys, "--stack", "aws-prod")
    assert main(["plan", "--stack", "aws-prod", "--compare", str(tmp_path / "base.json")]) == 0
    md = capsys.readouterr().out
    assert md.startswith("### `ascent plan` for `aws-prod`")
    delta = head["cost"]["maxMonthly"] - base["cost"]["maxMonthly"]
    assert f"| monthly, max scale | ${base['cost']['maxMonthly']:,.2f} |" in md
    assert f"+${delta:,.2f} |" in md
    nat = "aws:ec2/natGateway:NatGateway"
    assert f"| `{nat}` | 1 | 3 | +2 |" in md
    (tmp_path / "junk.json").write_text("{}")
    assert main(["plan", "--stack", "aws-prod", "--compare", str(tmp_path / "junk.json")]) == 2


def test_ascent_pipeline_hands_its_flags_to_the_pipeline(capsys):
    with pytest.raises(SystemExit) as done:
        main(["pipeline", "--help"])
    assert done.value.code == 0
    assert "--records" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["plan", "--stack", "local", "--no-such-flag"])


# `ascent train`, against a fake of the client's BatchV1Api (no cluster here)


@pytest.fixture
def cluster(monkeypatch, inventories):
    """The local stack's cluster after `pulumi up`, holding its run template; `.calls` starts
    with the kubeconfig context asked for, `.script` plays the created Job's statuses."""
    from infra.k8s.render import manifest
    from tests.infra.k8s.fake_batch import FakeBatch

    (cron,) = inventories["local"].of_type("kubernetes:batch/v1:CronJob")
    fake = FakeBatch()
    fake.cronjobs[("training", "trainer")] = manifest(cron)

    def connect(context):
        fake.calls.append(f"connect {context}")
        return fake

    monkeypatch.setattr("infra.train.connect", connect)
    return fake


def test_train_follows_the_run_to_success(capsys, cluster):
    from tests.infra.k8s.fake_batch import job_status

    cluster.script = [job_status(active=1), job_status(succeeded=1, conditions=[("Complete", "")])]
    args = ["--stack", "local", "--follow", "--poll", "0", "--name", "trainer-x"]
    assert main(["train", *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "started run trainer-x (kubectl -n training logs -f job/trainer-x)"
    assert out[1:] == [
        "trainer-x: running: active 1 (ready 0), succeeded 0/1, failed 0",
        "trainer-x: complete: active 0 (ready 0), succeeded 1/1, failed 0",
    ]
    assert cluster.calls[0] == "connect None"  # the current context


def test_train_exits_1_when_the_run_fails(capsys, cluster):
    from tests.infra.k8s.fake_batch import job_status

    cluster.script = [job_status(failed=1, conditions=[("Failed", "BackoffLimitExceeded")])]
    assert main(["train", "--stack", "local", "--follow", "--poll", "0"]) == 1
    assert "failed: " in capsys.readouterr().out


def test_train_without_follow_only_starts_the_run(capsys, cluster):
    assert main(["train", "--stack", "local", "--context", "kind-ascent"]) == 0
    assert capsys.readouterr().out.startswith("started run trainer-")
    assert len(cluster.jobs) == 1 and cluster.calls[0] == "connect kind-ascent"


def test_train_dry_run_prints_the_job_and_creates_nothing(capsys, cluster):
    assert main(["train", "--stack", "local", "--dry-run", "--name", "trainer-x"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert (job["kind"], job["metadata"]["name"]) == ("Job", "trainer-x")
    assert job["spec"] == cluster.cronjobs[("training", "trainer")]["spec"]["jobTemplate"]["spec"]
    assert cluster.jobs == {}


def test_train_notes_a_template_older_than_the_stack_file(capsys, cluster):
    pod = cluster.cronjobs[("training", "trainer")]["spec"]["jobTemplate"]["spec"]["template"]
    image = pod["spec"]["containers"][0]["image"]
    pod["spec"]["containers"][0]["image"] = image.rsplit(":", 1)[0] + ":0.0.9"
    assert main(["train", "--stack", "local", "--dry-run"]) == 0
    assert "not imageTag 0.1.0: run `pulumi up`" in capsys.readouterr().err


def test_train_without_a_template_is_one_line_and_exit_1(capsys, cluster):
    cluster.cronjobs.clear()
    assert main(["train", "--stack", "local"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `pulumi up` for stack 'local' first" in err


def test_train_refuses_another_stacks_cluster_and_unknown_stacks(capsys, cluster):
    assert main(["train", "--stack", "aws-dev"]) == 1  # the cluster holds local's template
    assert "declared by stack 'local', not 'aws-dev-k8s'" in capsys.readouterr().err
    assert main(["train", "--stack", "staging"]) == 2
    assert "unknown stack 'staging'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train"])  # --stack is required
