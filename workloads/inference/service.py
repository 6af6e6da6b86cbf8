"""One server's state: the model it follows, its batcher, its metrics, and whether it is ready."""

from __future__ import annotations

import asyncio
import gc
import logging

import numpy as np
import torch

from workloads.common.objectstore import ObjectStore
from workloads.common.registry import ModelRegistry
from workloads.inference.batcher import DynamicBatcher
from workloads.inference.metrics import ServerMetrics
from workloads.inference.models import LoadedModel, ModelWatcher, pick_device, probe_is_finite
from workloads.inference.settings import ServerSettings

log = logging.getLogger("workloads.inference")
FIRST_LOAD_RETRY_S = 1.0


class NotReady(RuntimeError):
    """No model loaded yet (or shutting down): 503, the client may retry elsewhere."""


class ModelFault(RuntimeError):
    """The model gave a non-finite output: 500 (its version is marked unhealthy when its
    load-time probe batch now fails too)."""


class InferenceService:
    def __init__(self, settings: ServerSettings, store: ObjectStore) -> None:
        self.settings = settings
        self.metrics = ServerMetrics()
        self.watcher = ModelWatcher(
            ModelRegistry(store, settings.model_name),
            pick_device(settings.device),
            on_load=self._loaded,
            on_failure=lambda _v, _why: self.metrics.load_failures.labels(
                settings.model_name
            ).inc(),
        )
        self.batcher: DynamicBatcher[LoadedModel] = DynamicBatcher(
            self._forward,
            settings.max_batch_size,
            settings.max_queue_delay_ms / 1000,
            on_batch=self.metrics.batch_size.observe,
            inline_below_s=settings.inline_below_ms / 1000,
        )
        self.draining = False
        self.unhealthy: set[str] = set()  # versions that gave non-finite output
        self._watch_task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        self.batcher.start()
        self._watch_task = asyncio.get_running_loop().create_task(self._watch(), name="watch")

    async def stop(self) -> None:
        self.draining = True
        if self._watch_task is not None:
            self._watch_task.cancel()
            await asyncio.gather(self._watch_task, return_exceptions=True)
        await self.batcher.stop()

    async def _watch(self) -> None:
        while True:
            await asyncio.to_thread(self.watcher.check)
            loaded = self.watcher.current is not None
            await asyncio.sleep(self.settings.reload_interval_s if loaded else FIRST_LOAD_RETRY_S)

    def _loaded(self, model: LoadedModel) -> None:
        self.metrics.served(model.name, model.version)
        # Long-lived objects (torch, the model) out of the collector's sight: a full collection
        # over them would stall every request in flight.
        gc.collect()
        gc.freeze()

    # --- serving ------------------------------------------------------------------------------
    def ready(self) -> bool:
        model = self.watcher.current
        return model is not None and not self.draining and self.healthy(model)

    def healthy(self, model: LoadedModel) -> bool:
        return model.version not in self.unhealthy

    def nonfinite(self, model: LoadedModel, scores: np.ndarray) -> ModelFault:
        """Count a non-finite output and the error to answer with. The version is marked
        unhealthy (not ready until another version loads) only when the load-time probe batch
        now gives non-finite scores too: a finite input that makes a sound model overflow must
        not let one request take every pod out of readiness."""
        bad = int((~np.isfinite(scores)).sum())
        self.metrics.nonfinite_outputs.labels(model.version).inc()
        head = (
            f"model {model.name!r} version {model.version!r} gave {bad} non-finite output "
            f"value(s) of {len(scores)}"
        )
        if probe_is_finite(model):
            log.warning(
                "the model gave non-finite output for one request; its probe batch is finite",
                extra={"model": model.name, "version": model.version, "values": bad},
            )
            return ModelFault(f"{head} for this input; the version keeps serving")
        if model.version not in self.unhealthy:
            self.unhealthy.add(model.version)
            self.metrics.unhealthy.labels(model.name, model.version).set(1)
            log.error(
                "the model gave non-finite output; version marked unhealthy (not ready)",
                extra={"model": model.name, "version": model.version, "values": bad},
            )
        return ModelFault(f"{head}; its probe batch fails too: the version is marked unhealthy")

    def model(self) -> LoadedModel:
        model = self.watcher.current
        if model is None:
            raise NotReady(f"no version of {self.settings.model_name!r} is loaded yet")
        return model

    def _forward(self, x: torch.Tensor) -> tuple[np.ndarray, LoadedModel]:
        model = self.model()  # the model of this batch, whatever a reload does meanwhile
        return model.predict(x), model

    async def score(self, x: torch.Tensor) -> tuple[np.ndarray, LoadedModel]:
        mode = self.settings.mode
        if mode == "batched":  # the queue depth gauge is set when /metrics is scraped
            return await self.batcher.submit(x)
        if mode == "direct":
            return await self.batcher.run_alone(x)
        return np.zeros(len(x), dtype=np.float32), self.model()  # skip-model: the HTTP ceiling
