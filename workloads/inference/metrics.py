"""Prometheus metrics of the server: what dashboards and the autoscalers read.

`ascent_inference_in_flight_requests` is the HPA's custom metric (see infra/k8s); each server
gets its own registry, so tests can run several in one process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "ascent_inference_requests", "HTTP requests", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "ascent_inference_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "ascent_inference_batch_size",
            "rows per forward pass",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "ascent_inference_queue_depth", "requests waiting for a batch", registry=r
        )
        self.in_flight = Gauge(
            "ascent_inference_in_flight_requests", "requests being handled", registry=r
        )
        self.model_info = Gauge(
            "ascent_inference_model_info",
            "1 for the model version served",
            ["model", "version"],
            registry=r,
        )
        self.model_loads = Counter(
            "ascent_inference_model_loads", "model versions loaded", ["model"], registry=r
        )
        self.load_failures = Counter(
            "ascent_inference_model_load_failures",
            "model versions refused (not loadable or not valid)",
            ["model"],
            registry=r,
        )

        self.nonfinite_outputs = Counter(
            "ascent_inference_nonfinite_outputs",
            "requests answered 500 because the model's output was not finite (NaN or inf)",
            ["version"],
            registry=r,
        )
        self.unhealthy = Gauge(
            "ascent_inference_model_unhealthy",
            "1 for a loaded version marked unhealthy (it gave non-finite output)",
            ["model", "version"],
            registry=r,
        )

    def served(self, model: str, version: str) -> None:
        self.model_info.clear()
        self.model_info.labels(model, version).set(1)
        self.model_loads.labels(model).inc()
