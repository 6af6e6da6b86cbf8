"""The deploy runner: a CodeBuild project inside the VPC that deploys the kubernetes layer.

The cloud layer's private API endpoint answers only inside the VPC (infra/layers.py). Rather than a
self-hosted CI runner to patch and keep alive, the cloud layer declares a CodeBuild project in the
private subnets: it costs nothing while idle, its role is the kubernetes layer's one deployer
(an EKS access entry), and `python -m ci deploy --stack <kubernetes stack>` uploads the checkout
to the platform bucket (`deploy-sources/`), starts a build and streams its log (ci/runner.py).

The build installs the Pulumi CLI at the version CI pins, checked against the release's published
checksums, then runs `python -m ci $ASCENT_STEP --stack $ASCENT_STACK` there. One build at a time
(`concurrent_build_limit=1`): two deploys of a stack never race.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aws.cluster import ADMIN_POLICY, assume_role_policy

PULUMI_CLI_VERSION = "3.272.0"  # the version the CI workflows pin (PULUMI_VERSION)
SOURCE_PREFIX = "deploy-sources/"
PLANS_PREFIX = f"{SOURCE_PREFIX}plans/"  # saved plans the runner hands back to CI
RUNNER_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
RUNNER_COMPUTE = "BUILD_GENERAL1_MEDIUM"  # 4 GiB, 2 vCPUs: pip install plus one `pulumi up`
BUILD_TIMEOUT_MINUTES = 120
LOG_RETENTION_DAYS = 90
STEPS = ("deploy", "preview")
EKS_API_PORT = 443


def buildspec(pulumi_version: str = PULUMI_CLI_VERSION) -> str:
    """The build: pinned Pulumi CLI (checksum checked), the project, one `python -m ci` step."""
    base = f"https://github.com/pulumi/pulumi/releases/download/v{pulumi_version}"
    archive = f"pulumi-v{pulumi_version}-linux-x64.tar.gz"
    spec = {
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {
            "install": {
                "runtime-versions": {"python": "3.12"},
                "commands": [
                    f"curl -fsSLo /tmp/{archive} {base}/{archive}",
                    f"curl -fsSLo /tmp/sums.txt {base}/pulumi-{pulumi_version}-checksums.txt",
                    f"(cd /tmp && grep ' {archive}$' sums.txt | sha256sum -c -)",
                    f"tar -xzf /tmp/{archive} -C /opt && export PATH=/opt/pulumi:$PATH",
                    "python3 -m venv /opt/ascent && /opt/ascent/bin/pip install -q .",
                ],
            },
            "build": {
                "commands": [
                    'case "$ASCENT_STEP" in ' + "|".join(STEPS) + ") ;; *) "
                    'echo "ASCENT_STEP must be one of ' + ", ".join(STEPS) + '"; exit 2;; esac',
                    "export PATH=/opt/pulumi:$PATH",
                    '/opt/ascent/bin/python -m ci "$ASCENT_STEP" --stack "$ASCENT_STACK"',
                ]
            },
        },
    }
    return json.dumps(spec, indent=2)  # JSON is YAML: CodeBuild reads it as given


def runner_policy(
    *,
    log_group_arn: str,
    bucket_arn: str,
    kms_key_arn: str,
    cluster_arn: str,
    subnet_arns: Sequence[str],
    security_group_id: str,
    secret_arns: Sequence[str],
    state_bucket: str,
) -> str:
    """What one deploy of the kubernetes layer needs, and no more: its log, the uploaded
    sources, the cluster's description (for `aws eks get-token`), the VPC network interfaces
    CodeBuild creates, the listed secrets and the self-managed state bucket."""
    partition, region, account = cluster_arn.split(":")[1], *cluster_arn.split(":")[3:5]
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    interfaces = f"{ec2}:network-interface/*"
    security_group_arn = f"{ec2}:security-group/{security_group_id}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {
            "Sid": "Sources",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{bucket_arn}/{SOURCE_PREFIX}*",
        },
        {
            # a preview's saved plan goes back to CI here (ci/steps/pulumi_steps.py)
            "Sid": "Plans",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{PLANS_PREFIX}*",
        },
        {
            "Sid": "SourcesKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": kms_key_arn,
        },
        {
            "Sid": "Cluster",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": cluster_arn,
        },
        {
            # what CodeBuild does for a VPC build (its documented policy), scoped where EC2
            # allows: Describe* take no resource
            "Sid": "VpcDescribe",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            "Resource": "*",
        },
        {
            "Sid": "VpcInterfaces",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
            "Resource": [interfaces, *subnet_arns, security_group_arn],
        },
        {
            "Sid": "VpcInterfacePermission",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterfacePermission",
            "Resource": interfaces,
            "Condition": {
                "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
                "ArnEquals": {"ec2:Subnet": list(subnet_arns)},
            },
        },
    ]
    if secret_arns:
        statements.append(
            {
                "Sid": "Secrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": sorted(secret_arns),
            }
        )
    if state_bucket:
        statements += [
            {
                "Sid": "StateBucket",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": f"arn:aws:s3:::{state_bucket}",
            },
            {
                "Sid": "StateObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{state_bucket}/*",
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def parse_secrets(lines: Sequence[str]) -> dict[str, str]:
    """`ENV=arn` lines (validated by infra/config.py) -> {ENV: arn}."""
    return dict(line.split("=", 1) for line in lines)


@dataclass(frozen=True)
class DeployRunnerArgs:
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    subnet_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    region: str
    secrets: dict[str, str] = field(default_factory=dict)  # ENV -> Secrets Manager ARN
    state_bucket: str = ""


class DeployRunner(pulumi.ComponentResource):
    """CodeBuild project, its role, log group, security group and cluster access entry."""

    project_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: DeployRunnerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ascent:aws:DeployRunner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        project_name = pulumi.Output.concat(args.cluster_name, "-deploy")
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=pulumi.Output.concat("/aws/codebuild/", project_name),
            retention_in_days=LOG_RETENTION_DAYS,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role", assume_role_policy=assume_role_policy("codebuild.amazonaws.com"),
            opts=child,
        )  # fmt: skip
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Deploy runner: HTTPS out (EKS API, AWS APIs, Pulumi backend, PyPI)",
            opts=child,
        )
        policy = pulumi.Output.all(
            logs.arn, args.bucket_arn, args.kms_key_arn, args.cluster_arn, args.subnet_arns, sg.id
        ).apply(
            lambda a: runner_policy(
                log_group_arn=a[0], bucket_arn=a[1], kms_key_arn=a[2], cluster_arn=a[3],
                subnet_arns=a[4], security_group_id=a[5],
                secret_arns=list(args.secrets.values()), state_bucket=args.state_bucket,
            )
        )  # fmt: skip
        role_policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-https",
            security_group_id=sg.id,
            description="HTTPS to the EKS API, AWS APIs, the Pulumi backend and PyPI",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-cluster-api",
            security_group_id=args.cluster_security_group_id,
            description="The deploy runner calls the private Kubernetes API",
            ip_protocol="tcp",
            from_port=EKS_API_PORT,
            to_port=EKS_API_PORT,
            referenced_security_group_id=sg.id,
            opts=child,
        )
        entry = aws.eks.AccessEntry(
            f"{name}-access", cluster_name=args.cluster_name, principal_arn=role.arn, opts=child
        )
        access = aws.eks.AccessPolicyAssociation(
            f"{name}-access",
            cluster_name=args.cluster_name,
            principal_arn=entry.principal_arn,
            policy_arn=ADMIN_POLICY,  # it installs CRDs and cluster-scoped RBAC
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=child,
        )
        env = aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs
        project = aws.codebuild.Project(
            f"{name}-project",
            name=project_name,
            description="Deploys the kubernetes layer from inside the VPC (python -m ci deploy)",
            service_role=role.arn,
            build_timeout=BUILD_TIMEOUT_MINUTES,
            concurrent_build_limit=1,
            source=aws.codebuild.ProjectSourceArgs(
                type="S3",
                location=pulumi.Output.concat(args.bucket_name, "/", SOURCE_PREFIX),
                buildspec=buildspec(),
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type="LINUX_CONTAINER",
                compute_type=RUNNER_COMPUTE,
                image=RUNNER_IMAGE,
                image_pull_credentials_type="CODEBUILD",
                environment_variables=[
                    env(name="ASCENT_RUNNER", value="codebuild", type="PLAINTEXT"),
                    env(name="AWS_REGION", value=args.region, type="PLAINTEXT"),
                    *(
                        env(name=k, value=v, type="SECRETS_MANAGER")
                        for k, v in sorted(args.secrets.items())
                    ),
                ],
            ),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=args.vpc_id, subnets=args.subnet_ids, security_group_ids=[sg.id]
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=logs.name
                )
            ),
            encryption_key=args.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, access]),
        )
        self.project_name = project.name
        self.role_arn = role.arn
        self.log_group_name = logs.name
        self.register_outputs({"projectName": project.name, "roleArn": role.arn})
