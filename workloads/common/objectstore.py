"""One object-store API over fsspec for `file://DIR` (embedded/dev) and `s3://BUCKET/PREFIX`.

Keys are `/`-separated paths relative to the store's root URL: the store at `s3://b/pfx` maps
`models/x/manifest.json` to `s3://b/pfx/models/x/manifest.json`.

Atomicity: `put_bytes` never exposes a partial object to readers. On `file://` it writes a
temporary file in the target's directory, fsyncs it and `os.replace`s it over the target; on
`s3://` an object only becomes visible once its PUT (or multipart upload) completes.

Freshness: S3 listings are never cached (`use_listings_cache=False`, and the cache is invalidated
before each read), so `exists` and `list` always reflect what other writers have done.
Credentials come from s3fs/botocore defaults: the environment, a profile or the pod's identity.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from typing import Any

import fsspec

from workloads.common.settings import StoreSettings

TMP_SUFFIX = ".ascent-tmp"


class ObjectNotFound(KeyError, FileNotFoundError):
    """No object at this key; the message names the full URL."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "object not found"


class ObjectStore:
    """Bytes and JSON under a root URL, the same code path for `file://` and `s3://`."""

    def __init__(self, fs: Any, root: str, scheme: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.scheme = scheme

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> ObjectStore:
        """`file://DIR` (relative DIRs resolve against the cwd) or `s3://BUCKET[/PREFIX]`."""
        if url.startswith("file://"):
            path = url.removeprefix("file://")
            if not path:
                raise ValueError(f"{url!r}: file:// needs a directory, e.g. file://./artifacts")
            return cls(fsspec.filesystem("file"), os.path.abspath(path), "file")
        if url.startswith("s3://"):
            root = url.removeprefix("s3://").strip("/")
            if not root or root.startswith("/"):
                raise ValueError(f"{url!r}: s3:// needs a bucket, e.g. s3://bucket/prefix")
            endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or None
            fs = fsspec.filesystem("s3", endpoint_url=endpoint, use_listings_cache=False)
            return cls(fs, root, "s3")
        raise ValueError(f"{url!r}: use file://DIR or s3://BUCKET/PREFIX")

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> ObjectStore:
        return cls.from_url(settings.object_store_url, settings.endpoint_url)

    def url(self, key: str) -> str:
        return f"{self.scheme}://{self._path(key)}"

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write `data` at `key`; readers see the old object or the new one, never a part."""
        path = self._path(key)
        if self.scheme == "file":
            _atomic_local_write(path, data)
        else:
            self.fs.pipe_file(path, data)

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        self.fs.invalidate_cache(path)
        try:
            data: bytes = self.fs.cat_file(path)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise ObjectNotFound(f"no object at {self.url(key)}") from exc
        return data

    def exists(self, key: str) -> bool:
        path = self._path(key)
        self.fs.invalidate_cache(path)
        return bool(self.fs.isfile(path))

    def list(self, prefix: str = "") -> list[str]:
        """Keys starting with `prefix` (a plain string prefix, as in S3), sorted."""
        if prefix.startswith("/"):
            raise ValueError(f"prefix {prefix!r} must be relative to the store root")
        directory = prefix.rpartition("/")[0]
        base = f"{self.root}/{directory}" if directory else self.root
        self.fs.invalidate_cache(base)
        keys = []
        for found in self.fs.find(base):
            key = str(found).removeprefix(self.root + "/")
            if key.startswith(prefix) and not key.endswith(TMP_SUFFIX):
                keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Remove the object at `key`; deleting a missing key is not an error (as in S3)."""
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)
        self.fs.invalidate_cache(path)

    def put_json(self, key: str, value: Any) -> None:
        self.put_bytes(key, json.dumps(value, indent=2, sort_keys=True).encode())

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def _path(self, key: str) -> str:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"bad key {key!r}: use a relative path like 'models/x/manifest.json'")
        return f"{self.root}/{key}"

    def __repr__(self) -> str:
        return f"ObjectStore({self.scheme}://{self.root})"


def _atomic_local_write(path: str, data: bytes) -> None:
    directory, name = os.path.split(path)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}{TMP_SUFFIX}")
    # os.open rather than mkstemp: the file gets the umask's mode (0644), not 0600.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)
