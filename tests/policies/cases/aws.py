"""EKS, node group, launch template, MSK, IAM, security group and log group rules: complete,
compliant resources, and the stacks the node-group launch-template rules need."""

from __future__ import annotations

import json
from typing import Any

from tests.policies.cases import DELETE, Case, Mutation, StackCase, resource

EKS = "aws:eks/cluster:Cluster"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
NG = "aws:eks/nodeGroup:NodeGroup"
MSK_CLUSTER = "aws:msk/cluster:Cluster"
MSK_SERVERLESS = "aws:msk/serverlessCluster:ServerlessCluster"
ROLE_POLICY_TYPE = "aws:iam/rolePolicy:RolePolicy"
POLICY_TYPE = "aws:iam/policy:Policy"
ROLE_TYPE = "aws:iam/role:Role"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

CLUSTER = {
    "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]},
    "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:k"}},
    "enabledClusterLogTypes": ["api", "audit", "authenticator"],
}
PRIVATE_CLUSTER = {
    **CLUSTER,
    "vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True},
}
LAUNCH_TEMPLATE = {
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}],
    "networkInterfaces": [{"deviceIndex": 0, "associatePublicIpAddress": "false"}],
}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}
GPU_NODE_GROUP = {
    "instanceTypes": ["g6.12xlarge"],
    "amiType": "AL2023_x86_64_NVIDIA",
    "capacityType": "SPOT",
    "labels": {"ascent.dev/purpose": "training"},
    "taints": [GPU_TAINT],
    "scalingConfig": {"minSize": 0, "maxSize": 2},
}
# A GPU pool whose instance type is only in its launch template: GPU by its AMI type.
LT_ONLY_NODE_GROUP = {
    **{k: v for k, v in GPU_NODE_GROUP.items() if k != "instanceTypes"},
    "launchTemplate": {"id": "gpu-lt-id", "version": "1"},
}
NO_EXECUTE_NODE_GROUP = {**GPU_NODE_GROUP, "taints": [{**GPU_TAINT, "effect": "NO_EXECUTE"}]}
# A custom AMI: GPU only by its instance types (the catalog says which are).
CUSTOM_AMI_NODE_GROUP = {**GPU_NODE_GROUP, "amiType": "CUSTOM", "instanceTypes": ["g6.xlarge"]}
MSK = {
    "encryptionInfo": {
        "encryptionInTransit": {"clientBroker": "TLS", "inCluster": True},
        "encryptionAtRestKmsKeyArn": "arn:k",
    },
    "clientAuthentication": {"unauthenticated": False, "sasl": {"iam": True}},
    "brokerNodeGroupInfo": {
        "instanceType": "kafka.m7g.large",
        "clientSubnets": ["subnet-a", "subnet-b"],
        "connectivityInfo": {"publicAccess": {"type": "DISABLED"}},
    },
    "loggingInfo": {"brokerLogs": {"cloudwatchLogs": {"enabled": True, "logGroup": "broker"}}},
}
MSK_SERVERLESS_CLUSTER = {
    "clientAuthentication": {"sasl": {"iam": {"enabled": True}}},
    "vpcConfigs": [{"subnetIds": ["subnet-a"], "securityGroupIds": ["sg-1"]}],
}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(sid: str, action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource, **more}


