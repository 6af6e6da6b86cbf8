"""`python -m ci sign`: a cosign signature per released image by digest, and its SBOM."""

from __future__ import annotations

import json

from ci.steps import sign

DIGEST = "sha256:" + "9" * 64


def test_each_image_is_signed_by_digest_and_gets_its_sbom_attested(tmp_path, capsys):
    release = {"registry": "r/a", "tag": "t", "images": {
        "inference": {"repository": "r/a/inference", "digest": DIGEST},
        "training": {"repository": "r/a/training", "digest": DIGEST}}}  # fmt: skip
    (tmp_path / "release.json").write_text(json.dumps(release))
    (tmp_path / "sbom").mkdir()
    (tmp_path / "sbom" / "inference.cdx.json").write_text("{}")
    calls = sign.plan(tmp_path, "cosign")
    assert calls == [
        ["cosign", "sign", "--yes", f"r/a/inference@{DIGEST}"],
        ["cosign", "attest", "--yes", "--type", "cyclonedx", "--predicate",
         str(tmp_path / "sbom" / "inference.cdx.json"), f"r/a/inference@{DIGEST}"],
        ["cosign", "sign", "--yes", f"r/a/training@{DIGEST}"],
    ]  # fmt: skip
    assert "no SBOM for training" in capsys.readouterr().out
