"""`ascent train`'s logic: the run's Job from the template the program declares, and its
submission and follow-up through a fake of the client's BatchV1Api (no cluster here)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import kubernetes_validate
import pytest

from infra.config import SUPPORTED_KUBERNETES_VERSIONS
from infra.contract import NS_TRAINING
from infra.k8s.render import manifest
from infra.offline import Inventory
from infra.train import Runs, TrainError, job_from_template, run_name, status_line
from tests.infra.k8s.conftest import declaring_stack
from tests.infra.k8s.fake_batch import FakeBatch, job_status

RUN = "trainer-20261201-120000"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def template_of(inv: Inventory) -> dict[str, Any]:
    """The template CronJob as the API would return it (the program's manifest, plus what the
    server adds)."""
    (cron,) = inv.of_type("kubernetes:batch/v1:CronJob")
    doc = manifest(cron)
    doc["metadata"] |= {"uid": "0d9e-uid", "resourceVersion": "42", "generation": 1}
    doc["status"] = {}
    return doc


def fake_with(template: dict[str, Any], *statuses: dict[str, Any]) -> FakeBatch:
    fake = FakeBatch(script=list(statuses))
    fake.cronjobs[(NS_TRAINING, template["metadata"]["name"])] = template
    return fake


@pytest.mark.parametrize("stack", ["local", "aws-prod"])
def test_the_run_is_the_templates_job_under_its_own_name(inventories, stack):
    template = template_of(inventories[stack])
    job = job_from_template(template, RUN)
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert job["metadata"]["name"] == RUN and job["metadata"]["namespace"] == NS_TRAINING
    assert job["spec"] == template["spec"]["jobTemplate"]["spec"]  # the program's builder's
    assert job["metadata"]["labels"] == template["spec"]["jobTemplate"]["metadata"]["labels"]
    assert job["metadata"]["annotations"] == {
        "ascent.dev/stack": declaring_stack(inventories[stack]),
        "cronjob.kubernetes.io/instantiate": "manual",
    }
    # no owner reference: replacing or deleting the template must not delete a running run
    assert set(job["metadata"]) == {"name", "namespace", "labels", "annotations"}
    job["spec"]["backoffLimit"] = 0
    assert template["spec"]["jobTemplate"]["spec"]["backoffLimit"] > 0  # a copy


@pytest.mark.parametrize("where", ["aws-prod", "multi-node"])
def test_the_run_validates_on_the_oldest_and_newest_kubernetes(inventories, variants, where):
    inv = inventories[where] if where in inventories else variants[where]
    job = job_from_template(template_of(inv), RUN)
    for version in (SUPPORTED_KUBERNETES_VERSIONS[0], SUPPORTED_KUBERNETES_VERSIONS[-1]):
        kubernetes_validate.validate(job, version + ".0", strict=True)


def test_a_multi_node_run_meets_at_its_own_index_0(variants):
    """Kubernetes expands `$(RUN_NAME)` from the pod's job-name label: the run's own name."""
    job = job_from_template(template_of(variants["multi-node"]), RUN)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    endpoint = env["RDZV_ENDPOINT"].replace("$(RUN_NAME)", RUN)
    assert endpoint == f"{RUN}-0.trainer.{NS_TRAINING}.svc:29400"
    assert job["spec"]["completionMode"] == "Indexed"


def test_run_names_are_dns_labels_short_enough_for_indexed_hostnames():
    name = run_name(datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC))
    assert name == RUN
    assert DNS_LABEL.match(name) and len(f"{name}-63") <= 63
    assert run_name().startswith("trainer-2")


def test_submit_then_follow_to_success(inventories):
    fake = fake_with(
        template_of(inventories["aws-prod"]),
        job_status(active=1),
        job_status(active=1),  # no change: no new line
        job_status(active=1, ready=1),
        job_status(succeeded=1, conditions=[("SuccessCriteriaMet", "CompletionsReached")]),
        job_status(succeeded=1, conditions=[("Complete", "CompletionsReached")]),
    )
    runs = Runs(fake, "aws-prod-k8s")
    name = runs.submit(job_from_template(runs.template(), RUN))
    assert name == RUN and (NS_TRAINING, RUN) in fake.jobs
    out, sleeps = io.StringIO(), []
    assert runs.follow(name, out=out, poll_s=7, sleep=sleeps.append) == 0
    assert out.getvalue().splitlines() == [
        f"{RUN}: running: active 1 (ready 0), succeeded 0/1, failed 0",
        f"{RUN}: running: active 1 (ready 1), succeeded 0/1, failed 0",
        f"{RUN}: running: active 0 (ready 0), succeeded 1/1, failed 0",
        f"{RUN}: complete: active 0 (ready 0), succeeded 1/1, failed 0 (CompletionsReached)",
    ]
    assert sleeps == [7] * 4
    assert fake.calls[:3] == [
        f"read cronjob {NS_TRAINING}/trainer",
        f"list jobs {NS_TRAINING} app.kubernetes.io/name=trainer,app.kubernetes.io/part-of=ascent",
        f"create job {NS_TRAINING}/{RUN}",
    ]


def test_a_failed_run_exits_1_with_its_reason(inventories):
    fake = fake_with(
        template_of(inventories["local"]),
        job_status(active=1),
        job_status(failed=1, conditions=[("FailureTarget", "PodFailurePolicy")]),
        job_status(failed=1, conditions=[("Failed", "PodFailurePolicy")]),
    )
    runs = Runs(fake, "local")
    runs.submit(job_from_template(runs.template(), RUN))
    out = io.StringIO()
    assert runs.follow(RUN, out=out, poll_s=0, sleep=lambda _: None) == 1
    assert out.getvalue().splitlines()[-1] == (
        f"{RUN}: failed: active 0 (ready 0), succeeded 0/1, failed 1 (PodFailurePolicy)"
    )


def test_a_run_that_vanishes_while_followed_fails(inventories):
    runs = Runs(fake_with(template_of(inventories["local"])), "local")
    out = io.StringIO()
    assert runs.follow("trainer-gone", out=out, sleep=lambda _: None) == 1
    assert "the Job is gone" in out.getvalue()


def test_no_second_run_while_one_is_going(inventories):
    template = template_of(inventories["local"])
    fake = fake_with(template)
    runs = Runs(fake, "local")
    runs.submit(job_from_template(template, "trainer-a"))  # no status yet: still running
    with pytest.raises(TrainError, match="run trainer-a has not finished"):
        runs.submit(job_from_template(template, "trainer-b"))
    fake.jobs[(NS_TRAINING, "trainer-a")]["status"] = job_status(
        succeeded=1, conditions=[("Complete", "")]
    )
    assert runs.submit(job_from_template(template, "trainer-b")) == "trainer-b"


def test_a_missing_template_says_to_run_pulumi_up():
    with pytest.raises(TrainError, match=r"no run template .* run `pulumi up` for stack 'local'"):
        Runs(FakeBatch(), "local").template()


def test_another_stacks_template_is_refused(inventories):
    runs = Runs(fake_with(template_of(inventories["aws-dev"])), "aws-prod-k8s")
    with pytest.raises(TrainError, match="declared by stack 'aws-dev-k8s', not 'aws-prod-k8s'"):
        runs.template()


def test_status_line_counts_indexed_completions():
    job = {"metadata": {"name": RUN}, "spec": {"completions": 3}, "status": {"succeeded": 2}}
    assert status_line(job) == f"{RUN}: running: active 0 (ready 0), succeeded 2/3, failed 0"
