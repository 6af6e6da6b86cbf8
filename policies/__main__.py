"""The CrossGuard entry point: `pulumi preview --policy-pack policies`. It only assembles the
pack; the rules live in `policies/rules/`, one per file."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from the CLI, by path

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.ADVISORY,  # each policy sets its own level
    policies=build_policies(),
)
