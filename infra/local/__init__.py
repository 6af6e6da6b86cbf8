"""Local target: any kubeconfig cluster, with Strimzi Kafka and MinIO."""
