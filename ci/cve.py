"""CVE scanning policy: Trivy on every image, failing on fixed HIGH/CRITICAL findings, with an
allow-list whose every entry says why and until when (SBOMs: ci/sbom.py).

The allow-list (`ci/cve-allowlist.yaml`) is a list of `{id, reason, expires}` (and optionally
`image`, to allow it in one image only). An entry without a reason or expiry, or past its expiry,
is an error: an exception nobody revisits is a finding hidden for good. Trivy reads the live
entries as its ignore file.

Offline (no Trivy, or no vulnerability database) nothing was scanned: the step says so and
fails unless `--allow-offline` is given, so a pipeline never reports "no findings" it never
looked for.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ALLOWLIST = Path(__file__).resolve().parent / "cve-allowlist.yaml"
SEVERITIES = "HIGH,CRITICAL"
_ID = re.compile(r"^(CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3})$")


class AllowListError(ValueError):
    """The allow-list file is malformed or holds an expired entry; the message names each."""


@dataclass(frozen=True)
class Allowed:
    id: str
    reason: str
    expires: dt.date
    image: str | None = None


def load_allowlist(path: Path, today: dt.date) -> list[Allowed]:
    """The live entries of `path` (absent file: none); AllowListError naming every bad one."""
    if not path.is_file():
        return []
    doc = yaml.safe_load(path.read_text()) or []
    if not isinstance(doc, list):
        raise AllowListError(f"{path.name}: must be a list of {{id, reason, expires}} entries")
    problems, entries = [], []
    for i, raw in enumerate(doc):
        where = f"{path.name}[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping with id, reason and expires")
            continue
        vid, reason, expires = raw.get("id"), raw.get("reason"), raw.get("expires")
        if not isinstance(vid, str) or not _ID.match(vid):
            problems.append(f"{where}: id {vid!r} is not a CVE-YYYY-NNNN or GHSA id")
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            problems.append(f"{where}: needs a reason (why it does not apply or cannot be fixed)")
        if not isinstance(expires, dt.date):
            problems.append(f"{where}: needs expires: YYYY-MM-DD (when to look again)")
        elif expires < today:
            problems.append(f"{where}: {vid} expired on {expires.isoformat()}: fix it, or renew "
                            "the entry with a new reason")  # fmt: skip
        stray = sorted(set(raw) - {"id", "reason", "expires", "image"})
        if stray:
            problems.append(f"{where}: unknown key(s) {', '.join(stray)}")
        if isinstance(expires, dt.date) and not any(p.startswith(where) for p in problems):
            entries.append(Allowed(str(vid), str(reason), expires, raw.get("image")))
    if problems:
        raise AllowListError("; ".join(problems))
    return entries


def trivy_ignore_file(entries: list[Allowed], image: str) -> str:
    """Trivy's `.trivyignore` for one image: each live entry's id with its expiry."""
    lines = [f"# {e.reason}\n{e.id} exp:{e.expires.isoformat()}"
             for e in entries if e.image in (None, image)]  # fmt: skip
    return "\n".join(lines) + ("\n" if lines else "")


def scan_argv(trivy: str, ref: str, ignore_file: Path, report: Path) -> list[str]:
    """Fixed HIGH/CRITICAL findings fail (exit 1); the JSON report is kept."""
    return [
        trivy, "image", "--quiet", "--severity", SEVERITIES, "--ignore-unfixed",
        "--ignorefile", str(ignore_file), "--exit-code", "1", "--format", "json",
        "--output", str(report), ref,
    ]  # fmt: skip


def offline_reason(trivy: str | None, db_probe: Any) -> str | None:
    """Why no CVE scan can run here, or None. `db_probe()` is truthy when Trivy's database is
    usable (a `trivy image --download-db-only` / `--skip-db-update` check)."""
    if trivy is None:
        return "Trivy is not installed (pin it in the CI image; see README)"
    if not db_probe():
        return "Trivy has no vulnerability database (none cached and none downloadable)"
    return None
