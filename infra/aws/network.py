"""The VPC: public and private subnets in N availability zones, NAT, routes, EKS subnet tags.

Nodes, MSK brokers and the EKS control-plane ENIs live in the private subnets; only NAT gateways
and internet-facing load balancers use the public ones.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


def subnet_cidrs(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """(public, private) CIDRs, one each per AZ.

    The VPC is cut in 8: the first `az_count` eighths are private subnets (large: the VPC CNI gives
    every pod a VPC address); the last eighth is cut in 8 again for the small public subnets.
    """
    if not 1 <= az_count <= 6:
        raise ValueError(f"az_count must be 1-6, got {az_count}")
    vpc = ipaddress.IPv4Network(vpc_cidr)
    eighths = list(vpc.subnets(prefixlen_diff=3))
    public = list(eighths[-1].subnets(prefixlen_diff=3))[:az_count]
    return [str(n) for n in public], [str(n) for n in eighths[:az_count]]


def nat_gateway_count(az_count: int, per_az: bool) -> int:
    return az_count if per_az else 1


def s3_service_name(region: str) -> str:
    return f"com.amazonaws.{region}.s3"


@dataclass(frozen=True)
class NetworkArgs:
    cidr: str
    az_count: int
    nat_gateway_per_az: bool
    cluster_name: str
    region: str


class Network(pulumi.ComponentResource):
    """VPC, internet gateway, subnets, NAT gateways, route tables, and an S3 gateway endpoint.

    The gateway endpoint (free) routes the private subnets' S3 traffic (datasets, checkpoints,
    models, and the ECR image layers ECR serves from S3) around the NAT gateways, which bill per
    GB: the cost estimate assumes it. Its policy is the default (full access): the bucket policy
    and the workload roles scope access, and a narrower endpoint policy would break image pulls.
    """

    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    private_subnet_arns: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones_output(
            state="available",
            # only regular AZs: opted-in Local and Wavelength Zones host neither EKS nor MSK
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).names
        public_cidrs, private_cidrs = subnet_cidrs(args.cidr, args.az_count)
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{name}-public"},
            opts=child,
        )
        public, private, nats, private_rts = [], [], [], []
        for i in range(args.az_count):
            zone = zones[i]
            subnet = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{i}", "kubernetes.io/role/elb": "1", **cluster_tag},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child
            )
            public.append(subnet)
        for i in range(nat_gateway_count(args.az_count, args.nat_gateway_per_az)):
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", opts=child)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=public[i].id,
                    tags={"Name": f"{name}-nat-{i}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )
        for i in range(args.az_count):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[i],
                availability_zone=zones[i],
                tags={
                    "Name": f"{name}-private-{i}",
                    "kubernetes.io/role/internal-elb": "1",
                    **cluster_tag,
                },
                opts=child,
            )
            nat = nats[i % len(nats)]
            route_table = aws.ec2.RouteTable(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={"Name": f"{name}-private-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}",
                subnet_id=subnet.id,
                route_table_id=route_table.id,
                opts=child,
            )
            private.append(subnet)
            private_rts.append(route_table)
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=s3_service_name(args.region),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags={"Name": f"{name}-s3"},
            opts=child,
        )

        self.vpc_id = vpc.id
        self.vpc_cidr = args.cidr
        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self.private_subnet_arns = [s.arn for s in private]
        self.private_route_table_ids = [rt.id for rt in private_rts]
        self.register_outputs({"vpcId": vpc.id, "privateSubnetIds": self.private_subnet_ids})
