"""Typed, validated stack config: the only module that reads `pulumi.Config`.

Every key of the program lives in the `ascent` namespace and is declared in `Pulumi.yaml` with its
type, default and description. `parse_config` checks the whole stack at once and raises one
`ConfigError` that names every wrong key, the value given and what is allowed, before any resource
is declared. Provider namespaces (`aws:`, `kubernetes:`, ...) pass through as the CLI passes them:
`aws:region`, `aws:profile` and `kubernetes:context` also reach the program's explicit providers.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from infra.catalog import gpu_count, gpu_family
from infra.layers import Layer
from infra.names import IMAGES
from policies.prices import aws_regions

NAMESPACE = "ascent"
PROVIDER_NAMESPACES = ("aws", "kubernetes", "random", "tls", "pulumi")
"""Config namespaces of the providers this program uses (and the engine's own): passed through."""

SUPPORTED_KUBERNETES_VERSIONS = ("1.34", "1.35", "1.36")
# the Kubernetes minors the pinned Karpenter (infra/aws/karpenter.py CHART_VERSION) supports, from
# its compatibility matrix (tests/contracts/karpenter/compatibility.md)
KARPENTER_KUBERNETES_VERSIONS = ("1.34", "1.35")
# EKS versions in standard support on 2026-11-29 (1.34 leaves it 2026-12-02); source:
# docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html

MSK_MAX_AZS = 3  # a provisioned MSK cluster takes two or three client subnets
_ADMIN_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")
_IMAGE_TAG = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$")
_PINNED_IMAGE = re.compile(r"^[a-z][a-z0-9-]*=[a-z0-9.:/_-]+@sha256:[a-f0-9]{64}$")
_PINNED_IMAGE_HELP = (
    "NAME=REPOSITORY@sha256:<64 hex>, e.g. inference=reg/ascent/inference@sha256:..."
)
_STACK_REF = re.compile(r"^([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$")
_RUNNER_SECRET = re.compile(
    r"^[A-Z_][A-Z0-9_]*=arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$"
)
_RUNNER_SECRET_HELP = "ENV_NAME=<Secrets Manager secret ARN>, e.g. PULUMI_ACCESS_TOKEN=arn:aws:..."
_BUCKET = re.compile(r"^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$")
_CRON = re.compile(r"^(\S+\s+){4}\S+$")


class ConfigError(ValueError):
    """The stack config is invalid; `problems` holds one line per wrong key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        self.one_line = "invalid stack config: " + "; ".join(problems)
        super().__init__(
            f"invalid stack config ({len(problems)} problem{'s' * (len(problems) != 1)}):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


def _cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 CIDR such as 10.0.0.0/16 ({exc})") from None
    return str(net)


def _vpc_cidr(value: str) -> str:
    net = ipaddress.IPv4Network(_cidr(value))
    if not 16 <= net.prefixlen <= 20:
        raise ValueError("must be a /16 to /20 block, room for a public and private subnet per AZ")
    if not net.is_private:
        raise ValueError("must be a private (RFC 1918) range")
    return str(net)


def _pattern(regex: re.Pattern[str], allowed: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(f"must be {allowed}")
        return value

    return AfterValidator(check)


Cidr = Annotated[str, AfterValidator(_cidr)]
Count = Annotated[int, Field(ge=0, le=1000)]


def _not_below(value: int, info: ValidationInfo, low_field: str) -> int:
    """A maximum validated against the minimum declared before it (if that one was valid)."""
    low = info.data.get(low_field)
    if low is not None and value < low:
        raise ValueError(f"must be >= {to_camel(low_field)} ({low})")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def parse_pool_spec(spec: Any) -> Any:
    """`"training purpose=training instanceTypes=g6.12xlarge,g6e.12xlarge minSize=0"` -> dict.

    Pulumi.yaml can only declare arrays of strings, so a stack file writes each pool as one line:
    its name, then `key=value` pairs (lists comma-separated). Mappings pass through unchanged.
    """
    if not isinstance(spec, str):
        return spec
    name, *pairs = spec.split()
    out: dict[str, Any] = {"name": name}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"{pair!r} is not key=value (pool spec: NAME key=value ...)")
        out[key] = value.split(",") if key == "instanceTypes" else value
    return out


class GpuPool(_Model):
    """A node pool of NVIDIA GPU instances (EKS managed node group, or existing nodes locally)."""

    @model_validator(mode="before")
    @classmethod
    def _from_spec(cls, value: Any) -> Any:
        return parse_pool_spec(value)

    name: Annotated[
        str, _pattern(_NAME, "kebab-case, 2-20 characters (it prefixes node group names)")
    ]
    purpose: Literal["training", "inference"]
    instance_types: list[str] = Field(min_length=1)
    capacity_type: Literal["on-demand", "spot"] = "on-demand"
    min_size: Count = 0
    max_size: Annotated[int, Field(ge=1, le=1000)] = 1
    desired_size: Count | None = None
    disk_size_gb: Annotated[int, Field(ge=40, le=16384)] = 200
    ami_family: Literal["al2023", "bottlerocket"] = "al2023"

    @field_validator("instance_types")
    @classmethod
    def _gpu_types(cls, types: list[str]) -> list[str]:
        problems = []
        for t in types:
            try:
                gpu_family(t)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        archs = {gpu_family(t).arch for t in types}
        counts = {gpu_count(t) for t in types}
        if len(archs) > 1 or len(counts) > 1:
            raise ValueError(
                "all instance types of a pool must share CPU architecture and GPU count "
                "(the autoscaler builds one node template per pool)"
            )
        return types

    @field_validator("max_size")
    @classmethod
    def _max_not_below_min(cls, value: int, info: ValidationInfo) -> int:
        return _not_below(value, info, "min_size")

    @field_validator("desired_size")
    @classmethod
    def _desired_in_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        low, high = info.data.get("min_size"), info.data.get("max_size")
        if value is not None and low is not None and high is not None and not low <= value <= high:
            raise ValueError(f"must be between minSize ({low}) and maxSize ({high})")
        return value

    @property
    def gpus_per_node(self) -> int:
        return gpu_count(self.instance_types[0])

    @property
    def gpu_model(self) -> str:
        """The first instance type's GPU model; a pool may mix models (see `shared_gpu_model`)."""
        return gpu_family(self.instance_types[0]).gpu_model

    @property
    def gpu_models(self) -> tuple[str, ...]:
        """The distinct GPU models of the pool's instance types, sorted."""
        return tuple(sorted({gpu_family(t).gpu_model for t in self.instance_types}))

    @property
    def shared_gpu_model(self) -> str | None:
        """The GPU model all instance types share; None for a pool mixing models (e.g. L40S and L4
        for spot diversity), whose nodes must not be labelled with one model."""
        models = self.gpu_models
        return models[0] if len(models) == 1 else None

    @property
    def device_plugin_builtin(self) -> bool:
        """The pool's OS runs its own NVIDIA device plugin (Bottlerocket NVIDIA variants)."""
        return self.ami_family == "bottlerocket"

    @property
    def initial_size(self) -> int:
        return self.min_size if self.desired_size is None else self.desired_size


def _default_gpu_pools() -> list[GpuPool]:
    return [
        GpuPool(
            name="inference",
            purpose="inference",
            instance_types=["g6.xlarge"],
            capacity_type="on-demand",
            min_size=1,
            max_size=4,
        ),
        GpuPool(
            name="training",
            purpose="training",
            instance_types=["g6.12xlarge"],
            capacity_type="spot",
            min_size=0,
            max_size=2,
        ),
    ]


class StackConfig(_Model):
    """The whole stack config. Field docs are the `description`s in Pulumi.yaml."""

    target: Literal["aws", "local"] = "local"
    environment: Literal["dev", "prod"] = "dev"
    layer: Layer = "all"
    cloud_stack: str = Field("", validate_default=True)
    owner: str = Field("platform-team", min_length=1)
    cost_center: str = Field("ai-platform", min_length=1)
    # AWS
    region: str = Field("", validate_default=True)
    availability_zones: Annotated[int, Field(ge=2, le=6)] = 2
    vpc_cidr: Annotated[str, AfterValidator(_vpc_cidr)] = "10.0.0.0/16"
    nat_gateway_per_az: bool = False
    kubernetes_version: str = "1.35"
    cluster_endpoint_public_cidrs: list[Cidr] = []
    cluster_admin_arns: list[Annotated[str, _pattern(_ADMIN_ARN, "an IAM role or user ARN")]] = []
    system_instance_type: str = "m7i.large"
    system_min_size: Annotated[int, Field(ge=1, le=100)] = 2
    system_max_size: Annotated[int, Field(ge=1, le=100)] = 4
    gpu_pools: list[GpuPool] = Field(default_factory=_default_gpu_pools)
    # Kafka
    kafka_mode: Literal["provisioned", "serverless"] = "provisioned"
    kafka_version: str = "3.9.x"
    kafka_broker_instance_type: str = "kafka.m7g.large"
    kafka_brokers: Annotated[int, Field(ge=1, le=30)] = 2
    kafka_volume_size_gb: Annotated[int, Field(ge=1, le=16384)] = 100
    # Object storage
    storage_force_destroy: bool = False
    checkpoint_retention_days: Annotated[int, Field(ge=1, le=3650)] = 14
    noncurrent_version_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    storage_estimate_gb: Annotated[int, Field(ge=0)] = 500
    # Local target
    kubeconfig_context: str = ""
    object_store_volume_gb: Annotated[int, Field(ge=1, le=16384)] = 20
    image_registry: str = "localhost:5001/ascent"
    # Images
    image_tag: Annotated[str, _pattern(_IMAGE_TAG, "a Docker tag or sha256 digest")] = "0.1.0"
    images: list[Annotated[str, _pattern(_PINNED_IMAGE, _PINNED_IMAGE_HELP)]] = []
    # Add-ons
    enable_metrics_server: bool = True
    enable_keda: bool = True
    enable_nvidia_device_plugin: bool = True
    enable_gpu_operator: bool = False
    enable_monitoring: bool = False
    enable_cluster_autoscaler: bool = True
    node_autoscaler: Literal["cluster-autoscaler", "karpenter"] = "cluster-autoscaler"
    karpenter_on_demand_fallback: bool = True
    # Deploy runner (cloud layer)
    deploy_runner_secrets: list[Annotated[str, _pattern(_RUNNER_SECRET, _RUNNER_SECRET_HELP)]] = []
    deploy_runner_state_bucket: Annotated[str, _pattern(_BUCKET, "empty or an S3 bucket name")] = ""
    # Workloads
    training_nodes: Annotated[int, Field(ge=1, le=64)] = 1
    training_active_deadline_seconds: Annotated[int, Field(ge=60)] = 86400
    training_schedule: str = ""
    inference_min_replicas: Annotated[int, Field(ge=1, le=100)] = 2
    inference_max_replicas: Annotated[int, Field(ge=1, le=100)] = 8
    inference_use_gpu: bool = False
    scorer_min_replicas: Annotated[int, Field(ge=0, le=100)] = 0
    scorer_max_replicas: Annotated[int, Field(ge=1, le=100)] = 6
    scorer_lag_threshold: Annotated[int, Field(ge=1)] = 1000
    features_min_replicas: Annotated[int, Field(ge=0, le=100)] = 0
    features_max_replicas: Annotated[int, Field(ge=1, le=100)] = 6
    features_lag_threshold: Annotated[int, Field(ge=1)] = 5000
    # Guardrails
    monthly_budget_usd: Annotated[int, Field(ge=0)] = 25000
    budget_strict: bool = False
    max_gpu_nodes: Annotated[int, Field(ge=0)] = 16

    _providers: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def provider_config(self) -> dict[str, str]:
        """The provider-namespace keys the stack set (`aws:profile`, ...), as the CLI hands them."""
        return dict(self._providers)

    @property
    def aws_profile(self) -> str | None:
        return self._providers.get("aws:profile") or None

    @field_validator("region")
    @classmethod
    def _region(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("target") == "aws":
            if not value:
                raise ValueError(
                    "is required when target is aws (or set aws:region), e.g. us-east-1"
                )
            regions = aws_regions()
            if value not in regions:
                near = difflib.get_close_matches(value, regions, n=1)
                hint = f" (did you mean {near[0]}?)" if near else ""
                raise ValueError(
                    f"must be an AWS commercial region where EKS runs{hint}; "
                    f"one of {', '.join(regions)}"
                )
        return value

    @field_validator("layer")
    @classmethod
    def _layer_target(cls, value: str, info: ValidationInfo) -> str:
        if value != "all" and info.data.get("target") != "aws":
            raise ValueError(
                "splits an AWS stack (cloud | kubernetes); a local cluster is reachable from "
                "where `pulumi up` runs: keep all"
            )
        return value

    @field_validator("cloud_stack")
    @classmethod
    def _cloud_stack(cls, value: str, info: ValidationInfo) -> str:
        layer = info.data.get("layer")
        if layer == "kubernetes" and not value:
            raise ValueError("is required with layer kubernetes: the cloud stack, e.g. aws-prod")
        if layer != "kubernetes" and value:
            raise ValueError("is read only with layer kubernetes; leave it empty")
        if value and not _STACK_REF.match(value):
            raise ValueError("must be a stack name or org/project/stack")
        return value

    @field_validator("kubernetes_version")
    @classmethod
    def _k8s_version(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}")
        return value

    @field_validator("cluster_endpoint_public_cidrs")
    @classmethod
    def _endpoint_cidrs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if value and info.data.get("environment") == "prod":
            raise ValueError("must be empty in prod: the API endpoint is private-only there")
        return value

    @field_validator("system_max_size")
    @classmethod
    def _system_max(cls, value: int, info: ValidationInfo) -> int:
        return _not_below(value, info, "system_min_size")

    @field_validator("gpu_pools")
    @classmethod
    def _unique_pools(cls, pools: list[GpuPool]) -> list[GpuPool]:
        names = [p.name for p in pools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"pool names must be unique (repeated: {', '.join(dupes)})")
        return pools

    @field_validator("enable_gpu_operator")
    @classmethod
    def _operator_pools(cls, value: bool, info: ValidationInfo) -> bool:
        pools = info.data.get("gpu_pools") or []
        builtin = [p.name for p in pools if p.device_plugin_builtin]
        if value and info.data.get("target") == "aws" and builtin:
            raise ValueError(
                f"the GPU operator deploys its own device plugin, and pool(s) "
                f"{', '.join(builtin)} use amiFamily=bottlerocket, whose NVIDIA variant already "
                "runs one (two plugins hand out the same GPUs): use amiFamily=al2023 there, or "
                "the standalone device plugin (enableGpuOperator false)"
            )
        return value

    @field_validator("node_autoscaler")
    @classmethod
    def _node_autoscaler(cls, value: str, info: ValidationInfo) -> str:
        if value == "karpenter" and info.data.get("target") != "aws":
            raise ValueError("karpenter provisions EC2 instances: it needs target aws")
        version = info.data.get("kubernetes_version")
        if value == "karpenter" and version and version not in KARPENTER_KUBERNETES_VERSIONS:
            supported = ", ".join(KARPENTER_KUBERNETES_VERSIONS)
            raise ValueError(
                f"the pinned Karpenter supports Kubernetes {supported} (kubernetesVersion is "
                f"{version}): use one of those, or cluster-autoscaler"
            )
        return value

    @property
    def karpenter(self) -> bool:
        """GPU capacity comes from Karpenter NodePools, not from managed node groups."""
        return self.target == "aws" and self.node_autoscaler == "karpenter"

    @property
    def cluster_autoscaler(self) -> bool:
        """cluster-autoscaler runs: enabled, and not replaced by Karpenter."""
        return self.enable_cluster_autoscaler and not self.karpenter

    @field_validator("kafka_brokers")
    @classmethod
    def _brokers_per_az(cls, value: int, info: ValidationInfo) -> int:
        azs = info.data.get("availability_zones")
        if info.data.get("target") == "aws" and azs and value % min(azs, MSK_MAX_AZS):
            raise ValueError(
                f"must be a multiple of the AZs MSK spans ({min(azs, MSK_MAX_AZS)}: "
                f"availabilityZones, at most {MSK_MAX_AZS})"
            )
        return value

    @field_validator("image_tag")
    @classmethod
    def _not_latest(cls, value: str) -> str:
        if value == "latest":
            raise ValueError("must pin an image: `latest` is refused (use the commit SHA)")
        return value

    @field_validator("images")
    @classmethod
    def _image_names(cls, value: list[str]) -> list[str]:
        names = [line.split("=", 1)[0] for line in value]
        unknown = sorted(set(names) - set(IMAGES))
        if unknown:
            raise ValueError(f"unknown image(s) {', '.join(unknown)}; images: {', '.join(IMAGES)}")
        if len(names) != len(set(names)):
            raise ValueError("names each image once")
        return value

    @property
    def pinned_images(self) -> dict[str, str]:
        """`images` as {name: repository@digest}: what the workloads run, whatever `imageTag`."""
        return dict(line.split("=", 1) for line in self.images)

    @field_validator("training_schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if value and not _CRON.match(value):
            raise ValueError("must be empty (no schedule) or a 5-field cron expression")
        return value

    @field_validator("inference_max_replicas")
    @classmethod
    def _inference_max(cls, value: int, info: ValidationInfo) -> int:
        return _not_below(value, info, "inference_min_replicas")

    @field_validator("inference_use_gpu")
    @classmethod
    def _inference_pool(cls, value: bool, info: ValidationInfo) -> bool:
        pools = info.data.get("gpu_pools")
        if value and pools is not None and not any(p.purpose == "inference" for p in pools):
            raise ValueError("needs a gpuPools entry with purpose inference")
        return value

    @field_validator("scorer_max_replicas")
    @classmethod
    def _scorer_max(cls, value: int, info: ValidationInfo) -> int:
        return _not_below(value, info, "scorer_min_replicas")

    @field_validator("features_max_replicas")
    @classmethod
    def _features_max(cls, value: int, info: ValidationInfo) -> int:
        return _not_below(value, info, "features_min_replicas")


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys a nested model accepts at `loc`, for the message about an unknown key."""
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        inner = getattr(field.annotation, "__args__", (field.annotation,)) if field else ()
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), model)
    return sorted(f.alias or n for n, f in model.model_fields.items())


def _key(loc: tuple[int | str, ...]) -> str:
    out = NAMESPACE + ":"
    for i, part in enumerate(loc):
        out += f"[{part}]" if isinstance(part, int) else ("." if i else "") + str(part)
    return out


def _describe(error: Any) -> str:
    loc = tuple(error["loc"])
    key = _key(loc)
    value = json.dumps(error.get("input"), default=str)
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(StackConfig, loc)
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        return f"{key}: unknown key{hint}; allowed keys: {', '.join(allowed)}"
    if error["type"] == "missing":
        return f"{key}: is required"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{key} = {value}: {msg}"


def _decode(value: Any) -> Any:
    """The CLI hands every value over as a string; structured values as JSON."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# provider keys that also set one of ours when the stack leaves ours unset
_PROVIDER_FALLBACKS = {"aws:region": "region", "kubernetes:context": "kubeconfigContext"}


def _split_namespaces(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(our keys without the namespace, provider keys as given, problems with namespaces)."""
    ours: dict[str, Any] = {}
    providers: dict[str, str] = {}
    problems: list[str] = []
    for key, value in raw.items():
        namespace, sep, name = key.partition(":")
        if not sep or namespace == NAMESPACE:
            ours[name if sep else key] = _decode(value)
        elif namespace in PROVIDER_NAMESPACES:
            providers[key] = str(value)
        else:
            near = difflib.get_close_matches(namespace, (NAMESPACE, *PROVIDER_NAMESPACES), n=1)
            hint = f" (did you mean {near[0]}:{name}?)" if near else ""
            problems.append(
                f"{key}: unknown config namespace {namespace!r}{hint}; this program reads "
                f"{NAMESPACE}: and passes {', '.join(p + ':' for p in PROVIDER_NAMESPACES)} "
                "to its providers"
            )
    for provider_key, our_key in _PROVIDER_FALLBACKS.items():
        if providers.get(provider_key) and not ours.get(our_key):
            ours[our_key] = providers[provider_key]
    return ours, providers, problems


def parse_config(raw: Mapping[str, Any]) -> StackConfig:
    """Validate a stack's config map (the `ascent` namespace optional on our keys) into a
    `StackConfig`; provider-namespace keys are kept on it as given."""
    values, providers, problems = _split_namespaces(raw)
    try:
        config = StackConfig.model_validate(values)
    except ValidationError as exc:
        problems += [_describe(e) for e in exc.errors()]
    if problems:
        raise ConfigError(problems)
    config._providers = providers
    return config


def _raw_pulumi_config() -> dict[str, Any]:
    """Every config value the engine handed to this program (CLI env, or set_all_config)."""
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = json.loads(os.environ.get("PULUMI_CONFIG", "{}"))
    merged.update(runtime_config.CONFIG.get())
    return merged


def _project_root() -> Path:
    """Where `Pulumi.yaml` is: the engine says (`pulumi up`); the offline run sets it too."""
    import pulumi

    from infra.project_files import PROJECT_ROOT

    root = pulumi.get_root_directory()
    return Path(root) if root else PROJECT_ROOT  # an engine that does not say: this checkout


def load_config(inherit_layers: bool = True) -> StackConfig:
    """Read and validate the `ascent` namespace of the running stack's config (a kubernetes-layer
    stack's inherits its cloud stack's file: infra/project_files.py)."""
    import pulumi

    from infra.project_files import inherit_cloud, load_stack_file

    raw = _raw_pulumi_config()
    if inherit_layers and str(raw.get(f"{NAMESPACE}:layer", "all")) == "kubernetes":
        root = _project_root()
        own_file = root / f"Pulumi.{pulumi.get_stack()}.yaml"
        own = load_stack_file(own_file) if own_file.is_file() else {}
        own_keys = {k if ":" in k else f"{NAMESPACE}:{k}" for k in own}
        raw = inherit_cloud(raw, own_keys, root)
    return parse_config(raw)