S3_READ = allow("S3", "s3:GetObject")
ROLE_POLICY = {"policy": policy(S3_READ)}
ADMIN = policy(allow("Admin", "*"))
ROLE = {
    "assumeRolePolicy": policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ),
    "inlinePolicies": [{"name": "read", "policy": policy(S3_READ)}],
    "managedPolicyArns": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
}
ATTACHMENT = {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}
POLICY_ARN = ("policyArn",)
SECURITY_GROUP = {
    "vpcId": "vpc-1",
    "description": "brokers",
    "ingress": [
        {
            "protocol": "tcp",
            "fromPort": 9098,
            "toPort": 9098,
            "cidrBlocks": ["10.40.0.0/16"],
            "ipv6CidrBlocks": [],
        }
    ],
    # egress is not checked: the open egress below is compliant
    "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}],
}
INGRESS_RULE = {
    "securityGroupId": "sg-1",
    "ipProtocol": "tcp",
    "fromPort": 443,
    "toPort": 443,
    "cidrIpv4": "10.40.0.0/16",
}
SECURITY_GROUP_RULE = {
    "type": "ingress",
    "securityGroupId": "sg-1",
    "protocol": "tcp",
    "fromPort": 22,
    "toPort": 22,
    "cidrBlocks": ["10.0.0.0/8"],
}
LOG_GROUP_PROPS = {"name": "/aws/eks/c/cluster", "retentionInDays": 90, "kmsKeyId": "arn:k"}
ENC = ("encryptionInfo", "encryptionInTransit")
CIDRS = ("vpcConfig", "publicAccessCidrs")
HALVES = ["0.0.0.0/1", "128.0.0.0/1"]  # the whole internet without the literal 0.0.0.0/0
SG_CIDRS = ("ingress", 0, "cidrBlocks")
BROKER_LOGS = ("loggingInfo", "brokerLogs")
INLINE = ("inlinePolicies", 0, "policy")

