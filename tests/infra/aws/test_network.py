"""The VPC: subnet plan (pure), NAT per AZ or shared, EKS subnet tags."""

from __future__ import annotations

import ipaddress

import pytest

from infra.aws.network import nat_gateway_count, subnet_cidrs


@pytest.mark.parametrize(
    ("vpc", "azs", "public", "private"),
    [
        ("10.0.0.0/16", 2, ["10.0.224.0/22", "10.0.228.0/22"], ["10.0.0.0/19", "10.0.32.0/19"]),
        ("10.50.0.0/16", 3, ["10.50.224.0/22", "10.50.228.0/22", "10.50.232.0/22"],
         ["10.50.0.0/19", "10.50.32.0/19", "10.50.64.0/19"]),
        ("172.16.0.0/20", 2, ["172.16.14.0/26", "172.16.14.64/26"],
         ["172.16.0.0/23", "172.16.2.0/23"]),
    ],
)  # fmt: skip
def test_subnet_cidrs(vpc, azs, public, private):
    assert subnet_cidrs(vpc, azs) == (public, private)


@pytest.mark.parametrize("azs", range(1, 7))
def test_subnets_never_overlap_and_stay_inside_the_vpc(azs):
    public, private = subnet_cidrs("10.0.0.0/16", azs)
    nets = [ipaddress.IPv4Network(c) for c in public + private]
    assert all(n.subnet_of(ipaddress.IPv4Network("10.0.0.0/16")) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_nat_gateway_count():
    assert (nat_gateway_count(3, True), nat_gateway_count(3, False)) == (3, 1)


@pytest.mark.parametrize(("stack", "azs", "nats"), [("aws-dev", 2, 1), ("aws-prod", 3, 3)])
def test_stack_network_shape(inventories, stack, azs, nats):
    inv = inventories[stack]
    subnets = {r.name: r.inputs for r in inv.of_type("aws:ec2/subnet:Subnet")}
    public = [s for n, s in subnets.items() if "-public-" in n]
    private = [s for n, s in subnets.items() if "-private-" in n]
    assert (len(public), len(private)) == (azs, azs)
    assert len({s["availabilityZone"] for s in private}) == azs
    assert all(s["tags"]["kubernetes.io/role/elb"] == "1" for s in public)
    assert all(s["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
    assert all(s["tags"][f"kubernetes.io/cluster/ascent-{stack}"] == "shared" for s in private)
    assert len(inv.of_type("aws:ec2/natGateway:NatGateway")) == nats
    routes = [r.inputs["routes"][0] for r in inv.of_type("aws:ec2/routeTable:RouteTable")
              if "-private-" in r.name]  # fmt: skip
    assert len(routes) == azs and all(r["natGatewayId"] for r in routes)
    assert len({r["natGatewayId"] for r in routes}) == nats


@pytest.mark.parametrize(("stack", "azs"), [("aws-dev", 2), ("aws-prod", 3)])
def test_s3_traffic_of_the_private_subnets_skips_the_nat(inventories, stack, azs):
    """The cost estimate prices NAT data without S3: a gateway endpoint on every private route
    table carries it (datasets, checkpoints, models, ECR image layers)."""
    inv = inventories[stack]
    endpoints = inv.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert len(endpoints) == 1
    s3 = endpoints[0].inputs
    assert (s3["vpcEndpointType"], s3["serviceName"]) == ("Gateway", "com.amazonaws.us-east-1.s3")
    assert s3["vpcId"] == "network-vpc-id"
    private_tables = {
        f"{r.name}-id"
        for r in inv.of_type("aws:ec2/routeTable:RouteTable")
        if "-private-" in r.name
    }
    assert len(private_tables) == azs
    assert set(s3["routeTableIds"]) == private_tables
    assert "network-public-id" not in s3["routeTableIds"]


def test_the_s3_endpoint_follows_the_region(run_stack):
    inv = run_stack("aws-dev", region="eu-west-1")
    s3 = inv.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")[0].inputs
    assert s3["serviceName"] == "com.amazonaws.eu-west-1.s3"
