"""What a user gets from `pip install .` (not the editable checkout): a working `ascent plan`
from the project folder or with `--project-dir`, the pack's data inside the wheel, byte-identical
plans run after run, and images that never install the Pulumi SDK."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.offline import PROJECT_ROOT
from workloads.requirements import image_requirements


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The project built into a wheel and installed (without dependencies: this venv has them)
    into a folder of its own."""
    base = tmp_path_factory.mktemp("wheel")
    stale = PROJECT_ROOT / "build"  # setuptools builds in the tree; old files there would ship
    shutil.rmtree(stale, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(base),
            str(PROJECT_ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.rmtree(stale, ignore_errors=True)
    (wheel,) = base.glob("ascent-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("aws_prices.json", "gpu_families.json"):
        assert f"policies/data/{data}" in names
    assert "policies/PulumiPolicy.yaml" in names and "policies/requirements.txt" in names
    target = base / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "my-platform"
    project.mkdir()
    for f in PROJECT_ROOT.glob("Pulumi*.yaml"):
        shutil.copy(f, project)
    return project


def _ascent(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [str(site / "bin" / "ascent"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
    )


def test_the_installed_ascent_plans_the_project_it_is_run_in(installed, tmp_path):
    project = _project(tmp_path)
    (project / "sub").mkdir()
    proc = _ascent(installed, "plan", "--stack", "aws-dev", "--format", "json", cwd=project / "sub")
    assert proc.returncode == 0, proc.stderr
    assert '"stack": "aws-dev"' in proc.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import infra; print(infra.__file__)"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(installed)},
        cwd=tmp_path,
        check=True,
    )
    assert where.stdout.startswith(str(installed))  # the installed copy ran, not the checkout


def test_the_installed_ascent_takes_project_dir_from_anywhere(installed, tmp_path):
    project = _project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _ascent(
        installed, "plan", "--stack", "local", "--project-dir", str(project), cwd=elsewhere
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Stack local: ")
    missing = _ascent(installed, "plan", "--stack", "local", cwd=elsewhere)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert f"no Pulumi.yaml in {elsewhere}" in missing.stderr


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_two_plans_of_the_same_stack_are_byte_identical(fmt):
    def run() -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "infra.cli", "plan", "--stack", "aws-prod", "--format", fmt],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            timeout=180,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert run() == run()


def test_images_install_the_workload_libraries_but_never_the_pulumi_sdk():
    for extra, needs in (("train", "confluent-kafka"), ("serve", "uvicorn")):
        reqs = image_requirements([extra])
        assert any(r.startswith(needs) for r in reqs)
        assert any(r.startswith("pydantic") for r in reqs)  # the base the workloads import
        assert not [r for r in reqs if r.lower().startswith("pulumi")]
        assert not [r for r in reqs if r.lower().startswith("torch")]  # from the base image


def test_no_extra_resolves_torch():
    """A plain `pip install '.[train,serve]'` must not pull a multi-GB CUDA torch."""
    extras = ["train", "serve", "ci", "dev"]
    assert not [r for r in image_requirements(extras) if r.lower().startswith("torch")]
