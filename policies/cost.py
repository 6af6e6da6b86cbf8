"""Monthly cost of a stack, from the resources the program declares (not from config alone):
line items at minimum and at maximum scale, GPU hours apart, every assumption stated.

`estimate(resources)` takes (type, name, inputs) triples: the offline inventory in `ascent plan`,
the resources a policy pack sees in `pulumi preview`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.catalog import GPU_FAMILIES, split_instance_type
from policies.core import get, is_list, text
from policies.prices import (
    ECR_GB_PER_REPOSITORY,
    HOURS_PER_MONTH,
    LOG_GB_PER_GROUP,
    MSK_SERVERLESS_PARTITIONS,
    NAT_GB_PER_MONTH,
    SPOT_DISCOUNT,
    catalog,
)

DEFAULT_STORAGE_GB = 500.0


@dataclass(frozen=True)
class LineItem:
    component: str  # e.g. "node pools", "kafka"
    item: str  # what is charged, e.g. "gpu-training: 0..4 x g6e.12xlarge (spot)"
    min_usd: float
    max_usd: float
    gpu_hours_max: float = 0.0


@dataclass
class Estimate:
    region: str | None  # None: no AWS provider, nothing of ours is billed by the cloud
    items: list[LineItem] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)  # what the catalog has no price for
    assumptions: list[str] = field(default_factory=list)

    @property
    def min_total(self) -> float:
        return round(sum(i.min_usd for i in self.items), 2)

    @property
    def max_total(self) -> float:
        return round(sum(i.max_usd for i in self.items), 2)

    @property
    def gpu_hours_max(self) -> float:
        return sum(i.gpu_hours_max for i in self.items)

    @property
    def gpu_usd_max(self) -> float:
        return round(sum(i.max_usd for i in self.items if i.gpu_hours_max), 2)

    def by_component(self) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for i in self.items:
            lo, hi = out.get(i.component, (0.0, 0.0))
            out[i.component] = (round(lo + i.min_usd, 2), round(hi + i.max_usd, 2))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "currency": "USD",
            "pricesAsOf": catalog().as_of,
            "minMonthly": self.min_total,
            "maxMonthly": self.max_total,
            "gpuHoursAtMax": self.gpu_hours_max,
            "gpuMonthlyAtMax": self.gpu_usd_max,
            "byComponent": {k: {"min": v[0], "max": v[1]} for k, v in self.by_component().items()},
            "items": [
                {
                    "component": i.component,
                    "item": i.item,
                    "min": round(i.min_usd, 2),
                    "max": round(i.max_usd, 2),
                    "gpuHoursAtMax": i.gpu_hours_max,
                }
                for i in self.items
            ],
            "unpriced": self.unpriced,
            "assumptions": self.assumptions,
        }


Triple = tuple[str, str, Mapping[str, Any]]


def _num(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) else default


def _gpus(instance_type: str) -> int:
    family, size = split_instance_type(instance_type)
    info = GPU_FAMILIES.get(family)
    return info.gpus_by_size.get(size, 0) if info else 0


def _region(resources: list[Triple]) -> str | None:
    for typ, _name, props in resources:
        if typ == "pulumi:providers:aws" and isinstance(props.get("region"), str):
            return str(props["region"])
    return None


def _template(ng_name: str, resources: list[Triple]) -> Mapping[str, Any] | None:
    """The node group's launch template (named alike: `<pool>-ng` runs `<pool>-lt`)."""
    base = ng_name.removesuffix("-ng")
    for typ, name, lt in resources:
        if typ == "aws:ec2/launchTemplate:LaunchTemplate" and name.removesuffix("-lt") == base:
            return lt
    return None


def _disk_gb(ng_name: str, props: Mapping[str, Any], resources: list[Triple]) -> float:
    """The node group's root volume: its diskSize, or its launch template's."""
    size = get(props, "diskSize")
    if isinstance(size, (int, float)):
        return float(size)
    lt = _template(ng_name, resources)
    if lt is not None:
        mappings = get(lt, "blockDeviceMappings")
        return (
            sum(_num(get(m, "ebs", "volumeSize")) for m in mappings) if is_list(mappings) else 0.0
        )
    return 20.0  # the EKS default root volume


