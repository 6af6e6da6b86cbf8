"""What a published model carries besides its weights: the manifest and the training curve."""

from __future__ import annotations

import io
import os
import subprocess
from datetime import UTC, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display in a pod or CI
import matplotlib.pyplot as plt


def code_version() -> str:
    """ASCENT_CODE_VERSION (CI sets the commit SHA), else the checkout's HEAD, else unknown."""
    if version := os.environ.get("ASCENT_CODE_VERSION"):
        return version
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def training_curve(losses: list[float], eval_points: list[tuple[int, float]]) -> bytes:
    """PNG: the training loss per step, and the held-out ROC AUC where it was measured."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, color="tab:blue", linewidth=0.6, alpha=0.35, label="train loss")
    window = max(1, len(losses) // 20)
    if len(losses) >= window > 1:
        smooth = [
            sum(losses[max(0, i - window + 1) : i + 1]) / min(window, i + 1)
            for i in range(len(losses))
        ]
        ax.plot(steps, smooth, color="tab:blue", linewidth=1.8, label=f"loss, mean of {window}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (BCE)")
    if eval_points:
        twin = ax.twinx()
        eval_steps, aucs = zip(*eval_points, strict=True)
        twin.plot(eval_steps, aucs, "o-", color="tab:orange", label="held-out ROC AUC")
        twin.set_ylabel("ROC AUC")
        twin.set_ylim(0.0, 1.0)
        twin.legend(loc="upper center")
    ax.legend(loc="upper right")
    ax.set_title("fraud-detector training")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def manifest(
    *,
    name: str,
    version: str,
    metrics: dict[str, float],
    input_schema: dict[str, Any],
    topic: str,
    offsets: dict[int, int],
    gate: dict[str, Any],
    arch: dict[str, Any],
) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "metrics": metrics,
        "input_schema": input_schema,
        "data": {"topic": topic, "offsets": {str(p): o for p, o in sorted(offsets.items())}},
        "code_version": code_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "gate": gate,
        "arch": arch,
    }
