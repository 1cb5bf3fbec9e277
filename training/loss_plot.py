"""The loss curve of a training run as a PNG beside the model (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["save_loss_plot"]


def save_loss_plot(history: list[dict[str, Any]], path: Path, title: str = "training loss") -> Path | None:
    """Plot training (and evaluation, when logged) loss against the optimizer step; None without
    matplotlib (the `train` extra), so a finished training never fails on its picture."""
    try:
        import matplotlib
    except ImportError:
        return None

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for key, label in (("loss", "train"), ("eval_loss", "eval")):
        points = [(row["step"], row[key]) for row in history if key in row]
        if points:
            steps, values = zip(*points, strict=True)
            axes.plot(steps, values, marker="o" if len(points) < 30 else None, label=label)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
