"""A CycloneDX SBOM of a built image, read from the image itself (no scanner, no network).

The engine exports the image (`docker save`); its layers are read in order, later layers
overriding earlier ones, for the two package databases our images carry: Debian's
`var/lib/dpkg/status` (the base image's OS packages) and Python's `*.dist-info/METADATA` (what
pip installed). The document is built and validated with cyclonedx-python-lib against the
CycloneDX 1.6 JSON schema, so a consumer (Dependency-Track, Trivy's `sbom` scan, GitHub's
dependency graph) reads it as written.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

DPKG_STATUS = "var/lib/dpkg/status"


def _dpkg(text: str) -> dict[str, str]:
    """Installed packages of a dpkg status file: name -> version."""
    found = {}
    for stanza in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines()
                      if ": " in line and not line.startswith(" "))  # fmt: skip
        if fields.get("Package") and "installed" in fields.get("Status", "").split():
            found[fields["Package"]] = fields.get("Version", "")
    return found


def _read(layer: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = layer.extractfile(member)
    return handle.read().decode(errors="replace") if handle else ""


def packages(image_tar: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(Debian packages, Python distributions), name -> version, from a `docker save` tar; the
    layers are streamed from it in order (a later layer's file replaces an earlier one's)."""
    debian: dict[str, str] = {}
    python: dict[str, str] = {}
    with tarfile.open(image_tar) as outer:
        manifest = json.loads(_read(outer, outer.getmember("manifest.json")))
        for name in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(name), mode="r:*") as layer:
                for member in layer:
                    path = member.name.lstrip("./")
                    if not member.isfile():
                        continue
                    if path == DPKG_STATUS:
                        debian = _dpkg(_read(layer, member))
                    elif path.endswith(".dist-info/METADATA"):
                        meta = HeaderParser().parsestr(_read(layer, member))
                        if meta.get("Name"):
                            python[str(meta["Name"])] = str(meta.get("Version", ""))
    return debian, python


def bom_json(image: str, version: str, debian: dict[str, str], python: dict[str, str]) -> str:
    bom = Bom()
    bom.metadata.component = Component(name=image, version=version,
                                       type=ComponentType.CONTAINER)  # fmt: skip
    for name, ver in sorted(debian.items()):
        bom.components.add(Component(name=name, version=ver, type=ComponentType.LIBRARY,
                                     purl=PackageURL("deb", "debian", name, ver)))  # fmt: skip
    for name, ver in sorted(python.items()):
        bom.components.add(Component(name=name, version=ver, type=ComponentType.LIBRARY,
                                     purl=PackageURL("pypi", None, name.lower(), ver)))  # fmt: skip
    text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise ValueError(f"the SBOM of {image} does not validate: {error}")
    return text


def image_sbom(client: Any, ref: str, name: str) -> str:
    """The SBOM of image `ref` in the engine `client` (a docker SDK client)."""
    image = client.images.get(ref)
    with tempfile.TemporaryDirectory(prefix="ascent-sbom-") as tmp:
        path = Path(tmp) / "image.tar"
        with path.open("wb") as f:
            for chunk in image.save(named=False):
                f.write(chunk)
        debian, python = packages(path)
    return bom_json(name, image.id, debian, python)
