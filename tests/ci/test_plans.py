"""Saved plans (ci/plans.py) and the rollback of a failed `up` (ci/steps/pulumi_steps.py)."""

from __future__ import annotations

from datetime import datetime

import pytest
from pulumi.automation import UpdateSummary
from pulumi.automation.errors import CommandError

from ci import plans
from ci.shell import StepFailed
from ci.steps import pulumi_steps
from tests.ci.test_steps import CONFIGS, NEW, RecordingStack


def _update(version: int) -> UpdateSummary:
    return UpdateSummary("update", datetime(2026, 1, 1), "", {}, {}, "succeeded", version=version)


def test_a_plan_is_applied_only_against_the_update_it_was_computed_on(tmp_path):
    plans.plan_path(tmp_path, "aws-prod").write_text("{}")
    plans.record_base(tmp_path, "aws-prod", 41, "abc")
    assert plans.saved_plan("deploy", tmp_path, "aws-prod", [_update(41), _update(40)]) == (
        plans.plan_path(tmp_path, "aws-prod")
    )
    with pytest.raises(StepFailed, match=r"moved since the preview .* update 41, it is at 42"):
        plans.saved_plan("deploy", tmp_path, "aws-prod", [_update(42), _update(41)])
    assert plans.saved_plan("deploy", tmp_path, "aws-dev", [_update(1)]) is None  # none saved


def test_a_new_stack_plan_is_based_on_no_update(tmp_path):
    plans.plan_path(tmp_path, "aws-dev").write_text("{}")
    plans.record_base(tmp_path, "aws-dev", plans.last_version([]), "abc")
    assert plans.saved_plan("deploy", tmp_path, "aws-dev", []) is not None


class FailingUpStack(RecordingStack):
    """`up` fails the first time (as the Automation API does: CommandError), then works."""

    def __init__(self) -> None:
        super().__init__()
        self.plans: list[str | None] = []

    def up(self, **kwargs):
        self.plans.append(kwargs.get("plan"))
        if len(self.plans) == 1:
            raise CommandError(
                _result("error: update failed: creating EKS add-on: ResourceInUseException")
            )
        return super().up(**kwargs)


def _result(stderr: str):
    from pulumi.automation._cmd import CommandResult

    return CommandResult(stdout="", stderr=stderr, code=255)


def test_a_failed_up_rolls_back_to_the_previous_release_and_says_so(capsys, tmp_path):
    stack = FailingUpStack()
    previous = {
        "ascent:imageTag": "old",
        "ascent:images": '["inference=r/i@sha256:' + "a" * 64 + '"]',
    }
    plan = tmp_path / "plan.json"
    code = pulumi_steps.up_with_rollback("deploy", stack, NEW, previous, lambda: 0, CONFIGS, plan)
    assert code == 1
    assert stack.plans == [str(plan), None]  # the reviewed plan first; the rollback is a new up
    assert stack.deployed == [previous]
    out = capsys.readouterr().out
    assert "pulumi up failed" in out
    assert (
        "up failed; rolled back to the previous release (ascent:imageTag=old, ascent:images=" in out
    )