def _node_group(
    name: str,
    props: Mapping[str, Any],
    resources: list[Triple],
    region: str,
    rates: Mapping[str, float],
    out: Estimate,
) -> None:
    """The pool's instances (on-demand or spot rate) and, apart, their root volumes."""
    own = get(props, "instanceTypes")
    types = [t for t in own if isinstance(t, str)] if is_list(own) else []
    lt = _template(name, resources)
    if not types and lt is not None and isinstance(get(lt, "instanceType"), str):
        types = [get(lt, "instanceType")]  # a custom-AMI pool names its type in the template
    if not types:
        out.unpriced.append(f"{name}: no instance type named")
        return
    # the dearest type prices the pool's maximum: the autoscaler may launch any of them
    prices = {t: catalog().hourly(region, t) for t in types}
    missing = [t for t, p in prices.items() if p is None]
    if missing:
        out.unpriced.append(f"{name}: {', '.join(missing)} in {region}")
    known = {t: p for t, p in prices.items() if p is not None}
    lo = _num(get(props, "scalingConfig", "minSize"))
    hi = _num(get(props, "scalingConfig", "maxSize"))
    disk = _disk_gb(name, props, resources) * rates["ebs_gp3_gb_month"]
    out.items.append(LineItem("node volumes", f"{name}: gp3 root volumes", lo * disk, hi * disk))
    if not known:
        return
    instance = max(known, key=lambda t: known[t])
    spot = props.get("capacityType") == "SPOT"
    per_node = known[instance] * ((1 - SPOT_DISCOUNT) if spot else 1.0) * HOURS_PER_MONTH
    label = f"{name}: {lo:g}..{hi:g} x {instance} ({'spot' if spot else 'on-demand'})"
    gpu_hours = hi * _gpus(instance) * HOURS_PER_MONTH
    out.items.append(LineItem("node pools", label, lo * per_node, hi * per_node, gpu_hours))


_VOLUME = re.compile(r"^(\d+)(Gi|G|Ti|T)$")


def _node_class_disk_gb(node_class: str | None, resources: list[Triple]) -> float:
    """The root volumes of the EC2NodeClass a NodePool runs (`200Gi`), in GB."""
    for typ, _name, props in resources:
        if typ.endswith(":EC2NodeClass") and get(props, "metadata", "name") == node_class:
            mappings = get(props, "spec", "blockDeviceMappings")
            total = 0.0
            for m in mappings if is_list(mappings) else []:
                match = _VOLUME.match(text(get(m, "ebs", "volumeSize")))
                if match:
                    total += float(match[1]) * (1024 if match[2].startswith("T") else 1)
            return total
    return 20.0  # Karpenter's default root volume for AL2023


def _node_pool(
    name: str,
    props: Mapping[str, Any],
    resources: list[Triple],
    region: str,
    rates: Mapping[str, float],
    out: Estimate,
) -> None:
    """A Karpenter NodePool: from none to what its `limits` allow, at its dearest type; spot
    only when spot is all it may launch (with on-demand fallback the maximum is on-demand's)."""
    from policies.rules._nodepools import (
        capacity_types,
        instance_types,
        node_class_name,
        nodes_at_max,
    )

    types = instance_types(props)
    if not types:
        out.unpriced.append(f"{name}: a NodePool naming no instance types")
        return
    nodes = nodes_at_max(props, {t: _gpus(t) for t in types})
    if nodes is None:
        out.unpriced.append(f"{name}: a NodePool whose limits bound no node count")
        return
    prices = {t: catalog().hourly(region, t) for t in types}
    missing = [t for t, p in prices.items() if p is None]
    if missing:
        out.unpriced.append(f"{name}: {', '.join(missing)} in {region}")
    disk = _node_class_disk_gb(node_class_name(props), resources) * rates["ebs_gp3_gb_month"]
    out.items.append(LineItem("node volumes", f"{name}: gp3 root volumes", 0.0, nodes * disk))
    known = {t: p for t, p in prices.items() if p is not None}
    if not known:
        return
    instance = max(known, key=lambda t: known[t])
    capacity = capacity_types(props)
    spot = capacity == ["spot"]
    per_node = known[instance] * ((1 - SPOT_DISCOUNT) if spot else 1.0) * HOURS_PER_MONTH
    label = f"{name}: 0..{nodes} x {instance} ({'/'.join(capacity)})"
    gpu_hours = nodes * _gpus(instance) * HOURS_PER_MONTH
    out.items.append(LineItem("node pools", label, 0.0, nodes * per_node, gpu_hours))


