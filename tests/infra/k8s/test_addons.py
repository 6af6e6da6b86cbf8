"""Add-ons: pinned releases behind flags, GPU daemons on GPU nodes only, plugin xor operator."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from infra.contract import DEVICE_PLUGIN_BUILTIN, LABEL_DEVICE_PLUGIN, GpuPoolInfo
from infra.k8s.addons import (
    CHARTS,
    TIME_SLICING_CONFIGMAP,
    Addons,
    AddonsArgs,
    gpu_node_affinity,
    gpu_tolerations,
)
from infra.k8s.render import manifests
from infra.offline import Inventory, run_function

RELEASE = "kubernetes:helm.sh/v3:Release"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
POOLS = [
    GpuPoolInfo("train", "training", {"nvidia.com/gpu.present": "true"}, [GPU_TAINT], 4, 2),
    GpuPoolInfo("serve", "inference", {"nvidia.com/gpu.present": "true"}, [GPU_TAINT], 1, 4),
]
ALL_ON = {"metrics_server": True, "keda": True, "nvidia_device_plugin": True, "monitoring": True}


def run(**kwargs: Any) -> tuple[Inventory, dict[str, Addons]]:
    kwargs.setdefault("gpu_pools", POOLS)
    made: dict[str, Addons] = {}

    def program() -> None:
        provider = k8s.Provider("k8s")
        opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
        made["addons"] = Addons("addons", AddonsArgs(**kwargs), opts=opts)

    return run_function(program), made


def releases(inv: Inventory) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in inv.of_type(RELEASE)}


def gpu_affinity_terms(values: dict[str, Any]) -> list[dict[str, Any]]:
    required = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    return required["nodeSelectorTerms"]


@pytest.mark.parametrize("gpu_operator", [False, True])
def test_every_release_is_pinned_atomic_and_in_its_namespace(gpu_operator):
    inv, _ = run(**ALL_ON, gpu_operator=gpu_operator)
    found = releases(inv)
    assert found
    for key, inputs in found.items():
        chart = CHARTS[key]
        assert (inputs["chart"], inputs["version"]) == (chart.chart, chart.version)
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", inputs["version"]), "an exact version, no range"
        assert inputs["repositoryOpts"]["repo"] == chart.repo
        assert inputs["repositoryOpts"]["repo"].startswith("https://")
        assert inputs["namespace"] == chart.namespace
        assert inputs["atomic"] is True


def test_versions_match_the_research_notes():
    pins = {k: (c.chart, c.version) for k, c in CHARTS.items()}
    assert pins["metrics-server"] == ("metrics-server", "3.13.0")
    assert pins["keda"] == ("keda", "2.21.1")
    assert pins["nvidia-device-plugin"] == ("nvidia-device-plugin", "0.18.0")
    assert pins["gpu-operator"] == ("gpu-operator", "v26.3.3")
    assert CHARTS["gpu-operator"].repo == "https://helm.ngc.nvidia.com/nvidia"


@pytest.mark.parametrize(
    ("flag", "release"),
    [
        ("metrics_server", "metrics-server"),
        ("keda", "keda"),
        ("nvidia_device_plugin", "nvidia-device-plugin"),
        ("gpu_operator", "gpu-operator"),
        ("monitoring", "kube-prometheus-stack"),
        ("monitoring", "dcgm-exporter"),
    ],
)
def test_each_flag_turns_its_addon_on_and_off(flag, release):
    off = dict.fromkeys(("metrics_server", "keda", "nvidia_device_plugin"), False)
    assert not releases(run(**off)[0])
    assert release in releases(run(**{**off, flag: True})[0])
    assert release not in releases(run(**{**ALL_ON, flag: False})[0])


def test_gpu_operator_replaces_the_device_plugin_and_bundled_dcgm_exporter():
    inv, made = run(**ALL_ON, gpu_operator=True)
    found = releases(inv)
    assert "gpu-operator" in found
    assert "nvidia-device-plugin" not in found
    assert "dcgm-exporter" not in found
    values = found["gpu-operator"]["values"]
    assert values["driver"]["enabled"] is False  # the NVIDIA AMIs ship the driver
    assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is True
    assert set(made["addons"].releases) == set(found)


def test_device_plugin_only_on_gpu_nodes_and_tolerates_the_gpu_taint():
    values = releases(run(**ALL_ON)[0])["nvidia-device-plugin"]["values"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values[
        "tolerations"
    ]
    terms = gpu_affinity_terms(values)
    assert terms == [
        {
            "matchExpressions": [
                {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]},
                {"key": "ascent.dev/device-plugin", "operator": "NotIn", "values": ["builtin"]},
            ]
        }
    ]
    assert "config" not in values  # no time-slicing by default


def test_device_plugin_avoids_nodes_whose_os_runs_its_own():
    """Bottlerocket's NVIDIA variants run a device plugin; a second would hand out the same GPUs.
    Every term (local pools without the GPU-present label too) excludes the builtin label."""
    builtin = {LABEL_DEVICE_PLUGIN: DEVICE_PLUGIN_BUILTIN, "ascent.dev/pool": "br"}
    bottlerocket = GpuPoolInfo("br", "training", builtin, [GPU_TAINT], 4, 2, True)
    local = GpuPoolInfo("local", "training", {"ascent.dev/pool": "local"}, [], 1, 1)
    values = releases(run(**ALL_ON, gpu_pools=[*POOLS, bottlerocket, local])[0])
    terms = gpu_affinity_terms(values["nvidia-device-plugin"]["values"])
    assert len(terms) == 3
    for term in terms:
        assert {"key": LABEL_DEVICE_PLUGIN, "operator": "NotIn", "values": ["builtin"]} in term[
            "matchExpressions"
        ]
    dcgm = gpu_affinity_terms(values["dcgm-exporter"]["values"])  # metrics: every GPU node
    assert all(e["operator"] == "In" for t in dcgm for e in t["matchExpressions"])


def test_dcgm_exporter_on_gpu_nodes_after_prometheus():
    values = releases(run(**ALL_ON)[0])["dcgm-exporter"]["values"]
    assert gpu_affinity_terms(values)[0]["matchExpressions"][0]["key"] == "nvidia.com/gpu.present"
    assert values["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert values["serviceMonitor"]["enabled"] is True


def test_gpu_tolerations_cover_every_pool_taint_once():
    spot = {"key": "ascent.dev/spot", "value": "true", "effect": "NoExecute"}
    pools = [*POOLS, GpuPoolInfo("x", "training", {}, [GPU_TAINT, spot], 8, 1)]
    assert gpu_tolerations(pools) == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "ascent.dev/spot", "operator": "Equal", "value": "true", "effect": "NoExecute"},
    ]
    assert gpu_tolerations([]) == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]


def test_gpu_affinity_adds_pools_without_the_gpu_present_label():
    local = GpuPoolInfo("local", "training", {"ascent.dev/pool": "local"}, [], 1, 1)
    terms = gpu_node_affinity([*POOLS, local])["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert len(terms) == 2
    assert terms[1] == {
        "matchExpressions": [{"key": "ascent.dev/pool", "operator": "In", "values": ["local"]}]
    }


def test_time_slicing_with_the_operator_uses_a_configmap():
    inv, _ = run(**ALL_ON, gpu_operator=True, gpu_time_slicing_replicas=4)
    (config,) = inv.of_type("kubernetes:core/v1:ConfigMap")
    assert config.inputs["metadata"] == {
        "name": TIME_SLICING_CONFIGMAP,
        "namespace": "gpu-operator",
    }
    key, text = next(iter(config.inputs["data"].items()))
    sharing = yaml.safe_load(text)["sharing"]["timeSlicing"]["resources"]
    assert sharing == [{"name": "nvidia.com/gpu", "replicas": 4}]
    plugin = releases(inv)["gpu-operator"]["values"]["devicePlugin"]
    assert plugin["config"] == {"name": TIME_SLICING_CONFIGMAP, "default": key}


def test_time_slicing_with_the_standalone_plugin_uses_its_config_map():
    inv, _ = run(**ALL_ON, gpu_time_slicing_replicas=3)
    assert not inv.of_type("kubernetes:core/v1:ConfigMap")
    config = releases(inv)["nvidia-device-plugin"]["values"]["config"]
    text = config["map"][config["default"]]
    assert yaml.safe_load(text)["sharing"]["timeSlicing"]["resources"][0]["replicas"] == 3


def test_no_time_slicing_no_configmap():
    inv, _ = run(**ALL_ON, gpu_operator=True)
    assert not inv.of_type("kubernetes:core/v1:ConfigMap")
    assert "config" not in releases(inv)["gpu-operator"]["values"]["devicePlugin"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gpu_time_slicing_replicas": -1},
        {"gpu_time_slicing_replicas": 1},
        {"gpu_time_slicing_replicas": 2, "nvidia_device_plugin": False},
    ],
)
def test_bad_time_slicing_is_refused(kwargs):
    with pytest.raises(ValueError, match="gpu_time_slicing_replicas"):
        AddonsArgs(**kwargs)


def test_addon_namespaces_are_labelled_for_pod_security():
    inv, made = run(**ALL_ON, gpu_operator=True)
    labels = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
        for r in inv.of_type("kubernetes:core/v1:Namespace")
    }
    assert set(labels) == {"keda", "monitoring", "gpu-operator"}  # metrics-server: kube-system
    assert labels["gpu-operator"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["keda"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert all(i["createNamespace"] is False for i in releases(inv).values())
    assert made["addons"].monitoring_namespace == "monitoring"
    assert run(**{**ALL_ON, "monitoring": False})[1]["addons"].monitoring_namespace is None


def test_every_resource_is_on_the_given_provider_and_under_the_component():
    inv, _ = run(**ALL_ON, gpu_operator=True, gpu_time_slicing_replicas=2)
    provider = inv.named("k8s").urn
    component = inv.named("addons")
    assert component.type == "ascent:k8s:Addons"
    children = [r for r in inv.custom() if r.type.startswith("kubernetes:")]
    assert len(children) >= 6
    for res in children:
        assert res.provider.startswith(provider + "::"), res.name
        assert res.parent == component.urn, res.name


def test_plain_objects_validate_strictly_against_the_api_schema():
    inv, _ = run(**ALL_ON, gpu_operator=True, gpu_time_slicing_replicas=2)
    docs = manifests(inv)
    assert {d["kind"] for d in docs} == {"Namespace", "ConfigMap"}
    for doc in docs:
        kubernetes_validate.validate(doc, "1.35.0", strict=True)
