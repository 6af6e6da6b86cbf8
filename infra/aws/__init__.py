"""AWS target: network, EKS, node pools, MSK, S3, ECR, workload identity."""
