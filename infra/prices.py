"""The price catalog behind `ascent plan`'s cost estimate and the pack's budget rule: data only.

On-demand list prices in USD (Linux, shared tenancy). Source: the AWS public price pages
(aws.amazon.com/ec2/pricing/on-demand, /eks/pricing, /msk/pricing, /vpc/pricing, /s3/pricing,
/ecr/pricing, /kms/pricing, /cloudwatch/pricing), figures as published in 2025 and entered by
hand: this machine has no network, so re-check them before a budget decision. A region or an
instance type that is not here is an error naming it, never a silent zero.
"""

from __future__ import annotations

HOURS_PER_MONTH = 730
PRICES_AS_OF = "2025 AWS list prices (entered by hand; verify)"
SPOT_DISCOUNT = 0.60
"""Assumed spot discount off on-demand for GPU and general instances (AWS quotes up to 90 %;
observed G5/G6 spot in us-east-1 mostly sits 55-70 % off). An assumption, shown in the report."""

NAT_GB_PER_MONTH = 100.0  # assumed data processed per NAT gateway (image pulls, S3 via gateway
# endpoint is free); shown in the report
ECR_GB_PER_REPOSITORY = 10.0  # assumed stored image layers per repository
LOG_GB_PER_GROUP = 5.0  # assumed CloudWatch Logs ingestion per log group per month
MSK_SERVERLESS_PARTITIONS = 20  # assumed partitions for a serverless cluster

_EC2_US = {
    # general purpose (system pools)
    "m5.large": 0.096,
    "m6i.large": 0.096,
    "m7i.large": 0.1008,
    "m7i.xlarge": 0.2016,
    "m7i.2xlarge": 0.4032,
    # NVIDIA GPU
    "g4dn.xlarge": 0.526,
    "g5.xlarge": 1.006,
    "g5.2xlarge": 1.212,
    "g5.12xlarge": 5.672,
    "g5.48xlarge": 16.288,
    "g6.xlarge": 0.8048,
    "g6.2xlarge": 0.9776,
    "g6.4xlarge": 1.3232,
    "g6.12xlarge": 4.6016,
    "g6.48xlarge": 13.3504,
    "g6e.xlarge": 1.861,
    "g6e.12xlarge": 10.493,
    "p4d.24xlarge": 32.7726,
}
_SERVICES_US = {
    "eks_cluster_hour": 0.10,
    "nat_hour": 0.045,
    "nat_gb": 0.045,
    "ebs_gp3_gb_month": 0.08,
    "s3_standard_gb_month": 0.023,
    "ecr_gb_month": 0.10,
    "kms_key_month": 1.00,
    "logs_ingest_gb": 0.50,
    "msk_storage_gb_month": 0.10,
    "msk_serverless_cluster_hour": 0.75,
    "msk_serverless_partition_hour": 0.0015,
}
_MSK_US = {
    "kafka.m5.large": 0.21,
    "kafka.m7g.large": 0.204,
    "kafka.m7g.xlarge": 0.408,
}

# region -> (EC2 hourly by instance type, MSK broker hourly, service rates)
REGIONS: dict[str, tuple[dict[str, float], dict[str, float], dict[str, float]]] = {
    "us-east-1": (_EC2_US, _MSK_US, _SERVICES_US),
    "us-east-2": (_EC2_US, _MSK_US, _SERVICES_US),
    "us-west-2": (_EC2_US, _MSK_US, _SERVICES_US),
}


def region_prices(region: str) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    if region not in REGIONS:
        raise ValueError(
            f"no prices for region {region!r} in the catalog (infra/prices.py has "
            f"{', '.join(sorted(REGIONS))})"
        )
    return REGIONS[region]


def hourly(region: str, instance_type: str) -> float:
    ec2, msk, _ = region_prices(region)
    table = msk if instance_type.startswith("kafka.") else ec2
    if instance_type not in table:
        raise ValueError(
            f"no price for instance type {instance_type!r} in {region} (add it to infra/prices.py)"
        )
    return table[instance_type]
