"""What every figure of the course shares: its colours and how a plot finds and finishes its
Axes (``ax=None`` is the current Axes; ``save=`` writes the figure, nothing else does)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "BACKGROUND_COLOR",
    "PETROFF10",
    "SIGNAL_COLOR",
    "axes_of",
    "finish",
    "normalise",
    "random_guess",
]

#: Matplotlib's ``petroff10`` cycle (M. A. Petroff, "Accessible color sequences for data
#: visualization", arXiv:2107.02270), which CMS adopted and mplhep's styles use: colours
#: told apart with any colour vision. Its red for signal, its blue for background.
PETROFF10 = (
    "#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
    "#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd",
)  # fmt: skip
SIGNAL_COLOR, BACKGROUND_COLOR = PETROFF10[2], PETROFF10[0]


def axes_of(ax: Axes | None) -> Axes:
    """``ax``, or the current Axes when it is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def finish(ax: Axes, save: str | None) -> Axes:
    """Write the figure of ``ax`` to ``save`` when given; return ``ax``."""
    if save is not None:
        from matplotlib.figure import SubFigure

        figure = ax.figure
        (figure.figure if isinstance(figure, SubFigure) else figure).savefig(
            save, bbox_inches="tight"
        )
    return ax


def random_guess(ax: Axes, x: np.ndarray, y: np.ndarray) -> None:
    """The dashed line of a random guess, drawn once per Axes however many models are."""
    if not any(line.get_label() == "random guess" for line in ax.get_lines()):
        ax.plot(x, y, linestyle="--", color="grey", label="random guess")


def normalise(counts: np.ndarray, edges: np.ndarray, density: bool) -> np.ndarray:
    """Counts as a density (unit area) when ``density``, else unchanged."""
    if not density:
        return counts
    total = counts.sum()
    return counts / (total * np.diff(edges)) if total else counts.astype(float)
