"""Every rule through `pulumi_policy`'s own analyzer, as the CLI sends resources: each compliant
fixture gets no diagnostic from any rule of the pack, each one-field mutation exactly one, from
its rule. A rule that goes blind on the engine's proxies fails here."""

from __future__ import annotations

import pytest

from policies.core import PackConfig
from policies.rules import RULES
from tests.policies.analyze import diagnostics, stack_diagnostics
from tests.policies.cases import Case, StackCase, load, mutate

CASES, STACK_CASES = load()
RESOURCE_RULES = {r.name for r in RULES if r.check is not None}
STACK_RULES = {r.name for r in RULES if r.stack_check is not None}


def test_every_rule_has_a_case_with_mutations():
    assert {c.rule for c in CASES if c.mutations} == RESOURCE_RULES
    assert {c.rule for c in STACK_CASES if c.mutations} == STACK_RULES
    assert len(RULES) == len({r.name for r in RULES})


@pytest.mark.parametrize("case", CASES, ids=[c.id() for c in CASES])
def test_compliant_fixture_gets_no_diagnostic(case: Case):
    assert diagnostics(case.type, case.compliant, case.config) == []


@pytest.mark.parametrize(
    ("case", "i"),
    [(c, i) for c in CASES for i in range(len(c.mutations))],
    ids=[c.id(i) for c in CASES for i in range(len(c.mutations))],
)
def test_one_changed_field_gives_exactly_its_rules_violation(case: Case, i: int):
    m = case.mutations[i]
    found = diagnostics(case.type, mutate(case.compliant, m.path, m.value), case.config)
    assert [rule for rule, _, _ in found] == [m.rule or case.rule], found
    assert m.says in found[0][1], found


@pytest.mark.parametrize("case", STACK_CASES, ids=[c.rule for c in STACK_CASES])
def test_compliant_stack_gets_no_stack_diagnostic(case: StackCase):
    assert stack_diagnostics(case.resources, case.config) == []


@pytest.mark.parametrize(
    ("case", "i"),
    [(c, i) for c in STACK_CASES for i in range(len(c.mutations))],
    ids=[f"{c.rule}[{i}]" for c in STACK_CASES for i in range(len(c.mutations))],
)
def test_one_changed_resource_gives_exactly_its_stack_rules_violation(case: StackCase, i: int):
    name, m = case.mutations[i]
    changed = [mutate(r, m.path, m.value) if r["name"] == name else r for r in case.resources]
    found = stack_diagnostics(changed, case.config)
    assert [rule for rule, *_ in found] == [m.rule or case.rule], found
    assert m.says in found[0][2], found


def test_the_gpu_family_allow_list_and_spot_rule_are_configurable():
    from tests.policies.cases.aws import GPU_NODE_GROUP

    ng = "aws:eks/nodeGroup:NodeGroup"
    only_p5 = PackConfig(allowed_gpu_instance_families=("p5",))
    assert [r for r, *_ in diagnostics(ng, GPU_NODE_GROUP, only_p5)] == [
        "aws-eks-nodegroup-gpu-family-allowed"
    ]
    on_demand = {**GPU_NODE_GROUP, "capacityType": "ON_DEMAND"}
    assert diagnostics(ng, on_demand, PackConfig(require_spot_for_training=False)) == []


def test_enforcement_can_be_overridden_or_disabled():
    from tests.policies.cases.storage import ECR_REPOSITORY

    ecr, rule = "aws:ecr/repository:Repository", "aws-ecr-repository-immutable-tags"
    bad = {**ECR_REPOSITORY, "imageTagMutability": "MUTABLE"}
    assert [(r, e) for r, _, e in diagnostics(ecr, bad)] == [(rule, "mandatory")]
    advisory = PackConfig(enforcement={rule: "advisory"})
    assert [(r, e) for r, _, e in diagnostics(ecr, bad, advisory)] == [(rule, "advisory")]
    assert diagnostics(ecr, bad, PackConfig(enforcement={rule: "disabled"})) == []


def test_pack_config_names_unknown_keys():
    with pytest.raises(ValueError, match="maxGpuNode"):
        PackConfig.from_dict({"maxGpuNode": 3})
    config = PackConfig.from_dict({"maxGpuNodes": 3, "allowedGpuInstanceFamilies": ["g6"]})
    assert (config.max_gpu_nodes, config.allowed_gpu_instance_families) == (3, ("g6",))


def test_a_value_unknown_during_preview_is_the_sdks_advisory_note_not_a_violation():
    """During `pulumi preview` an output not known yet arrives as the SDK's sentinel; reading
    it raises UnknownValueError, which the analyzer reports as advisory, never mandatory."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    from tests.policies.cases.storage import ECR_REPOSITORY

    props = {**ECR_REPOSITORY, "imageTagMutability": UNKNOWN_STRING_VALUE}
    found = diagnostics("aws:ecr/repository:Repository", props)
    assert [(r, e) for r, _, e in found] == [("aws-ecr-repository-immutable-tags", "advisory")]
    assert "can't be known during preview" in found[0][1]
