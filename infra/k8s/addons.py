"""Cluster add-ons: pinned Helm releases, each behind its `enable<Thing>` flag.

- metrics-server (CPU/memory metrics for HPAs) and KEDA (the scorer and the feature stage scale
  on Kafka lag).
- GPUs: the NVIDIA device plugin *or* the NVIDIA GPU Operator, never both. The operator deploys
  its own device plugin; two plugins on one node would both advertise `nvidia.com/gpu` and hand
  out the same devices. So with `gpu_operator` on, the standalone plugin is skipped whatever
  `nvidia_device_plugin` says. The operator's driver and container toolkit stay off: the EKS
  NVIDIA AMIs (AL2023, Bottlerocket) and the local GPU hosts already ship both.
- Time-slicing (`gpu_time_slicing_replicas` >= 2): each GPU is advertised as that many
  `nvidia.com/gpu` (no memory isolation between the sharers). With the operator it is a ConfigMap
  named in `devicePlugin.config`; with the standalone plugin the chart's `config.map`.
- Monitoring: kube-prometheus-stack, whose Prometheus selects every ServiceMonitor/PodMonitor in
  the cluster, plus dcgm-exporter for GPU metrics, unless the GPU operator runs (it bundles one).

GPU daemons run only on GPU nodes (required affinity on `nvidia.com/gpu.present=true`, or a
pool's own labels) and tolerate the `nvidia.com/gpu` taint and every taint of the pools. The
standalone device plugin also stays off nodes labelled `ascent.dev/device-plugin=builtin`
(Bottlerocket's NVIDIA variants run their own plugin; two would hand out the same GPUs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.contract import DEVICE_PLUGIN_BUILTIN, LABEL_DEVICE_PLUGIN, GpuPoolInfo


@dataclass(frozen=True)
class Chart:
    chart: str
    version: str
    repo: str
    namespace: str


# Versions pinned 2026-11 from the research notes (facts.md section 3); sources:
METRICS_SERVER_VERSION = "3.13.0"  # github.com/kubernetes-sigs/metrics-server/releases (v0.8.0)
KEDA_VERSION = "2.21.1"  # github.com/kedacore/charts/releases/tag/v2.21.1
DEVICE_PLUGIN_VERSION = "0.18.0"  # github.com/NVIDIA/k8s-device-plugin/releases (2025-10)
GPU_OPERATOR_VERSION = "v26.3.3"  # helm.ngc.nvidia.com/nvidia; NVIDIA platform-support page
KUBE_PROMETHEUS_STACK_VERSION = "87.15.1"  # github.com/prometheus-community/helm-charts
PROMETHEUS_ADAPTER_VERSION = "5.3.0"  # github.com/prometheus-community/helm-charts (v0.12.0)
DCGM_EXPORTER_VERSION = "4.8.3"  # docs.nvidia.com/datacenter/dcgm (dcgm-exporter, 2026-07-15)
MONITORING_NAMESPACE = "monitoring"

CHARTS: dict[str, Chart] = {
    "metrics-server": Chart(
        "metrics-server",
        METRICS_SERVER_VERSION,
        "https://kubernetes-sigs.github.io/metrics-server/",
        "kube-system",
    ),
    "keda": Chart("keda", KEDA_VERSION, "https://kedacore.github.io/charts", "keda"),
    "nvidia-device-plugin": Chart(
        "nvidia-device-plugin",
        DEVICE_PLUGIN_VERSION,
        "https://nvidia.github.io/k8s-device-plugin",
        "nvidia-device-plugin",
    ),
    "gpu-operator": Chart(
        "gpu-operator", GPU_OPERATOR_VERSION, "https://helm.ngc.nvidia.com/nvidia", "gpu-operator"
    ),
    "kube-prometheus-stack": Chart(
        "kube-prometheus-stack",
        KUBE_PROMETHEUS_STACK_VERSION,
        "https://prometheus-community.github.io/helm-charts",
        MONITORING_NAMESPACE,
    ),
    "prometheus-adapter": Chart(
        "prometheus-adapter",
        PROMETHEUS_ADAPTER_VERSION,
        "https://prometheus-community.github.io/helm-charts",
        MONITORING_NAMESPACE,
    ),
    "dcgm-exporter": Chart(
        "dcgm-exporter",
        DCGM_EXPORTER_VERSION,
        "https://nvidia.github.io/dcgm-exporter/helm-charts",
        MONITORING_NAMESPACE,
    ),
}

# Pod Security: the GPU daemons mount host paths and run privileged, node-exporter uses the host
# network; the other add-on namespaces (KEDA) enforce baseline.
PRIVILEGED_NAMESPACES = ("nvidia-device-plugin", "gpu-operator", MONITORING_NAMESPACE)

GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
TIME_SLICING_CONFIGMAP = "time-slicing-config"
TIME_SLICING_KEY = "any"


def gpu_tolerations(pools: list[GpuPoolInfo]) -> list[dict[str, str]]:
    """`nvidia.com/gpu:NoSchedule` always, plus an exact toleration for every other pool taint."""
    out = [dict(GPU_TOLERATION)]
    for pool in pools:
        for taint in pool.taints:
            if taint["key"] == GPU_RESOURCE and taint["effect"] == "NoSchedule":
                continue
            tol = {"key": taint["key"], "operator": "Equal", "value": taint.get("value", "")}
            tol["effect"] = taint["effect"]
            if tol not in out:
                out.append(tol)
    return out


def _match(labels: dict[str, str]) -> dict[str, Any]:
    exprs = [{"key": k, "operator": "In", "values": [v]} for k, v in sorted(labels.items())]
    return {"matchExpressions": exprs}


def gpu_node_affinity(pools: list[GpuPoolInfo]) -> dict[str, Any]:
    """Required node affinity: `nvidia.com/gpu.present=true`, or (ORed) all labels of a pool
    whose labels do not carry it (existing local nodes without GPU feature discovery)."""
    terms = [_match({GPU_PRESENT_LABEL: "true"})]
    terms += [_match(p.labels) for p in pools if p.labels.get(GPU_PRESENT_LABEL, "") != "true"]
    required = {"nodeSelectorTerms": [t for t in terms if t["matchExpressions"]]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}


NOT_BUILTIN = {"key": LABEL_DEVICE_PLUGIN, "operator": "NotIn", "values": [DEVICE_PLUGIN_BUILTIN]}


def device_plugin_affinity(pools: list[GpuPoolInfo]) -> dict[str, Any]:
    """`gpu_node_affinity`, and in every term (terms are ORed, expressions ANDed) not on a node
    whose OS runs its own device plugin; a node without the label matches `NotIn`."""
    affinity = gpu_node_affinity(pools)
    required = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    for term in required["nodeSelectorTerms"]:
        term["matchExpressions"].append(dict(NOT_BUILTIN))
    return affinity


def time_slicing_config(replicas: int) -> str:
    """The NVIDIA device plugin config advertising each GPU as `replicas` GPUs."""
    resources = [{"name": GPU_RESOURCE, "replicas": replicas}]
    config = {"version": "v1", "sharing": {"timeSlicing": {"resources": resources}}}
    return yaml.safe_dump(config, sort_keys=False)


@dataclass(frozen=True)
class AddonsArgs:
    metrics_server: bool = True
    keda: bool = True
    nvidia_device_plugin: bool = True
    gpu_operator: bool = False
    gpu_time_slicing_replicas: int = 0  # 0: off; >= 2: each GPU shared by that many pods
    monitoring: bool = False
    gpu_pools: list[GpuPoolInfo] = field(default_factory=list)
    kubelet_insecure_tls: bool = False  # metrics-server on kind, whose kubelets self-sign

    def __post_init__(self) -> None:
        replicas = self.gpu_time_slicing_replicas
        if replicas < 0 or replicas == 1:
            raise ValueError(f"gpu_time_slicing_replicas = {replicas}: must be 0 (off) or >= 2")
        if replicas and not (self.gpu_operator or self.nvidia_device_plugin):
            raise ValueError("gpu_time_slicing_replicas needs the GPU operator or device plugin")

    @property
    def device_plugin(self) -> bool:
        """The standalone plugin runs only without the operator (which brings its own)."""
        return self.nvidia_device_plugin and not self.gpu_operator

    @property
    def dcgm_exporter(self) -> bool:
        """The standalone exporter runs only without the operator (which bundles one)."""
        return self.monitoring and not self.gpu_operator

    @property
    def gpu_tolerations(self) -> list[dict[str, str]]:
        return gpu_tolerations(self.gpu_pools)

    @property
    def gpu_node_affinity(self) -> dict[str, Any]:
        return gpu_node_affinity(self.gpu_pools)


# kube-prometheus-stack's Prometheus Service, for the adapter that serves custom metrics to HPAs.
PROMETHEUS_URL = f"http://kube-prometheus-stack-prometheus.{MONITORING_NAMESPACE}.svc"
IN_FLIGHT_METRIC = "ascent_inference_in_flight_requests"


def in_flight_rule() -> dict[str, Any]:
    """Expose the inference server's in-flight requests gauge per pod (custom.metrics.k8s.io)."""
    return {
        "seriesQuery": f'{IN_FLIGHT_METRIC}{{namespace!="",pod!=""}}',
        "resources": {
            "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
        },
        "name": {"matches": f"^{IN_FLIGHT_METRIC}$", "as": IN_FLIGHT_METRIC},
        "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
    }