def estimate(resources: Iterable[Triple], storage_gb: float = DEFAULT_STORAGE_GB) -> Estimate:
    """Line items for every priced resource; what the catalog cannot price is listed in
    `unpriced` (and left out of the totals), never counted as zero."""
    res = list(resources)
    region = _region(res)
    out = Estimate(region)
    if region is None:
        return out
    prices = catalog()
    rates, own_rates = prices.service_rates(region)
    if region not in prices.ec2:
        out.unpriced.append(f"every instance type: no prices for region {region} in the catalog")
    month = HOURS_PER_MONTH
    karpenter = False

    def flat(component: str, item: str, usd: float) -> None:
        out.items.append(LineItem(component, item, usd, usd))

    for typ, name, props in res:
        if typ == "aws:eks/cluster:Cluster":
            flat("cluster", f"{name}: EKS control plane", rates["eks_cluster_hour"] * month)
        elif typ == "aws:ec2/natGateway:NatGateway":
            hours = rates["nat_hour"] * month
            flat("network", f"{name}: NAT gateway", hours + NAT_GB_PER_MONTH * rates["nat_gb"])
        elif typ == "aws:eks/nodeGroup:NodeGroup":
            _node_group(name, props, res, region, rates, out)
        elif typ == "kubernetes:karpenter.sh/v1:NodePool":
            _node_pool(name, props, res, region, rates, out)
            karpenter = True
        elif typ == "aws:msk/cluster:Cluster":
            brokers = _num(get(props, "numberOfBrokerNodes"), 1)
            broker = text(get(props, "brokerNodeGroupInfo", "instanceType"))
            volume = _num(
                get(props, "brokerNodeGroupInfo", "storageInfo", "ebsStorageInfo", "volumeSize")
            )
            flat(
                "kafka",
                f"{name}: {volume:g} GB broker storage x {brokers:g}",
                brokers * volume * rates["msk_storage_gb_month"],
            )
            broker_hour = prices.hourly(region, broker)
            if broker_hour is None:
                out.unpriced.append(f"{name}: MSK broker {broker} in {region}")
            else:
                flat("kafka", f"{name}: {brokers:g} x {broker}", brokers * broker_hour * month)
        elif typ == "aws:msk/serverlessCluster:ServerlessCluster":
            partitions = MSK_SERVERLESS_PARTITIONS * rates["msk_serverless_partition_hour"]
            usd = month * (rates["msk_serverless_cluster_hour"] + partitions)
            flat("kafka", f"{name}: MSK serverless, {MSK_SERVERLESS_PARTITIONS} partitions", usd)
        elif typ == "aws:s3/bucket:Bucket":
            flat(
                "storage",
                f"{name}: {storage_gb:g} GB S3 Standard",
                storage_gb * rates["s3_standard_gb_month"],
            )
        elif typ == "aws:ecr/repository:Repository":
            flat(
                "registry",
                f"{name}: {ECR_GB_PER_REPOSITORY:g} GB images",
                ECR_GB_PER_REPOSITORY * rates["ecr_gb_month"],
            )
        elif typ == "aws:kms/key:Key":
            flat("security", f"{name}: KMS key", rates["kms_key_month"])
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            flat(
                "observability",
                f"{name}: {LOG_GB_PER_GROUP:g} GB logs",
                LOG_GB_PER_GROUP * rates["logs_ingest_gb"],
            )
    out.items.sort(key=lambda i: (i.component, i.item))
    out.unpriced.sort()
    out.assumptions = [
        f"{month} hours a month; prices: {prices.as_of}; region {region}",
        *(
            []
            if own_rates
            else [
                f"service rates (EKS, NAT, EBS, S3, ECR, KMS, logs, MSK storage) are "
                f"{prices.services_fallback}'s: the catalog has none for {region}"
            ]
        ),
        "a pool with several instance types is priced at its dearest",
        *(
            [
                "a Karpenter NodePool runs from no node up to what its limits allow; with "
                "on-demand fallback its maximum is priced on-demand"
            ]
            if karpenter
            else []
        ),
        f"spot instances at {SPOT_DISCOUNT:.0%} off on-demand",
        f"{NAT_GB_PER_MONTH:g} GB processed per NAT gateway (S3 uses the free gateway endpoint)",
        f"{storage_gb:g} GB in the bucket, {ECR_GB_PER_REPOSITORY:g} GB per ECR repository, "
        f"{LOG_GB_PER_GROUP:g} GB logs per log group",
        "data transfer out of AWS, Kubernetes load balancers and support plans are not included",
    ]
    return out
