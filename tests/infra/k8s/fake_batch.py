"""A fake of the `kubernetes.client.BatchV1Api` calls `infra.train` makes, for tests without a
cluster: objects held as the API's JSON, answered the way `_preload_content=False` answers
(an object with `.data` bytes), a missing object as the client's 404 `ApiException`. Each read
of a Job's status plays the next of its scripted statuses, then keeps the last."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from kubernetes.client.exceptions import ApiException


def _body(doc: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(data=json.dumps(doc).encode(), status=200)


def job_status(**status: Any) -> dict[str, Any]:
    """A Job's `status`, with `conditions=[("Complete", reason)]` shorthand for its conditions."""
    conditions = [
        {"type": kind, "status": "True", "reason": reason, "message": ""}
        for kind, reason in status.pop("conditions", [])
    ]
    return {**status, **({"conditions": conditions} if conditions else {})}


@dataclass
class FakeBatch:
    cronjobs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    jobs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    script: list[dict[str, Any]] = field(default_factory=list)  # statuses of the created Job
    calls: list[str] = field(default_factory=list)

    def _get(self, store: dict[tuple[str, str], Any], name: str, namespace: str) -> Any:
        if (namespace, name) not in store:
            raise ApiException(status=404, reason="Not Found")
        return store[(namespace, name)]

    def read_namespaced_cron_job(self, name: str, namespace: str, **kw: Any) -> SimpleNamespace:
        assert kw == {"_preload_content": False}
        self.calls.append(f"read cronjob {namespace}/{name}")
        return _body(self._get(self.cronjobs, name, namespace))

    def list_namespaced_job(self, namespace: str, **kw: Any) -> SimpleNamespace:
        self.calls.append(f"list jobs {namespace} {kw.get('label_selector')}")
        wanted = dict(p.split("=") for p in kw["label_selector"].split(","))
        items = [
            j
            for (ns, _), j in self.jobs.items()
            if ns == namespace and wanted.items() <= j["metadata"].get("labels", {}).items()
        ]
        return _body({"kind": "JobList", "items": items})

    def create_namespaced_job(self, namespace: str, body: Any, **kw: Any) -> SimpleNamespace:
        assert isinstance(body, dict) and body["metadata"]["namespace"] == namespace
        name = body["metadata"]["name"]
        self.calls.append(f"create job {namespace}/{name}")
        if (namespace, name) in self.jobs:
            raise ApiException(status=409, reason="AlreadyExists")
        self.jobs[(namespace, name)] = json.loads(json.dumps(body))
        return _body(body)

    def read_namespaced_job_status(self, name: str, namespace: str, **kw: Any) -> SimpleNamespace:
        job = self._get(self.jobs, name, namespace)
        self.calls.append(f"read job {namespace}/{name}")
        if self.script:
            job["status"] = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return _body(job)