CASES = [
    Case(
        "aws-eks-cluster-endpoint-restricted",
        EKS,
        CLUSTER,
        (
            Mutation(CIDRS, ["0.0.0.0/0"], "0.0.0.0/0"),
            Mutation(CIDRS, DELETE, "0.0.0.0/0"),
            Mutation(CIDRS, [], "no publicAccessCidrs"),
            Mutation(CIDRS, HALVES, "public to 0.0.0.0/0"),
            Mutation(CIDRS, ["198.51.100.0/24", *HALVES], "public to 0.0.0.0/0"),
            Mutation(CIDRS, ["16.0.0.0/4"], "more than a /8 of public addresses (16.0.0.0/4)"),
            Mutation(CIDRS, ["3.0.0.0/8", "4.0.0.0/8"], "more than a /8"),
            Mutation(CIDRS, ["198.51.100.0/24", "::/0"], "public to ::/0"),
            Mutation(CIDRS, ["office"], "'office' is not a CIDR"),
            Mutation(("vpcConfig",), {"endpointPublicAccess": True}, "no publicAccessCidrs"),
        ),
    ),
    Case(
        "aws-eks-cluster-endpoint-restricted",
        EKS,
        PRIVATE_CLUSTER,
        (
            Mutation(("vpcConfig", "endpointPublicAccess"), True, "0.0.0.0/0"),
            Mutation(("vpcConfig", "endpointPublicAccess"), DELETE, "EKS's default"),
        ),
    ),
    Case(
        "aws-eks-cluster-secrets-encryption",
        EKS,
        CLUSTER,
        (
            Mutation(("encryptionConfig", "resources"), [], "not encrypted"),
            Mutation(("encryptionConfig", "resources"), 7, "not encrypted"),
            Mutation(("encryptionConfig", "provider", "keyArn"), DELETE, "no KMS key"),
        ),
    ),
    Case(
        "aws-eks-cluster-audit-logs",
        EKS,
        CLUSTER,
        (
            Mutation(("enabledClusterLogTypes",), ["api"], "audit"),
            Mutation(("enabledClusterLogTypes",), "api audit", "api, audit"),
        ),
    ),
    Case(
        "aws-ec2-launch-template-imdsv2",
        LT,
        LAUNCH_TEMPLATE,
        (
            Mutation(("metadataOptions", "httpTokens"), "optional", "'optional'"),
            Mutation(("metadataOptions", "httpTokens"), DELETE, "not 'required'"),
        ),
    ),
    Case(
        "aws-ec2-launch-template-encrypted-volumes",
        LT,
        LAUNCH_TEMPLATE,
        (Mutation(("blockDeviceMappings", 0, "ebs", "encrypted"), "false", "/dev/xvda"),),
    ),
    Case(
        "aws-ec2-launch-template-imds-hop-limit",
        LT,
        LAUNCH_TEMPLATE,
        (
            Mutation(("metadataOptions", "httpPutResponseHopLimit"), 2, "is 2: pods can reach"),
            Mutation(("metadataOptions", "httpPutResponseHopLimit"), DELETE, "unset"),
            Mutation(("metadataOptions", "httpPutResponseHopLimit"), "2", "not a number"),
        ),
    ),
    Case(
        "aws-ec2-launch-template-no-public-ip",
        LT,
        LAUNCH_TEMPLATE,
        (
            Mutation(("networkInterfaces", 0, "associatePublicIpAddress"), "true", "interface 0"),
            Mutation(("networkInterfaces", 0, "associatePublicIpAddress"), True, "public IP"),
        ),
    ),
    Case(
        "aws-eks-nodegroup-gpu-taint",
        NG,
        GPU_NODE_GROUP,
        (
            Mutation(("taints",), [], "without the nvidia.com/gpu"),
            Mutation(("taints", 0, "effect"), "PREFER_NO_SCHEDULE", "without the nvidia.com/gpu"),
            Mutation(("taints", 0, "key"), "gpu", "without the nvidia.com/gpu"),
            Mutation(("taints",), "nvidia.com/gpu", "without the nvidia.com/gpu"),
        ),
    ),
    # NoExecute keeps non-GPU pods off as well: a valid GPU taint.
    Case(
        "aws-eks-nodegroup-gpu-taint",
        NG,
        NO_EXECUTE_NODE_GROUP,
        (Mutation(("taints", 0, "effect"), "PREFER_NO_SCHEDULE", "without the nvidia.com/gpu"),),
    ),
    # No instanceTypes (the launch template has the type): still GPU, by the AMI type.
    Case(
        "aws-eks-nodegroup-gpu-taint",
        NG,
        LT_ONLY_NODE_GROUP,
        (
            Mutation(("taints",), [], "without the nvidia.com/gpu"),
            Mutation(("taints",), DELETE, "without the nvidia.com/gpu"),
        ),
    ),
    Case(
        "aws-eks-nodegroup-gpu-taint",
        NG,
        {**LT_ONLY_NODE_GROUP, "amiType": "BOTTLEROCKET_ARM_64_NVIDIA"},
        (Mutation(("taints",), [], "without the nvidia.com/gpu"),),
    ),
    Case(
        "aws-eks-nodegroup-gpu-family-allowed",
        NG,
        GPU_NODE_GROUP,
        (
            Mutation(("instanceTypes",), ["g4dn.xlarge"], "g4dn.xlarge not in the allowed"),
            Mutation(("instanceTypes",), ["g6.12xlarge", "p3.8xlarge"], "p3.8xlarge not in"),
        ),
    ),
    # A custom AMI: only the catalog says these instance types have GPUs.
    Case(
        "aws-eks-nodegroup-gpu-family-allowed",
        NG,
        CUSTOM_AMI_NODE_GROUP,
        (
            Mutation(("instanceTypes",), ["p3.2xlarge"], "p3.2xlarge not in the allowed"),
            Mutation(("instanceTypes",), ["p3.16xlarge"], "p3.16xlarge not in the allowed"),
            Mutation(("instanceTypes",), ["p3dn.24xlarge"], "p3dn.24xlarge not in the allowed"),
            Mutation(("instanceTypes",), ["p6-b200.48xlarge"], "p6-b200.48xlarge not in"),
        ),
    ),
    Case(
        "aws-eks-nodegroup-training-spot",
        NG,
        GPU_NODE_GROUP,
        (Mutation(("capacityType",), "ON_DEMAND", "training node group on ON_DEMAND"),),
    ),
    Case(
        "aws-msk-cluster-tls-only",
        MSK_CLUSTER,
        MSK,
        (
            Mutation((*ENC, "clientBroker"), "TLS_PLAINTEXT", "TLS only"),
            Mutation((*ENC, "inCluster"), False, "broker-to-broker"),
        ),
    ),
    Case(
        "aws-msk-cluster-authenticated",
        MSK_CLUSTER,
        MSK,
        (
            Mutation(("clientAuthentication", "unauthenticated"), True, "unauthenticated access"),
            Mutation(("clientAuthentication", "sasl", "iam"), False, "no client authentication"),
            Mutation(("clientAuthentication",), DELETE, "no client authentication"),
        ),
    ),
    # MSK Serverless spells IAM auth sasl.iam.enabled.
    Case(
        "aws-msk-cluster-authenticated",
        MSK_SERVERLESS,
        MSK_SERVERLESS_CLUSTER,
        (
            Mutation(
                ("clientAuthentication", "sasl", "iam", "enabled"),
                False,
                "no client authentication",
            ),
            Mutation(("clientAuthentication", "sasl"), DELETE, "no client authentication"),
        ),
    ),
    Case(
        "aws-msk-cluster-kms-at-rest",
        MSK_CLUSTER,
        MSK,
        (Mutation(("encryptionInfo", "encryptionAtRestKmsKeyArn"), DELETE, "no KMS key"),),
    ),
    Case(
        "aws-msk-cluster-no-public-access",
        MSK_CLUSTER,
        MSK,
        (
            Mutation(
                ("brokerNodeGroupInfo", "connectivityInfo", "publicAccess", "type"),
                "SERVICE_PROVIDED_EIPS",
                "'SERVICE_PROVIDED_EIPS', not DISABLED",
            ),
        ),
    ),
    Case(
        "aws-msk-cluster-broker-logs",
        MSK_CLUSTER,
        MSK,
        (
            Mutation((*BROKER_LOGS, "cloudwatchLogs", "enabled"), False, "go nowhere"),
            Mutation(("loggingInfo",), DELETE, "go nowhere"),
            Mutation(BROKER_LOGS, {"s3": {"enabled": False, "bucket": "b"}}, "go nowhere"),
        ),
    ),
    Case(
        "aws-iam-no-admin-wildcard",
        ROLE_POLICY_TYPE,
        ROLE_POLICY,
        (
            Mutation(("policy",), ADMIN, "Admin allows * on *"),
            Mutation(("policy",), policy(allow("All", ["s3:GetObject", "*:*"])), "All allows *"),
            Mutation(("policy",), policy(allow("Arn", "*", "arn:aws:*")), "Arn allows * on *"),
            Mutation(
                ("policy",),
                policy(allow("Bucket", "*", "arn:aws:s3:::b/*")),
                "Bucket allows * on arn:aws:s3:::b/*",
            ),
            Mutation(
                ("policy",),
                policy({"Sid": "Not", "Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}),
                "Not allows every action but s3:* (NotAction with Allow)",
            ),
            Mutation(("policy",), policy(allow("Iam", "iam:*")), "Iam allows iam:* on *"),
            Mutation(("policy",), policy(allow("Iam", "IAM:*")), "Iam allows iam:* on *"),
            Mutation(
                ("policy",),
                json.dumps({"Statement": allow("One", "*")}),  # one statement, not a list
                "One allows * on *",
            ),
            Mutation(("policy",), "not json", "not a JSON policy document"),
            Mutation(("policy",), "[1, 2]", "not an object"),
        ),
    ),
    Case(
        "aws-iam-no-admin-wildcard",
        POLICY_TYPE,
        ROLE_POLICY,
        (Mutation(("policy",), ADMIN, "Admin allows * on *"),),
    ),
    Case(
        "aws-iam-no-admin-wildcard",
        ROLE_TYPE,
        ROLE,
        (Mutation(INLINE, ADMIN, "inline policy read: statement Admin allows * on *"),),
    ),
    Case(
        "aws-iam-no-privilege-escalation",
        ROLE_POLICY_TYPE,
        ROLE_POLICY,
        (
            Mutation(("policy",), policy(allow("Pass", "iam:PassRole")), "iam:PassRole on any"),
            Mutation(
                ("policy",),
                policy(allow("Put", "iam:Put*")),
                "iam:PutRolePolicy, iam:PutUserPolicy, iam:PutGroupPolicy on any resource",
            ),
            Mutation(
                ("policy",),
                policy(
                    allow("Versions", ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"])
                ),
                "iam:CreatePolicyVersion, iam:SetDefaultPolicyVersion",
            ),
            Mutation(
                ("policy",),
                policy(allow("Keys", "iam:createaccesskey", "arn:aws:iam::*:user/*")),
                "iam:CreateAccessKey on any resource (arn:aws:iam::*:user/*)",
            ),
            Mutation(
                ("policy",),
                policy(allow("Trust", "iam:UpdateAssumeRolePolicy")),
                "iam:UpdateAssumeRolePolicy",
            ),
            Mutation(
                ("policy",),
                policy(allow("Attach", "iam:AttachRolePolicy", "arn:aws:iam::123:role/*")),
                "iam:AttachRolePolicy",
            ),
            Mutation(("policy",), policy(allow("Assume", "sts:AssumeRole")), "sts:AssumeRole"),
            Mutation(
                ("policy",),
                policy(
                    {
                        "Sid": "AllBut",
                        "Effect": "Allow",
                        "Action": "iam:PassRole",
                        "NotResource": "arn:aws:iam::123:role/admin",
                    }
                ),
                "everything but arn:aws:iam::123:role/admin",
            ),
        ),
    ),
    Case(
        "aws-iam-no-privilege-escalation",
        ROLE_TYPE,
        ROLE,
        (
            Mutation(
                INLINE,
                policy(S3_READ, allow("Pass", "iam:PassRole")),
                "inline policy read: statement Pass allows iam:PassRole",
            ),
        ),
    ),
    Case(
        "aws-iam-no-admin-policy-attachment",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        ATTACHMENT,
        (
            Mutation(POLICY_ARN, "arn:aws:iam::aws:policy/AdministratorAccess", "Administrator"),
            Mutation(POLICY_ARN, "arn:aws:iam::aws:policy/PowerUserAccess", "PowerUserAccess"),
            Mutation(POLICY_ARN, "arn:aws-us-gov:iam::aws:policy/IAMFullAccess", "IAMFullAccess"),
        ),
    ),
    Case(
        "aws-iam-no-admin-policy-attachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        {"user": "u", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        (Mutation(POLICY_ARN, "arn:aws:iam::aws:policy/AdministratorAccess", "Administrator"),),
    ),
    Case(
        "aws-iam-no-admin-policy-attachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        {"group": "g", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        (Mutation(POLICY_ARN, "arn:aws:iam::aws:policy/AdministratorAccess", "Administrator"),),
    ),
    Case(
        "aws-iam-no-admin-policy-attachment",
        ROLE_TYPE,
        ROLE,
        (
            Mutation(
                ("managedPolicyArns", 0),
                "arn:aws:iam::aws:policy/AdministratorAccess",
                "attaches AdministratorAccess",
            ),
        ),
    ),
    Case(
        "aws-ec2-security-group-no-internet-ingress",
        SG,
        SECURITY_GROUP,
        (
            Mutation(SG_CIDRS, ["0.0.0.0/0"], "ingress tcp 9098 from 0.0.0.0/0"),
            Mutation(SG_CIDRS, HALVES, "from 0.0.0.0/0"),
            Mutation(("ingress", 0, "ipv6CidrBlocks"), ["::/0"], "from ::/0"),
            Mutation(SG_CIDRS, ["10.40.0.0/16", "0.0.0.0/0"], "from 0.0.0.0/0"),
            Mutation(SG_CIDRS, ["16.0.0.0/4"], "more than a /8 of public addresses"),
        ),
    ),
    Case(
        "aws-ec2-security-group-no-internet-ingress",
        SG_INGRESS,
        INGRESS_RULE,
        (
            Mutation(("cidrIpv4",), "0.0.0.0/0", "ingress tcp 443 from 0.0.0.0/0"),
            Mutation(("cidrIpv6",), "::/0", "from ::/0"),
        ),
    ),
    Case(
        "aws-ec2-security-group-no-internet-ingress",
        SG_RULE,
        SECURITY_GROUP_RULE,
        (Mutation(("cidrBlocks",), ["0.0.0.0/0"], "ingress tcp 22 from 0.0.0.0/0"),),
    ),
    Case(
        "aws-ec2-security-group-no-internet-ingress",
        SG_RULE,
        {**SECURITY_GROUP_RULE, "type": "egress", "cidrBlocks": ["0.0.0.0/0"]},
        (Mutation(("type",), "ingress", "from 0.0.0.0/0"),),
    ),
    Case(
        "aws-cloudwatch-log-group-retention",
        LOG_GROUP,
        LOG_GROUP_PROPS,
        (
            Mutation(("retentionInDays",), DELETE, "kept forever"),
            Mutation(("retentionInDays",), 0, "retentionInDays is 0"),
            Mutation(("retentionInDays",), "90", "not a number of days"),
        ),
    ),
]

# Node groups that take their instance type from their launch template (no instanceTypes): a
# GPU AMI one, a CUSTOM AMI one (GPU only by the template's type) and one found by template name.
LT_STACK = (
    resource(NG, "gpu-ng", LT_ONLY_NODE_GROUP, launchTemplate=("gpu-lt",)),
    resource(LT, "gpu-lt", {**LAUNCH_TEMPLATE, "instanceType": "g6.12xlarge"}),
    resource(
        NG,
        "custom-ng",
        {**LT_ONLY_NODE_GROUP, "amiType": "CUSTOM"},
        launchTemplate=("custom-lt",),
    ),
    resource(LT, "custom-lt", {**LAUNCH_TEMPLATE, "instanceType": "g6e.xlarge"}),
    resource(
        NG,
        "named-ng",
        {**LT_ONLY_NODE_GROUP, "launchTemplate": {"name": "named", "version": "1"}},
    ),
    resource(LT, "named-lt", {**LAUNCH_TEMPLATE, "name": "named", "instanceType": "g5.xlarge"}),
    resource(NG, "system-ng", {"amiType": "AL2023_x86_64_STANDARD"}, launchTemplate=("sys-lt",)),
    resource(LT, "sys-lt", {**LAUNCH_TEMPLATE, "instanceType": "m7i.large"}),
)
INSTANCE_TYPE = ("props", "instanceType")

STACK_CASES = [
    StackCase(
        "aws-eks-nodegroup-launch-template-gpu-family",
        LT_STACK,
        (
            ("gpu-lt", Mutation(INSTANCE_TYPE, "p3.8xlarge", "p3.8xlarge (from its launch")),
            ("gpu-lt", Mutation(INSTANCE_TYPE, "m7i.large", "m7i.large (from its launch")),
            ("custom-lt", Mutation(INSTANCE_TYPE, "p6-b200.48xlarge", "p6-b200.48xlarge")),
            ("custom-lt", Mutation(INSTANCE_TYPE, "p3dn.24xlarge", "p3dn.24xlarge")),
            ("named-lt", Mutation(INSTANCE_TYPE, "g4dn.xlarge", "g4dn.xlarge (from its")),
        ),
    ),
    StackCase(
        "aws-eks-nodegroup-launch-template-gpu-taint",
        LT_STACK,
        (
            ("custom-ng", Mutation(("props", "taints"), [], "g6e.xlarge from its launch")),
            ("sys-lt", Mutation(INSTANCE_TYPE, "g6.xlarge", "without the nvidia.com/gpu")),
        ),
    ),
]
