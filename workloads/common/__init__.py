"""What the trainer, the inference server and the stream scorer share."""
