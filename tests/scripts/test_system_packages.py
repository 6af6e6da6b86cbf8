"""scripts/system-packages.sh, the one installer `make test` and `.ci/run` share: present tools
are one line; missing ones without the right to install them are a named command and exit 1."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from infra.offline import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "system-packages.sh"


def _run(path: str, *prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, "bash", str(SCRIPT)],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
        timeout=60,
    )


def test_present_tools_are_one_line_and_exit_0():
    proc = _run(os.environ["PATH"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("system packages: present (podman")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_a_user_who_cannot_install_is_told_the_command_and_fails():
    """No container tools on PATH and no sudo: the script names the command and exits 1."""
    bin_dir = Path(tempfile.mkdtemp(prefix="ascent-bin-"))  # /tmp: other users may enter
    bin_dir.chmod(0o755)
    for tool in ("bash", "id", "apt-get", "mktemp", "rm", "tail"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    proc = _run(str(bin_dir), shutil.which("setpriv") or "setpriv", "--reuid=65534",
                "--regid=65534", "--clear-groups")  # fmt: skip
    assert proc.returncode == 1
    assert "missing podman buildah skopeo docker-registry runc busybox-static" in proc.stderr
    assert "run: sudo apt-get update && sudo apt-get install -y podman" in proc.stderr
    shutil.rmtree(bin_dir)
