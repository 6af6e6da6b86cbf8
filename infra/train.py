"""`ascent train`: start a training run from the template `pulumi up` declared, and follow it.

Training runs are not infrastructure (see `infra.k8s.training`): the program declares the run
template, the CronJob `trainer` in the training namespace, whose `jobTemplate` comes from the
builder `infra.k8s.training.job_template`, with the stack's resolved values (image, bucket,
brokers) in it. This module reads that template from the cluster of the current kubeconfig
context and makes the run's Job from it with the program's own `infra.k8s.training.run_job`,
the way `kubectl create job --from=cronjob/trainer` does, then follows the Job until it
finishes: exit 0 when it succeeded, 1 when it failed.

Only `BatchV1Api` is used, with `_preload_content=False`: the objects travel as the API's JSON,
so no field is lost to a client model older than the server.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from infra.contract import NS_TRAINING
from infra.k8s.training import STACK_ANNOTATION, TEMPLATE, run_job

POLL_S = 15.0
RUN_SELECTOR = "app.kubernetes.io/name=trainer,app.kubernetes.io/part-of=ascent"
TERMINAL = {"Complete": 0, "Failed": 1}  # Job conditions that end a run, and the exit codes


class TrainError(RuntimeError):
    """A run could not be started or followed; the message is one line for the user."""


class BatchApi(Protocol):
    """The part of `kubernetes.client.BatchV1Api` this module calls."""

    def read_namespaced_cron_job(self, name: str, namespace: str, **kwargs: Any) -> Any: ...

    def list_namespaced_job(self, namespace: str, **kwargs: Any) -> Any: ...

    def create_namespaced_job(self, namespace: str, body: Any, **kwargs: Any) -> Any: ...

    def read_namespaced_job_status(self, name: str, namespace: str, **kwargs: Any) -> Any: ...


def _json(response: Any) -> dict[str, Any]:
    """The body of a `_preload_content=False` response (urllib3's, with `.data` bytes)."""
    doc: dict[str, Any] = json.loads(response.data or b"{}")
    return doc


def run_name(now: datetime | None = None) -> str:
    """`trainer-YYYYMMDD-HHMMSS` (UTC): a DNS label short enough for Indexed pods' hostnames
    (`<run>-<index>`)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{TEMPLATE}-{stamp}"


def job_from_template(cronjob: dict[str, Any], name: str) -> dict[str, Any]:
    """The run `name` from the template CronJob (as the API returns it)."""
    annotations = (cronjob.get("metadata") or {}).get("annotations") or {}
    stack = {k: v for k, v in annotations.items() if k == STACK_ANNOTATION}
    return run_job(name, cronjob["spec"]["jobTemplate"], stack)


def is_finished(job: dict[str, Any]) -> str | None:
    """`Complete` or `Failed` once the Job has that condition (status "True"), else None."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in TERMINAL and cond.get("status") == "True":
            return str(cond["type"])
    return None


def status_line(job: dict[str, Any]) -> str:
    """One line of a run's progress: its pods by state, against the completions it needs."""
    status = job.get("status") or {}
    want = (job.get("spec") or {}).get("completions") or 1
    counts = (
        f"active {status.get('active', 0)} (ready {status.get('ready', 0)}), "
        f"succeeded {status.get('succeeded', 0)}/{want}, failed {status.get('failed', 0)}"
    )
    done = is_finished(job)
    if done is None:
        return f"{job['metadata']['name']}: running: {counts}"
    cond = next(c for c in status["conditions"] if c.get("type") == done)
    why = ": ".join(p for p in (cond.get("reason"), cond.get("message")) if p)
    return f"{job['metadata']['name']}: {done.lower()}: {counts}" + (f" ({why})" if why else "")


@dataclass(frozen=True)
class Runs:
    """Runs of one stack's template, through a `BatchV1Api` (or a fake of it in tests)."""

    batch: BatchApi
    stack: str
    namespace: str = NS_TRAINING

    def _call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`method`'s JSON body; None for a 404; TrainError for any other API or connection
        error."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return _json(method(*args, _preload_content=False, **kwargs))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise TrainError(f"{what}: {exc.status} {exc.reason}") from None
        except HTTPError as exc:
            raise TrainError(f"{what}: cannot reach the cluster ({exc})") from None

    def template(self) -> dict[str, Any]:
        """The template CronJob; TrainError when it is missing or another stack's."""
        cronjob = self._call(
            "reading the run template", self.batch.read_namespaced_cron_job, TEMPLATE,
            self.namespace,
        )  # fmt: skip
        if cronjob is None:
            raise TrainError(
                f"no run template (CronJob {self.namespace}/{TEMPLATE}) in this cluster: "
                f"run `pulumi up` for stack {self.stack!r} first, or pick its cluster "
                "with --context"
            )
        annotations = (cronjob.get("metadata") or {}).get("annotations") or {}
        declared = annotations.get(STACK_ANNOTATION)
        if declared != self.stack:
            raise TrainError(
                f"the run template in this cluster was declared by stack {declared!r}, not "
                f"{self.stack!r}: pick the stack's cluster with --context"
            )
        result: dict[str, Any] = cronjob
        return result

    def active(self) -> list[str]:
        """Runs of the template (manual or scheduled) that have not finished."""
        jobs = self._call(
            "listing runs", self.batch.list_namespaced_job, self.namespace,
            label_selector=RUN_SELECTOR,
        ) or {}  # fmt: skip
        return sorted(j["metadata"]["name"] for j in jobs.get("items", []) if not is_finished(j))

    def submit(self, job: dict[str, Any]) -> str:
        """Create the run unless another one is still going (two runs would write the same
        checkpoints); its name."""
        running = self.active()
        if running:
            raise TrainError(
                f"run {', '.join(running)} has not finished: wait for it, or stop it with "
                f"`kubectl -n {self.namespace} delete job {running[0]}`"
            )
        name = job["metadata"]["name"]
        created = self._call(
            f"creating Job {name}", self.batch.create_namespaced_job, self.namespace, job
        )
        if created is None:
            raise TrainError(f"creating Job {name}: namespace {self.namespace} not found")
        return str(created["metadata"]["name"])

    def follow(
        self,
        name: str,
        out: TextIO | None = None,
        poll_s: float = POLL_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> int:
        """Print a status line whenever the run's state changes, until it finishes: 0 when it
        completed, 1 when it failed (or vanished). `out`: stdout."""
        out = out or sys.stdout
        last = ""
        while True:
            job = self._call(
                f"reading Job {name}", self.batch.read_namespaced_job_status, name, self.namespace
            )
            if job is None:
                print(f"{name}: the Job is gone (deleted, or its TTL passed)", file=out)
                return 1
            line = status_line(job)
            if line != last:
                print(line, file=out, flush=True)
                last = line
            done = is_finished(job)
            if done is not None:
                return TERMINAL[done]
            sleep(poll_s)


def template_images(cronjob: dict[str, Any]) -> list[str]:
    """The images a run of the template starts."""
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return [str(c.get("image", "")) for c in pod.get("containers", [])]


def connect(context: str | None) -> BatchApi:
    """A BatchV1Api for the kubeconfig's `context` (None: the current one)."""
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise TrainError(
            "the Kubernetes client is not installed: pip install 'ascent[ci]'"
        ) from None

    try:
        config.load_kube_config(context=context)
    except (ConfigException, FileNotFoundError, TypeError) as exc:
        raise TrainError(f"no Kubernetes access: no usable kubeconfig ({exc})") from None
    batch: BatchApi = client.BatchV1Api()
    return batch
