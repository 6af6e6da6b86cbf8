"""The containers the platform runs: the Kafka-fed trainer and the inference server."""
