"""The served model: load a published version, validate it, and follow the `latest` pointer.

A version is only ever served after it loaded and passed validation beside the current one
(`load_version`): its manifest names the features this code computes, its weights rebuild a
`FraudModel` with that many inputs and finite weights, and a probe batch gives finite
probabilities (finite weights can still overflow to inf - inf = NaN inside the network). The swap is
one reference assignment, so a request sees the old model or the new one, never a mix. A
version that fails is remembered and not retried until `latest` names another one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from workloads.common import schema
from workloads.common.model import FraudModel, from_bytes
from workloads.common.registry import ModelRegistry

log = logging.getLogger("workloads.inference")
WEIGHTS = "model.pt"
_PROBE = schema.features_from_records(schema.generate(16, seed=0))


class ModelRejected(ValueError):
    """A published version that must not be served, and why."""


def pick_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} asked for, but torch sees no CUDA device")
    return device


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    module: FraudModel
    device: torch.device
    manifest: dict[str, Any] = field(repr=False)
    loaded_at: float = field(default_factory=time.time)

    def predict(self, x: torch.Tensor) -> np.ndarray:
        """P(fraud) per row of `x` ([n, FEATURE_DIM] float32), as float32 numpy."""
        with torch.inference_mode():
            scores = torch.sigmoid(self.module(x.to(self.device, non_blocking=True)))
            return scores.float().cpu().numpy()


def probe_is_finite(model: LoadedModel) -> bool:
    """The load-time probe batch, again: False when the model itself has gone bad."""
    return bool(np.isfinite(model.predict(_PROBE)).all())


def load_version(registry: ModelRegistry, version: str, device: torch.device) -> LoadedModel:
    """Load and validate one version; `ModelRejected` says what is wrong with it."""
    try:
        manifest = registry.manifest(version)
        weights = registry.read(version, WEIGHTS)
    except Exception as exc:
        raise ModelRejected(f"{registry.name} {version}: cannot read it: {exc}") from exc
    features = (manifest.get("input_schema") or {}).get("features")
    if features != list(schema.FEATURES):
        raise ModelRejected(
            f"{registry.name} {version}: its input features differ from this server's "
            f"({len(features or [])} vs {schema.FEATURE_DIM}); deploy the matching server"
        )
    try:
        module = from_bytes(weights, device)
    except ValueError as exc:
        raise ModelRejected(f"{registry.name} {version}: {exc}") from exc
    if module.arch.inputs != schema.FEATURE_DIM:
        raise ModelRejected(
            f"{registry.name} {version}: takes {module.arch.inputs} inputs, "
            f"not {schema.FEATURE_DIM}"
        )
    if not all(bool(torch.isfinite(p).all()) for p in module.parameters()):
        raise ModelRejected(f"{registry.name} {version}: its weights hold non-finite values")
    loaded = LoadedModel(manifest.get("name", registry.name), version, module, device, manifest)
    probe = loaded.predict(_PROBE)
    if probe.shape != (len(_PROBE),):
        raise ModelRejected(
            f"{registry.name} {version}: the probe batch gave scores of shape {probe.shape}"
        )
    if not np.isfinite(probe).all():
        raise ModelRejected(f"{registry.name} {version}: the probe batch gave non-finite scores")
    return loaded


class ModelWatcher:
    """Follows `latest` of one model in a registry; `current` is what to serve (None: nothing
    loaded yet). `check()` blocks while it loads: call it off the event loop."""

    def __init__(
        self,
        registry: ModelRegistry,
        device: torch.device,
        on_load: Callable[[LoadedModel], None] = lambda _m: None,
        on_failure: Callable[[str, str], None] = lambda _v, _why: None,
    ) -> None:
        self.registry, self.device = registry, device
        self.on_load, self.on_failure = on_load, on_failure
        self.current: LoadedModel | None = None
        self.failed: dict[str, str] = {}  # version -> why it was refused

    def check(self) -> bool:
        """Load `latest` if it names a new version; True when the served model changed."""
        try:
            pointer = self.registry.latest()
        except Exception as exc:  # the store is down: keep serving what we have
            log.warning("cannot read the latest pointer", extra={"error": str(exc)})
            return False
        if pointer is None:
            return False
        version = str(pointer.get("version"))
        if (self.current and self.current.version == version) or version in self.failed:
            return False
        try:
            loaded = load_version(self.registry, version, self.device)
        except ModelRejected as exc:
            self.failed[version] = str(exc)
            log.error(
                "model refused; still serving the previous one",
                extra={
                    "version": version,
                    "serving": self.current.version if self.current else None,
                    "error": str(exc),
                },
            )
            self.on_failure(version, str(exc))
            return False
        previous, self.current = self.current, loaded
        log.info(
            "model loaded",
            extra={
                "model": loaded.name,
                "version": version,
                "previous": previous.version if previous else None,
            },
        )
        self.on_load(loaded)
        return True
