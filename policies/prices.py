"""The price catalog behind `ascent plan`'s cost estimate and the pack's budget rules.

The figures are data, `policies/data/aws_prices.json` (the pack owns it, so it stands alone when
published; the program reads it from here): on-demand Linux list prices in USD per region, with
the public source and date of each table. `scripts/update_prices.py` regenerates it from AWS's
Price List API where a network and credentials are there; the generated file is committed.

A price that is not in the catalog is `None`, never a silent zero: the estimate names it as
unpriced and the budget rule says the budget cannot be verified.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent / "data" / "aws_prices.json"

HOURS_PER_MONTH = 730
SPOT_DISCOUNT = 0.60
"""Assumed spot discount off on-demand for GPU and general instances (AWS quotes up to 90 %;
observed G5/G6 spot in us-east-1 mostly sits 55-70 % off). An assumption, shown in the report."""

NAT_GB_PER_MONTH = 100.0  # assumed data processed per NAT gateway (image pulls; S3 goes through
# the free gateway endpoint); shown in the report
ECR_GB_PER_REPOSITORY = 10.0  # assumed stored image layers per repository
LOG_GB_PER_GROUP = 5.0  # assumed CloudWatch Logs ingestion per log group per month
MSK_SERVERLESS_PARTITIONS = 20  # assumed partitions for a serverless cluster

SERVICE_RATES = (
    "eks_cluster_hour",
    "nat_hour",
    "nat_gb",
    "ebs_gp3_gb_month",
    "s3_standard_gb_month",
    "ecr_gb_month",
    "kms_key_month",
    "logs_ingest_gb",
    "msk_storage_gb_month",
    "msk_serverless_cluster_hour",
    "msk_serverless_partition_hour",
)


@dataclass(frozen=True)
class PriceCatalog:
    """The data file, read once."""

    as_of: str
    regions: tuple[str, ...]  # commercial regions where EKS runs: what config accepts
    ec2: dict[str, dict[str, float]]  # region -> instance type -> USD/hour
    msk: dict[str, dict[str, float]]  # region -> broker type -> USD/hour
    services: dict[str, dict[str, float]]  # region -> SERVICE_RATES
    services_fallback: str  # the region whose service rates stand in where a region has none
    sources: dict[str, Any]

    def hourly(self, region: str, instance_type: str) -> float | None:
        """USD per hour of an EC2 instance or MSK broker (`kafka.*`); None when not listed."""
        table = self.msk if instance_type.startswith("kafka.") else self.ec2
        return table.get(region, {}).get(instance_type)

    def service_rates(self, region: str) -> tuple[dict[str, float], bool]:
        """(rates, whether they are this region's own rather than the fallback region's)."""
        own = self.services.get(region)
        return (own, True) if own else (self.services[self.services_fallback], False)

    def priced_types(self, region: str) -> list[str]:
        return sorted(self.ec2.get(region, {})) + sorted(self.msk.get(region, {}))


@functools.cache
def catalog(path: Path = DATA_FILE) -> PriceCatalog:
    doc = json.loads(path.read_text())
    return PriceCatalog(
        as_of=doc["asOf"],
        regions=tuple(doc["eksRegions"]["regions"]),
        ec2=doc["ec2"],
        msk=doc["msk"],
        services=doc["services"],
        services_fallback=doc["servicesFallbackRegion"],
        sources=doc["sources"],
    )


def aws_regions() -> tuple[str, ...]:
    return catalog().regions


def hourly(region: str, instance_type: str) -> float | None:
    return catalog().hourly(region, instance_type)