def chart_values(key: str, args: AddonsArgs) -> dict[str, Any]:
    """The Helm values of add-on `key` (a CHARTS key)."""
    gpu_daemon = {"affinity": args.gpu_node_affinity, "tolerations": args.gpu_tolerations}
    slicing = args.gpu_time_slicing_replicas
    if key == "metrics-server":
        return {"args": ["--kubelet-insecure-tls"]} if args.kubelet_insecure_tls else {}
    if key == "nvidia-device-plugin":
        values: dict[str, Any] = {
            **gpu_daemon,
            "affinity": device_plugin_affinity(args.gpu_pools),
            "priorityClassName": "system-node-critical",
        }
        if slicing:
            config = {TIME_SLICING_KEY: time_slicing_config(slicing)}
            values["config"] = {"map": config, "default": TIME_SLICING_KEY}
        return values
    if key == "gpu-operator":
        plugin: dict[str, Any] = {"enabled": True}
        if slicing:
            plugin["config"] = {"name": TIME_SLICING_CONFIGMAP, "default": TIME_SLICING_KEY}
        return {
            "driver": {"enabled": False},
            "toolkit": {"enabled": False},
            "devicePlugin": plugin,
            "dcgmExporter": {"enabled": True, "serviceMonitor": {"enabled": args.monitoring}},
            "daemonsets": {"tolerations": args.gpu_tolerations},
            "node-feature-discovery": {"worker": {"tolerations": args.gpu_tolerations}},
        }
    if key == "kube-prometheus-stack":
        selectors = ("serviceMonitor", "podMonitor", "rule")
        spec: dict[str, Any] = {f"{s}SelectorNilUsesHelmValues": False for s in selectors}
        return {"prometheus": {"prometheusSpec": {**spec, "retention": "15d"}}}
    if key == "prometheus-adapter":
        return {
            "prometheus": {"url": PROMETHEUS_URL, "port": 9090},
            "rules": {"default": False, "custom": [in_flight_rule()]},
        }
    if key == "dcgm-exporter":
        return {**gpu_daemon, "serviceMonitor": {"enabled": True}}
    return {}


