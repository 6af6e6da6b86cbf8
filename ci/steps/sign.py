"""`sign`: keyless cosign signatures (Sigstore, the CI's OIDC identity) on every released image,
and each image's CycloneDX SBOM (from `scan`) attached as a signed attestation.

Signing is by digest (`repo@sha256:...`), so the signature covers exactly the bytes deployed; a
promoted image keeps its digest, so `cosign verify` holds in every registry it is copied to.
"""

from __future__ import annotations

from pathlib import Path

from ci.images import RELEASE_RECORD, read_record
from ci.shell import run, say, tool

STEP = "sign"


def sign_argv(cosign: str, ref: str) -> list[str]:
    return [cosign, "sign", "--yes", ref]


def attest_argv(cosign: str, ref: str, sbom: Path) -> list[str]:
    return [cosign, "attest", "--yes", "--type", "cyclonedx", "--predicate", str(sbom), ref]


def plan(out: Path, cosign: str) -> list[list[str]]:
    """The cosign calls for the release in `out`: a signature per image, an SBOM attestation
    per image that has one."""
    release = read_record(STEP, out / RELEASE_RECORD, "push")
    calls = []
    for name, image in sorted(release["images"].items()):
        ref = f"{image['repository']}@{image['digest']}"
        calls.append(sign_argv(cosign, ref))
        sbom = out / "sbom" / f"{name}.cdx.json"
        if sbom.is_file():
            calls.append(attest_argv(cosign, ref, sbom))
        else:
            say(STEP, f"no SBOM for {name} ({sbom}): run `python -m ci scan` first to attach one")
    return calls


def sign(out: Path) -> int:
    cosign = tool(STEP, "cosign", "scripts/install-release.sh cosign VERSION")
    codes = [run(STEP, argv) for argv in plan(out, cosign)]
    return 1 if any(codes) else 0
