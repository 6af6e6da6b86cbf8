"""A new user's mistakes, run as a user runs them (`python -m infra.cli` in a subprocess): each
gives one message naming the file and line (YAML), or the key or flag, and what is allowed;
exit 2; never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.offline import PROJECT_ROOT

GOOD_STACK = "config:\n  ascent:target: aws\n  ascent:region: us-east-1\n"


@dataclass(frozen=True)
class Mistake:
    case: str
    stack_file: str | None  # text of Pulumi.s.yaml; None: no stack file
    expected: tuple[str, ...]  # every fragment must be in the message
    args: tuple[str, ...] = ("--stack", "s")
    project_file: str | None = "copy"  # "copy": the real Pulumi.yaml; None: none; else its text


MISTAKES = [
    Mistake(
        "YAML syntax error in the stack file",
        "config:\n  ascent:target: aws\n  ascent:region: [us-east-1\n",
        ("Pulumi.s.yaml line 4", "not valid YAML"),
    ),
    Mistake(
        "bad indentation in the stack file",
        "config:\n  ascent:target: aws\n ascent:region: us-east-1\n",
        ("Pulumi.s.yaml line 3", "not valid YAML"),
    ),
    Mistake("empty stack file", "", ("Pulumi.s.yaml: is empty", "config:")),
    Mistake(
        "stack keys without `config:` (would silently plan the local target)",
        "ascent:target: aws\nascent:region: us-east-1\n",
        ("Pulumi.s.yaml: top-level 'ascent:target', 'ascent:region'", "go under `config:`"),
    ),
    Mistake(
        "`config:` holding a list",
        "config:\n  - ascent:target: aws\n",
        ("Pulumi.s.yaml: `config:` must be a mapping", "not a list"),
    ),
    Mistake("a stack file that is a plain string", "aws\n", ("Pulumi.s.yaml: must be a mapping",)),
    Mistake(
        "no Pulumi.yaml in the project dir",
        GOOD_STACK,
        ("no Pulumi.yaml in", "--project-dir"),
        project_file=None,
    ),
    Mistake(
        "broken Pulumi.yaml",
        GOOD_STACK,
        ("Pulumi.yaml line 2", "not valid YAML"),
        project_file="name: ascent\n  runtime: python\n",
    ),
    Mistake(
        "Pulumi.yaml without a name",
        GOOD_STACK,
        ("Pulumi.yaml: must be a mapping with at least `name:`",),
        project_file="- ascent\n",
    ),
    Mistake("unknown stack", None, ("unknown stack 's'", "no Pulumi.s.yaml", "stacks: other")),
    Mistake(
        "misspelt key",
        GOOD_STACK + "  ascent:gpuPool: []\n",
        ("ascent:gpuPool: unknown key (did you mean gpuPools?)",),
    ),
    Mistake(
        "misspelt namespace",
        GOOD_STACK + "  acsent:kafkaBrokers: 2\n",
        ("acsent:kafkaBrokers: unknown config namespace 'acsent'", "did you mean ascent:"),
    ),
    Mistake(
        "a region that does not exist",
        GOOD_STACK.replace("us-east-1", "us-east-9"),
        ('ascent:region = "us-east-9"', "did you mean us-east-2?", "eu-west-1"),
    ),
    Mistake(
        "a number given as a word",
        GOOD_STACK + "  ascent:availabilityZones: three\n",
        ('ascent:availabilityZones = "three"', "valid integer"),
    ),
    Mistake(
        "a pool line that is not key=value",
        GOOD_STACK + "  ascent:gpuPools:\n    - train purpose training\n",
        ("ascent:gpuPools[0]", "is not key=value"),
    ),
    Mistake(
        "every problem at once",
        "config:\n  ascent:target: aws\n  ascent:monthlyBudgetUsd: -1\n  ascent:colour: red\n",
        ("ascent:region", "ascent:monthlyBudgetUsd", "ascent:colour"),
    ),
    Mistake(
        "unknown output format",
        GOOD_STACK,
        ("argument --format: invalid choice: 'yaml'", "'table', 'json'", "ascent plan --help"),
        args=("--stack", "s", "--format", "yaml"),
    ),
    Mistake(
        "misspelt flag",
        GOOD_STACK,
        ("unrecognized arguments: --stak",),
        args=("--stak", "s"),
    ),
    Mistake(
        "budget that is not a number",
        GOOD_STACK,
        ("argument --budget: invalid float value: 'lots'",),
        args=("--stack", "s", "--budget", "lots"),
    ),
    Mistake(
        "--compare with a file that is not a saved plan",
        GOOD_STACK,
        ("--compare", "not a saved `ascent plan --format json`"),
        args=("--stack", "s", "--compare", "Pulumi.s.yaml"),
    ),
]


def plan(project: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "plan", "--project-dir", str(project), *args],
        capture_output=True,
        text=True,
        cwd=cwd or project,
        timeout=180,
    )


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.case for m in MISTAKES])
def test_each_mistake_is_one_message_and_exit_2(tmp_path, mistake):
    if mistake.project_file == "copy":
        shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path)
    elif mistake.project_file is not None:
        (tmp_path / "Pulumi.yaml").write_text(mistake.project_file)
    if mistake.stack_file is not None:
        (tmp_path / "Pulumi.s.yaml").write_text(mistake.stack_file)
    else:
        (tmp_path / "Pulumi.other.yaml").write_text(GOOD_STACK)
    proc = plan(tmp_path, *mistake.args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in mistake.expected:
        assert fragment in lines[0]


def test_provider_namespaces_pass_through_as_the_cli_passes_them(tmp_path):
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.s.yaml").write_text(
        "config:\n  ascent:target: aws\n  aws:region: eu-central-1\n  aws:profile: platform\n"
        "  kubernetes:context: kind-ascent\n  random:seed: x\n"
    )
    proc = plan(tmp_path, "--stack", "s", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert '"region": "eu-central-1"' in proc.stdout  # aws:region stood in for ascent:region


def test_a_closed_pipe_ends_quietly():
    """`ascent plan --format json | head -1`: no BrokenPipeError traceback."""
    proc = subprocess.run(
        f"{sys.executable} -m infra.cli plan --stack local --format json | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=180,
    )
    assert proc.stdout == "{\n"
    assert proc.stderr == ""


def test_the_readme_shows_what_ascent_plan_really_prints(tmp_path):
    """The README's config-error example is this run's output, verbatim."""
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  ascent:target: aws\n  ascent:region: us-east-1\n  ascent:kafkaBrokers: 3\n"
        "  ascent:gpuPools:\n"
        "    - train purpose=training instanceTypes=g6.12xlarge minSize=3 maxSize=1\n"
    )
    proc = plan(tmp_path, "--stack", "bad")
    assert proc.returncode == 2
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert f"$ ascent plan --stack bad\n{proc.stderr}```" in readme