class Addons(pulumi.ComponentResource):
    """The enabled add-ons; `releases` by CHARTS key, `monitoring_namespace` when monitoring."""

    releases: dict[str, k8s.helm.v3.Release]
    namespaces: dict[str, k8s.core.v1.Namespace]
    monitoring_namespace: str | None

    def __init__(self, name: str, args: AddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:k8s:Addons", name, None, opts)
        self._name = name
        self.releases, self.namespaces = {}, {}
        if args.metrics_server:
            self._release("metrics-server", args)
        if args.keda:
            self._release("keda", args)
        monitoring: list[pulumi.Resource] = []
        if args.monitoring:
            monitoring.append(self._release("kube-prometheus-stack", args))
            self._release("prometheus-adapter", args, monitoring)  # the HPA's custom metrics
        if args.dcgm_exporter:  # needs the ServiceMonitor CRD from kube-prometheus-stack
            self._release("dcgm-exporter", args, monitoring)
        if args.gpu_operator:
            self._release("gpu-operator", args, monitoring + self._time_slicing(args))
        elif args.device_plugin:
            self._release("nvidia-device-plugin", args)
        self.monitoring_namespace = MONITORING_NAMESPACE if args.monitoring else None
        self.register_outputs({"releases": sorted(self.releases)})

    def _namespace(self, namespace: str) -> list[pulumi.Resource]:
        if namespace == "kube-system":
            return []
        if namespace not in self.namespaces:
            level = "privileged" if namespace in PRIVILEGED_NAMESPACES else "baseline"
            labels = {
                "app.kubernetes.io/part-of": "ascent",
                "pod-security.kubernetes.io/enforce": level,
            }
            self.namespaces[namespace] = k8s.core.v1.Namespace(
                f"{self._name}-ns-{namespace}",
                metadata={"name": namespace, "labels": labels},
                opts=pulumi.ResourceOptions(parent=self),
            )
        return [self.namespaces[namespace]]

    def _time_slicing(self, args: AddonsArgs) -> list[pulumi.Resource]:
        """The operator's device plugin config, in the operator's namespace (before it)."""
        if not args.gpu_time_slicing_replicas:
            return []
        namespace = CHARTS["gpu-operator"].namespace
        config = k8s.core.v1.ConfigMap(
            f"{self._name}-time-slicing",
            metadata={"name": TIME_SLICING_CONFIGMAP, "namespace": namespace},
            data={TIME_SLICING_KEY: time_slicing_config(args.gpu_time_slicing_replicas)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._namespace(namespace)),
        )
        return [config]

    def _release(
        self, key: str, args: AddonsArgs, depends_on: list[pulumi.Resource] | None = None
    ) -> k8s.helm.v3.Release:
        chart = CHARTS[key]
        release = k8s.helm.v3.Release(
            f"{self._name}-{key}",
            name=key,
            chart=chart.chart,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
            namespace=chart.namespace,
            create_namespace=False,  # a Namespace child, labelled for Pod Security
            atomic=True,
            timeout=600,
            values=chart_values(key, args),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self._namespace(chart.namespace), *(depends_on or [])]
            ),
        )
        self.releases[key] = release
        return release
