"""Plots in reports (`eval`, `feedback stats --out`): PNGs written whole or not at all.

Figures are built from `matplotlib.figure.Figure` rather than pyplot: they render with Agg whatever
backend the process has, change no global matplotlib state, and are freed when they go out of scope.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError


def new_figure(width: float = 7, height: float = 4.5) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise CodescalerError("plots need matplotlib: pip install matplotlib (or codescaler[train])") from exc
    return Figure(figsize=(width, height))


def save_png_atomic(figure: Any, target: Path) -> None:
    """Write the PNG next to `target` and rename it, so a reader never sees half an image."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
