"""`python -m ci scan` writes a CycloneDX SBOM per built image, read from the image itself, and
valid against the CycloneDX schema (cyclonedx-python-lib's strict validator)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from ci.sbom import _dpkg
from tests.ci.conftest import BASE_IMAGE, Engine, run_ci

SHA = "5b1a" * 10
STATUS = """\
Package: libc6
Status: install ok installed
Version: 2.41-12
Description: GNU C Library
 shared libraries

Package: ca-certificates
Status: install ok installed
Version: 20250419

Package: removed-one
Status: deinstall ok config-files
Version: 1.0
"""
METADATA = "Metadata-Version: 2.1\nName: Demo-Lib\nVersion: 1.2.3\nSummary: a dist\n"
DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY status /var/lib/dpkg/status
COPY demo /usr/lib/python3/site-packages/Demo_Lib-1.2.3.dist-info
USER 1000:1000
CMD ["cat", "/var/lib/dpkg/status"]
"""


@pytest.fixture(scope="module")
def scanned(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ctx = tmp_path_factory.mktemp("sbom-context")
    (ctx / "status").write_text(STATUS)
    (ctx / "demo").mkdir()
    (ctx / "demo" / "METADATA").write_text(METADATA)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    out = tmp_path_factory.mktemp("sbom-out")
    env = {**engine.env, "DOCKER_HOST": engine.docker_host, "ASCENT_GIT_SHA": SHA,
           "ASCENT_GIT_BRANCH": "main", "ASCENT_CI_OUT": str(out)}  # fmt: skip
    built = run_ci("build", "--context", str(ctx), "--image", f"app={ctx / 'Dockerfile'}",
                   env=env, timeout=300)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    proc = run_ci("scan", "--allow-offline", env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SBOM of app: 3 package(s)" in proc.stdout
    assert "could not scan for CVEs" in proc.stdout  # said, and allowed, not hidden
    return out


def test_the_sbom_lists_the_images_os_and_python_packages(scanned):
    doc = (scanned / "sbom" / "app.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(doc) is None
    bom = json.loads(doc)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    assert bom["metadata"]["component"]["type"] == "container"
    purls = sorted(c["purl"] for c in bom["components"])
    assert purls == [
        "pkg:deb/debian/ca-certificates@20250419",
        "pkg:deb/debian/libc6@2.41-12",
        "pkg:pypi/demo-lib@1.2.3",
    ]


def test_only_installed_dpkg_packages_count():
    assert _dpkg(STATUS) == {"libc6": "2.41-12", "ca-certificates": "20250419"}
