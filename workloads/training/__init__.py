"""The Kafka-fed PyTorch trainer: `python -m workloads.training` (alone or under torchrun)."""
