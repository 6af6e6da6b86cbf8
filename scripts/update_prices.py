"""Regenerate `policies/data/aws_prices.json` from AWS's Price List Query API.

    python scripts/update_prices.py            # every EKS region, every type the catalogs know
    python scripts/update_prices.py --dry-run  # print what would change, write nothing

Needs a network and AWS credentials (any account: the Price List API is free; it answers from
us-east-1). EC2: on-demand, Linux, shared tenancy, no pre-installed software, `capacitystatus`
Used. MSK: provisioned broker hours. Service rates are kept as they are in the file (they move
rarely; check them against the pages named in its `sources`). The EKS region list is kept too.

A type AWS does not offer in a region is left out, which `ascent plan` reports as unpriced.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.catalog import GPU_FAMILIES  # noqa: E402
from policies.prices import DATA_FILE  # noqa: E402

EXTRA_EC2_TYPES = ("m5.large", "m6i.large", "m7i.large", "m7i.xlarge", "m7i.2xlarge", "m7g.large")
MSK_TYPES = ("kafka.m5.large", "kafka.m7g.large", "kafka.m7g.xlarge")


def ec2_types() -> list[str]:
    """Every type the GPU catalog knows, plus the CPU types the stacks use for system pools."""
    gpu = [f"{f.family}.{size}" for f in GPU_FAMILIES.values() for size in f.gpus_by_size]
    return sorted({*gpu, *EXTRA_EC2_TYPES})


def on_demand_usd(product: dict[str, Any]) -> float | None:
    """The hourly USD rate of one Price List product document (its `terms.OnDemand`)."""
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if dimension.get("unit") in ("Hrs", "hours") and usd not in (None, ""):
                value = float(usd)
                return value if value > 0 else None
    return None


def _filters(**terms: str) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in terms.items()]


def _products(client: Any, service: str, filters: list[dict[str, str]]) -> Iterator[dict]:
    for page in client.get_paginator("get_products").paginate(ServiceCode=service, Filters=filters):
        for raw in page["PriceList"]:
            yield json.loads(raw)


def ec2_prices(client: Any, region: str, types: Iterable[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for instance_type in types:
        filters = _filters(
            regionCode=region,
            instanceType=instance_type,
            operatingSystem="Linux",
            tenancy="Shared",
            preInstalledSw="NA",
            capacitystatus="Used",
            licenseModel="No License required",
        )
        for product in _products(client, "AmazonEC2", filters):
            usd = on_demand_usd(product)
            if usd is not None:
                out[instance_type] = usd
                break
    return out


def msk_prices(client: Any, region: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for product in _products(client, "AmazonMSK", _filters(regionCode=region)):
        attrs = product.get("product", {}).get("attributes", {})
        broker = attrs.get("computeFamily") or attrs.get("instanceType") or ""
        name = broker if broker.startswith("kafka.") else f"kafka.{broker}"
        usd = on_demand_usd(product)
        if name in MSK_TYPES and usd is not None:
            out[name] = usd
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    import boto3  # the `ci` extra

    doc = json.loads(DATA_FILE.read_text())
    client = boto3.client("pricing", region_name="us-east-1")
    today = datetime.now(UTC).date().isoformat()
    types = ec2_types()
    for region in doc["eksRegions"]["regions"]:
        print(f"update_prices: {region}", file=sys.stderr)
        doc["ec2"][region] = dict(sorted(ec2_prices(client, region, types).items()))
        msk = msk_prices(client, region)
        if msk:
            doc["msk"][region] = dict(sorted(msk.items()))
    doc["asOf"] = f"AWS Price List API, {today}"
    doc["sources"]["ec2"] = doc["sources"]["msk"] = [
        {"regions": "all", "api": "pricing:GetProducts (AmazonEC2, AmazonMSK)", "date": today}
    ]
    text = json.dumps(doc, indent=1) + "\n"
    if args.dry_run:
        print(text)
    else:
        DATA_FILE.write_text(text)
        print(f"update_prices: wrote {DATA_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
