"""ci/cve.py: the allow-list carries a reason and an expiry per entry; offline is not a pass."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from ci import cve

TODAY = dt.date(2026, 12, 1)
GOOD = """
- id: CVE-2026-12345
  reason: the vulnerable parser is never reached from the server
  expires: 2027-01-31
- id: GHSA-2c8m-2p7x-9q4r
  image: inference
  reason: no fixed release of the base image yet; tracked upstream
  expires: 2026-12-01
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cve-allowlist.yaml"
    path.write_text(text)
    return path


def test_live_entries_become_each_images_trivy_ignore_file(tmp_path):
    entries = cve.load_allowlist(_write(tmp_path, GOOD), TODAY)
    assert [e.id for e in entries] == ["CVE-2026-12345", "GHSA-2c8m-2p7x-9q4r"]
    training = cve.trivy_ignore_file(entries, "training")
    assert "CVE-2026-12345 exp:2027-01-31" in training and "GHSA" not in training
    assert "GHSA-2c8m-2p7x-9q4r exp:2026-12-01" in cve.trivy_ignore_file(entries, "inference")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- id: CVE-2026-1\n  reason: long enough reason\n  expires: 2027-01-01\n", "not a CVE"),
        ("- id: CVE-2026-12345\n  expires: 2027-01-01\n", "needs a reason"),
        ("- id: CVE-2026-12345\n  reason: long enough reason\n", "needs expires"),
        ("- id: CVE-2026-12345\n  reason: long enough reason\n  expires: 2026-11-30\n",
         "CVE-2026-12345 expired on 2026-11-30"),
        ("- id: CVE-2026-12345\n  reason: long enough reason\n  expires: 2027-01-01\n"
         "  until: x\n", r"unknown key\(s\) until"),
        ("id: CVE-2026-12345\n", "must be a list"),
    ],
)  # fmt: skip
def test_a_bad_or_expired_entry_is_named(tmp_path, text, problem):
    with pytest.raises(cve.AllowListError, match=problem):
        cve.load_allowlist(_write(tmp_path, text), TODAY)


def test_the_shipped_allowlist_is_valid_today():
    assert cve.load_allowlist(cve.ALLOWLIST, dt.date.today()) is not None


def test_offline_is_a_reason_not_a_pass():
    assert "not installed" in (cve.offline_reason(None, lambda: True) or "")
    assert "no vulnerability database" in (
        cve.offline_reason("/usr/bin/trivy", lambda: False) or ""
    )
    assert cve.offline_reason("/usr/bin/trivy", lambda: True) is None


def test_trivy_fails_only_on_fixed_high_and_critical_and_keeps_its_report(tmp_path):
    argv = cve.scan_argv("trivy", "reg/app@sha256:ab", tmp_path / "ignore", tmp_path / "r.json")
    assert argv[:2] == ["trivy", "image"] and argv[-1] == "reg/app@sha256:ab"
    pairs = dict(itertools.pairwise(argv))
    assert pairs["--severity"] == "HIGH,CRITICAL" and pairs["--exit-code"] == "1"
    assert "--ignore-unfixed" in argv and pairs["--ignorefile"] == str(tmp_path / "ignore")
