"""`python -m ci promote`: build once, push to registry A, promote the digest to registry B with
skopeo, pull back from B by digest: the same image, against real docker-registry instances."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.ci.conftest import BASE_IMAGE, Engine, free_port, run_ci, stop, wait_for

SHA = "fedcba9876543210fedcba9876543210fedcba98"
DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY hello.txt /hello.txt
USER 1000:1000
CMD ["cat", "/hello.txt"]
"""
ACCEPT = ("application/vnd.oci.image.manifest.v1+json, "
          "application/vnd.docker.distribution.manifest.v2+json")  # fmt: skip


@pytest.fixture(scope="module")
def registry_b(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import subprocess

    base = tmp_path_factory.mktemp("registry-b")
    address = f"127.0.0.1:{free_port()}"
    (base / "registry.yml").write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {base / 'data'}\n"
        f"http:\n  addr: {address}\n"
    )
    proc = subprocess.Popen(["docker-registry", "serve", str(base / "registry.yml")],
                            stdout=(base / "log").open("w"), stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_for("registry B", lambda: requests.get(f"http://{address}/v2/", timeout=1).ok, proc)
        yield address
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def env(engine: Engine, registry_b: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("promote")
    conf = base / "registries.conf"  # both test registries speak plain HTTP
    conf.write_text("".join(f'[[registry]]\nlocation = "{r}"\ninsecure = true\n'
                            for r in (engine.registry, registry_b)))  # fmt: skip
    (base / "hello.txt").write_text("built once\n")
    (base / "Dockerfile").write_text(DOCKERFILE)
    return {
        **engine.env,
        "CONTAINERS_REGISTRIES_CONF": str(conf),
        "DOCKER_HOST": engine.docker_host,
        "ASCENT_GIT_SHA": SHA,
        "ASCENT_GIT_BRANCH": "main",
        "ASCENT_CI_OUT": str(base / "out"),
        "CONTEXT": str(base),
    }


def _served_digest(registry: str, name: str, tag: str) -> str:
    head = requests.head(f"http://{registry}/v2/ascent/{name}/manifests/{tag}",
                         headers={"Accept": ACCEPT}, timeout=5)  # fmt: skip
    head.raise_for_status()
    return str(head.headers["Docker-Content-Digest"])


def test_build_once_promote_by_digest_pull_back_the_same_image(engine, registry_b, env):
    context = Path(env["CONTEXT"])
    built = run_ci("build", "--context", str(context), "--image",
                   f"app={context / 'Dockerfile'}", env=env, timeout=300)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    pushed = run_ci("push", "--registry", f"{engine.registry}/ascent", env=env)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    release_path = Path(env["ASCENT_CI_OUT"]) / "release.json"
    source = json.loads(release_path.read_text())["images"]["app"]

    promoted = run_ci("promote", "--to-registry", f"{registry_b}/ascent", env=env, timeout=300)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    release = json.loads(release_path.read_text())
    app = release["images"]["app"]
    assert release["promotedFrom"] == f"{engine.registry}/ascent"
    assert app == {"repository": f"{registry_b}/ascent/app", "tag": SHA,
                   "digest": source["digest"]}  # fmt: skip
    # registry B itself serves that digest under the SHA tag: no rebuild, no re-encoding
    assert _served_digest(registry_b, "app", SHA) == source["digest"]

    # pull it back from B by digest through the registry API: same bytes, same file inside
    base = f"http://{registry_b}/v2/ascent/app"
    manifest = requests.get(f"{base}/manifests/{app['digest']}", headers={"Accept": ACCEPT},
                            timeout=5)  # fmt: skip
    manifest.raise_for_status()
    assert "sha256:" + hashlib.sha256(manifest.content).hexdigest() == source["digest"]
    files = {}
    for layer in manifest.json()["layers"]:
        blob = requests.get(f"{base}/blobs/{layer['digest']}", timeout=10).content
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    files[member.name.lstrip("./")] = tar.extractfile(member).read()  # type: ignore[union-attr]
    assert files["hello.txt"] == b"built once\n"


def test_promote_without_a_release_says_to_push_first(env, tmp_path):
    proc = run_ci("promote", "--to-registry", "127.0.0.1:1/x",
                  env={**env, "ASCENT_CI_OUT": str(tmp_path)})  # fmt: skip
    assert proc.returncode == 1
    assert "promote: no release.json" in proc.stderr


def test_a_registry_that_is_down_fails_with_skopeos_reason(env, engine, tmp_path):
    missing = {"repository": f"{engine.registry}/ascent/app", "digest": "sha256:" + "0" * 64}
    release = {"registry": f"{engine.registry}/ascent", "tag": SHA, "images": {"app": missing}}
    (tmp_path / "release.json").write_text(json.dumps(release))
    proc = run_ci("promote", "--to-registry", f"127.0.0.1:{free_port()}/x",
                  env={**env, "ASCENT_CI_OUT": str(tmp_path)}, timeout=300)  # fmt: skip
    assert proc.returncode == 1
    assert "promote: skopeo copy of" in proc.stderr and "Traceback" not in proc.stderr


def test_what_a_stack_runs_is_promoted_as_the_release_ci_configured_it_from():
    """`--from-stack aws-dev-k8s`: the `ascent:images` CI set on dev round-trips into the record
    that prod's promotion copies."""
    from ci.steps import promote, pulumi_steps

    digest = "sha256:" + "e" * 64
    repo = "111122223333.dkr.ecr.us-east-1.amazonaws.com/ascent-aws-dev"
    release = {"registry": repo, "tag": SHA, "images": {
        n: {"repository": f"{repo}/{n}", "tag": SHA, "digest": digest}
        for n in ("inference", "training")}}  # fmt: skip
    config = pulumi_steps.image_config(release, pulumi_steps.declared_keys())
    again = promote.release_from_config(config["ascent:images"], config["ascent:imageTag"])
    assert again == release
    with pytest.raises(Exception, match="runs no pinned images"):
        promote.release_from_config("[]", SHA)
    with pytest.raises(Exception, match="not NAME=REPOSITORY@sha256"):
        promote.release_from_config('["inference=repo:tag"]', SHA)


def test_from_stack_reads_the_last_successful_update_not_the_checkouts_file(monkeypatch):
    """CI sets `ascent:images` per deploy: only the backend's update history has it."""
    from datetime import datetime
    from types import SimpleNamespace

    from pulumi.automation import UpdateSummary

    from ci.steps import promote, pulumi_steps

    def update(result: str, images: list[str]) -> UpdateSummary:
        config = {"ascent:imageTag": {"value": SHA, "secret": False},
                  "ascent:images": {"value": json.dumps(images), "secret": False}}  # fmt: skip
        return UpdateSummary("update", datetime(2026, 1, 1), "", {}, config, result)

    good = [f"inference=reg/ascent/inference@sha256:{'a' * 64}"]
    history = [update("failed", [f"inference=reg/ascent/inference@sha256:{'b' * 64}"]),
               update("succeeded", good)]  # fmt: skip
    monkeypatch.setattr(pulumi_steps, "require_cli", lambda step: None)
    backend = SimpleNamespace(history=lambda page_size: history)
    monkeypatch.setattr(pulumi_steps, "open_stack", lambda step, name: backend)
    release = promote.stack_release("aws-dev-k8s")
    assert release["images"]["inference"]["digest"] == "sha256:" + "a" * 64
    assert release["registry"] == "reg/ascent"


def test_the_last_release_seeds_the_next_builds_cache(engine, registry_b, env, monkeypatch, capsys):
    """ECR tags are immutable: the cache is the image a stack last ran, by digest."""
    from ci.images import ImageSpec
    from ci.steps import build, promote

    release = json.loads((Path(env["ASCENT_CI_OUT"]) / "release.json").read_text())
    digest = release["images"]["app"]["digest"]  # pushed to A, then promoted to B
    ran = {"app": {"repository": f"{engine.registry}/ascent/app", "tag": SHA, "digest": digest}}
    monkeypatch.setattr(promote, "stack_release", lambda stack: {"images": ran})
    cache = build.stack_cache("aws-dev-k8s")
    assert cache == {"app": f"{engine.registry}/ascent/app@{digest}"}

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ASCENT_CI_OUT", str(Path(env["ASCENT_CI_OUT"]) / "second"))
    context = Path(env["CONTEXT"])
    spec = ImageSpec("app", context / "Dockerfile", context)
    assert build.build([spec], Path(env["ASCENT_CI_OUT"]) / "second", cache_images=cache) == 0
    out = capsys.readouterr().out
    assert f"cache {cache['app']} pulled" in out


def test_a_stack_with_no_release_gives_no_cache_not_a_failure(monkeypatch, capsys):
    from ci.shell import StepFailed
    from ci.steps import build, promote

    def nothing(stack):
        raise StepFailed("promote", "the source stack runs no pinned images")

    monkeypatch.setattr(promote, "stack_release", nothing)
    assert build.stack_cache("aws-dev-k8s") == {}
    assert "no cache from stack aws-dev-k8s" in capsys.readouterr().out
