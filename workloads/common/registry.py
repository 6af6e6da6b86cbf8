"""A model registry on an ObjectStore: immutable versions plus a movable `latest` pointer.

Layout under the store root (prefix `models/` by default):

    models/<name>/<version>/<file>...        the artifacts
    models/<name>/<version>/manifest.json    written LAST: its presence marks the version complete
    models/<name>/latest.json                {"version", "manifest", "updated_at"}

Atomicity, for readers that go through `latest()`, `versions()` and `manifest()`:
- Each object is written atomically (see `ObjectStore.put_bytes`), so no reader sees half a file.
- `publish` writes every file, then `manifest.json`, then (if promoting) `latest.json`. A
  publisher that dies midway leaves a version without a manifest: it is incomplete, never listed
  by `versions()` and never promoted; publishing the same version again completes it.
- Moving `latest` is one PUT of `latest.json`, so readers see the old pointer or the new one,
  and the pointer only ever names a complete version.
- A complete version is immutable: `publish` refuses to overwrite it. The check and the write
  are not one atomic step, so two publishers must not race on one version; `new_version()`
  makes such collisions practically impossible.
- `read()` fetches a file directly (one GET); take versions from `latest()` or `versions()`.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from workloads.common.objectstore import ObjectNotFound, ObjectStore

MANIFEST = "manifest.json"
LATEST = "latest.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_name(kind: str, value: str) -> str:
    if not _NAME.match(value) or value.endswith(".json"):
        raise ValueError(f"bad {kind} {value!r}: use letters, digits, '.', '_' and '-'")
    return value


class ModelRegistry:
    """Versions of one model, `name`, under `prefix` in `store`."""

    def __init__(self, store: ObjectStore, name: str, prefix: str = "models/") -> None:
        self.store = store
        self.name = _check_name("model name", name)
        self.base = f"{prefix.strip('/')}/{name}/" if prefix.strip("/") else f"{name}/"

    @staticmethod
    def new_version() -> str:
        """A unique version that sorts by creation time, e.g. `20261129T101500Z-3f9a1c`."""
        return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"

    def key(self, version: str, file: str) -> str:
        return f"{self.base}{_check_name('version', version)}/{file}"

    def publish(
        self,
        version: str,
        files: dict[str, bytes],
        manifest: dict[str, Any],
        promote: bool,
    ) -> dict[str, Any]:
        """Write `files`, then `manifest.json`, then (if `promote`) `latest.json`."""
        manifest_key = self.key(version, MANIFEST)
        if MANIFEST in files:
            raise ValueError(f"{MANIFEST} is written by the registry; pass it as `manifest`")
        if self.store.exists(manifest_key):
            raise ValueError(f"{self.name} {version} is already published: versions are immutable")
        for file, data in files.items():
            self.store.put_bytes(self.key(version, file), data)
        written = {
            **manifest,
            "name": self.name,
            "version": version,
            "files": sorted(files),
            "published_at": _now(),
        }
        self.store.put_json(manifest_key, written)
        if promote:
            self.promote(version)
        return written

    def promote(self, version: str) -> dict[str, Any]:
        """Point `latest` at a complete version (also a rollback); returns the new pointer."""
        manifest_key = self.key(version, MANIFEST)
        if not self.store.exists(manifest_key):
            raise ValueError(f"{self.name} {version} is not a complete version")
        pointer = {"version": version, "manifest": manifest_key, "updated_at": _now()}
        self.store.put_json(self.base + LATEST, pointer)
        return pointer

    def latest(self) -> dict[str, Any] | None:
        try:
            pointer: dict[str, Any] = self.store.get_json(self.base + LATEST)
        except ObjectNotFound:
            return None
        return pointer

    def manifest(self, version: str) -> dict[str, Any]:
        """The manifest of a complete version; `ObjectNotFound` if there is none."""
        manifest: dict[str, Any] = self.store.get_json(self.key(version, MANIFEST))
        return manifest

    def read(self, version: str, file: str) -> bytes:
        return self.store.get_bytes(self.key(version, file))

    def versions(self) -> list[str]:
        """Complete versions (those with a manifest.json), sorted oldest first."""
        found = []
        for key in self.store.list(self.base):
            version, _, rest = key.removeprefix(self.base).partition("/")
            if rest == MANIFEST:
                found.append(version)
        return sorted(found)
