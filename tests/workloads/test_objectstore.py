from __future__ import annotations

import os
import threading
from pathlib import Path

import boto3
import pytest

from workloads.common.objectstore import TMP_SUFFIX, ObjectNotFound, ObjectStore
from workloads.common.settings import StoreSettings


def write_behind(store: ObjectStore, key: str, data: bytes) -> None:
    """Write an object without going through `store` (another process, another pod)."""
    if store.scheme == "file":
        path = Path(store.root, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        bucket, _, prefix = store.root.partition("/")
        client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])
        client.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=data)


def test_round_trip_bytes_and_json(store_url: str) -> None:
    store = ObjectStore.from_url(store_url)
    store.put_bytes("models/x/weights.bin", b"\x00\x01payload")
    store.put_json("models/x/manifest.json", {"b": [1, 2], "a": "é"})

    assert store.get_bytes("models/x/weights.bin") == b"\x00\x01payload"
    assert store.get_json("models/x/manifest.json") == {"a": "é", "b": [1, 2]}
    store.put_bytes("models/x/weights.bin", b"new")
    assert store.get_bytes("models/x/weights.bin") == b"new"


def test_keys_are_relative_to_the_root(store_url: str) -> None:
    store = ObjectStore.from_url(store_url)
    store.put_bytes("a/b.txt", b"x")

    if store.scheme == "s3":
        assert store.url("a/b.txt") == f"{store_url}/a/b.txt"
    else:
        assert store.url("a/b.txt") == f"file://{store.root}/a/b.txt"
        assert Path(store.root, "a", "b.txt").read_bytes() == b"x"


def test_missing_object_raises_object_not_found_naming_the_url(store_url: str) -> None:
    store = ObjectStore.from_url(store_url)
    with pytest.raises(ObjectNotFound) as err:
        store.get_bytes("models/nope/manifest.json")

    assert str(err.value) == f"no object at {store.url('models/nope/manifest.json')}"
    assert isinstance(err.value, KeyError)
    assert isinstance(err.value, FileNotFoundError)


def test_exists_list_and_delete(store_url: str) -> None:
    store = ObjectStore.from_url(store_url)
    assert store.list() == []
    for key in ("m/2/b", "m/1/a", "m/10/c", "other/z", "m.txt"):
        store.put_bytes(key, key.encode())

    assert store.exists("m/1/a")
    assert not store.exists("m/1")  # a "directory" is not an object
    assert not store.exists("m/3/a")
    assert store.list() == ["m.txt", "m/1/a", "m/10/c", "m/2/b", "other/z"]
    assert store.list("m/") == ["m/1/a", "m/10/c", "m/2/b"]
    assert store.list("m/1") == ["m/1/a", "m/10/c"]  # a string prefix, as in S3
    assert store.list("nothing/") == []

    store.delete("m/1/a")
    store.delete("m/1/a")  # idempotent
    assert not store.exists("m/1/a")
    assert store.list("m/") == ["m/10/c", "m/2/b"]


def test_listing_and_exists_are_never_stale(store_url: str) -> None:
    store = ObjectStore.from_url(store_url)
    store.put_bytes("d/one", b"1")
    assert store.list("d/") == ["d/one"]
    assert not store.exists("d/two")

    write_behind(store, "d/two", b"2")

    assert store.exists("d/two")
    assert store.list("d/") == ["d/one", "d/two"]
    assert ObjectStore.from_url(store_url).list("d/") == ["d/one", "d/two"]


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a"])
def test_bad_keys_are_refused(tmp_path: Path, key: str) -> None:
    store = ObjectStore.from_url(f"file://{tmp_path}")
    with pytest.raises(ValueError, match="bad key"):
        store.put_bytes(key, b"x")


@pytest.mark.parametrize("url", ["http://x", "file://", "s3://", "gs://b"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"file://|s3://"):
        ObjectStore.from_url(url)


def test_from_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBJECT_STORE_URL", f"file://{tmp_path}/art")
    store = ObjectStore.from_settings(StoreSettings())
    store.put_bytes("k", b"v")
    assert (tmp_path / "art" / "k").read_bytes() == b"v"


def test_from_settings_s3_uses_the_endpoint(s3_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = os.environ["AWS_ENDPOINT_URL_S3"]
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")  # only the settings object carries it now
    store = ObjectStore.from_settings(
        StoreSettings(OBJECT_STORE_URL=f"{s3_env}/p", AWS_ENDPOINT_URL_S3=endpoint)
    )
    store.put_bytes("k", b"v")

    bucket = s3_env.removeprefix("s3://")
    client = boto3.client("s3", endpoint_url=endpoint)
    assert client.get_object(Bucket=bucket, Key="p/k")["Body"].read() == b"v"


def test_file_put_replaces_a_synced_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ObjectStore.from_url(f"file://{tmp_path}")
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        replaced.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    store.put_bytes("dir/obj.bin", b"data")

    [(src, dst)] = replaced
    assert dst == str(tmp_path / "dir" / "obj.bin")
    assert os.path.dirname(src) == os.path.dirname(dst)  # same filesystem: rename is atomic
    assert os.path.basename(src).startswith(".obj.bin.") and src.endswith(TMP_SUFFIX)
    assert os.listdir(tmp_path / "dir") == ["obj.bin"]  # no temp file left


def test_file_put_failure_keeps_old_object_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ObjectStore.from_url(f"file://{tmp_path}")
    store.put_bytes("obj", b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.put_bytes("obj", b"new")

    assert store.get_bytes("obj") == b"old"
    assert os.listdir(tmp_path) == ["obj"]


def test_file_readers_never_see_a_partial_object(tmp_path: Path) -> None:
    store = ObjectStore.from_url(f"file://{tmp_path}")
    versions = [bytes([i]) * 2_000_000 for i in range(1, 4)]
    store.put_bytes("big", versions[0])
    reads: list[bool] = []  # whether each read returned one whole version
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            reads.append(store.get_bytes("big") in versions)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(30):
            store.put_bytes("big", versions[i % 3])
    finally:
        done.set()
        thread.join(timeout=30)

    assert len(reads) > 5
    assert all(reads)
    assert store.list() == ["big"]
