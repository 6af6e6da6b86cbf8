from __future__ import annotations

import re

import pytest

from workloads.common.objectstore import ObjectNotFound, ObjectStore
from workloads.common.registry import ModelRegistry


@pytest.fixture
def registry(store_url: str) -> ModelRegistry:
    return ModelRegistry(ObjectStore.from_url(store_url), "scorer")


def test_new_versions_are_timestamped_unique_and_sortable() -> None:
    made = [ModelRegistry.new_version() for _ in range(200)]

    assert all(re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", v) for v in made)
    assert len(set(made)) == len(made)
    assert [v[:16] for v in made] == sorted(v[:16] for v in made)  # time part never goes back


def test_publish_writes_files_manifest_and_latest(registry: ModelRegistry) -> None:
    files = {"model.pt": b"weights", "config/vocab.txt": b"a\nb"}
    written = registry.publish("v1", files, {"metrics": {"auc": 0.9}}, promote=True)

    assert written["files"] == ["config/vocab.txt", "model.pt"]
    assert written["metrics"] == {"auc": 0.9}
    assert written["version"] == "v1" and written["name"] == "scorer"
    assert "published_at" in written
    assert registry.manifest("v1") == written
    assert registry.read("v1", "model.pt") == b"weights"
    assert registry.read("v1", "config/vocab.txt") == b"a\nb"
    assert registry.store.list("models/scorer/v1/") == [
        "models/scorer/v1/config/vocab.txt",
        "models/scorer/v1/manifest.json",
        "models/scorer/v1/model.pt",
    ]
    latest = registry.latest()
    assert latest is not None
    assert latest["version"] == "v1"
    assert latest["manifest"] == "models/scorer/v1/manifest.json"
    assert registry.store.get_json(latest["manifest"]) == written
    assert set(latest) == {"version", "manifest", "updated_at"}


def test_no_latest_before_a_promotion(registry: ModelRegistry) -> None:
    assert registry.latest() is None
    registry.publish("v1", {"m": b"1"}, {}, promote=False)
    assert registry.latest() is None
    assert registry.versions() == ["v1"]


def test_promote_false_keeps_latest(registry: ModelRegistry) -> None:
    registry.publish("v1", {"m": b"1"}, {}, promote=True)
    registry.publish("v2", {"m": b"2"}, {}, promote=False)

    latest = registry.latest()
    assert latest is not None and latest["version"] == "v1"
    assert registry.versions() == ["v1", "v2"]

    registry.promote("v2")
    latest = registry.latest()
    assert latest is not None and latest["version"] == "v2"
    registry.promote("v1")  # rollback
    latest = registry.latest()
    assert latest is not None and latest["version"] == "v1"


def test_incomplete_versions_are_not_listed_or_promoted(registry: ModelRegistry) -> None:
    registry.publish("v1", {"m": b"1"}, {}, promote=True)
    # A publisher that died after its files but before manifest.json:
    registry.store.put_bytes("models/scorer/v2/m", b"half")

    assert registry.versions() == ["v1"]
    with pytest.raises(ValueError, match="not a complete version"):
        registry.promote("v2")
    with pytest.raises(ObjectNotFound):
        registry.manifest("v2")
    latest = registry.latest()
    assert latest is not None and latest["version"] == "v1"

    registry.publish("v2", {"m": b"2"}, {}, promote=True)  # a retry completes it
    assert registry.versions() == ["v1", "v2"]
    assert registry.read("v2", "m") == b"2"


def test_publishing_over_a_complete_version_is_refused(registry: ModelRegistry) -> None:
    registry.publish("v1", {"m": b"1"}, {"run": 1}, promote=True)

    with pytest.raises(ValueError, match="already published"):
        registry.publish("v1", {"m": b"other"}, {"run": 2}, promote=True)
    assert registry.read("v1", "m") == b"1"
    assert registry.manifest("v1")["run"] == 1


def test_versions_sorted_and_scoped_to_the_model(store_url: str) -> None:
    store = ObjectStore.from_url(store_url)
    registry = ModelRegistry(store, "scorer")
    other = ModelRegistry(store, "scorer-v2")  # shares a string prefix with "scorer"
    made = [ModelRegistry.new_version() for _ in range(3)]
    for version in reversed(made):
        registry.publish(version, {"m": version.encode()}, {}, promote=False)
    other.publish("x", {"m": b"x"}, {}, promote=True)

    assert registry.versions() == sorted(made)
    assert other.versions() == ["x"]
    assert registry.latest() is None


def test_custom_prefix(store_url: str) -> None:
    store = ObjectStore.from_url(store_url)
    registry = ModelRegistry(store, "scorer", prefix="registry/prod/")
    registry.publish("v1", {"m": b"1"}, {}, promote=True)

    assert store.exists("registry/prod/scorer/latest.json")
    assert store.exists("registry/prod/scorer/v1/manifest.json")
    assert registry.versions() == ["v1"]


@pytest.mark.parametrize("bad", ["", "a/b", "..", "latest.json", "-x"])
def test_bad_names_and_versions_are_refused(registry: ModelRegistry, bad: str) -> None:
    with pytest.raises(ValueError):
        ModelRegistry(registry.store, bad)
    with pytest.raises(ValueError):
        registry.publish(bad, {"m": b"1"}, {}, promote=False)


def test_manifest_json_is_reserved(registry: ModelRegistry) -> None:
    with pytest.raises(ValueError, match=r"manifest\.json"):
        registry.publish("v1", {"manifest.json": b"{}"}, {}, promote=False)
    assert registry.versions() == []
