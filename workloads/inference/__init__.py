"""The inference workloads: an Open Inference Protocol (v2) server and a Kafka stream scorer."""
