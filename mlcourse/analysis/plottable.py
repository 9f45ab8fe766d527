"""The package's histograms in the field's plotting protocol (UHI's ``PlottableHistogram``).

:class:`~mlcourse.analysis.aggregate.Histogram` holds one set of bin edges and two classes' counts;
``hist.plottable("signal")`` gives one class as a :class:`ClassHistogram`, which
``mplhep.histplot``, ``hist`` and every other consumer of the Unified Histogram Interface
take directly (``uhi.typing.plottable``: ``kind``, ``values()``, ``variances()``,
``counts()``, ``axes``), without a conversion of our own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["BinAxis", "ClassHistogram"]


@dataclass(frozen=True)
class _Traits:
    circular: bool = False
    discrete: bool = False


class BinAxis:
    """A continuous axis of bins given by their edges: ``axis[i]`` is the pair of edges of
    bin ``i`` (UHI's ``PlottableAxis``); ``label`` names the feature."""

    def __init__(self, edges: np.ndarray, label: str = "") -> None:
        self.edges = np.asarray(edges, dtype=float)
        self.label = self.name = label

    @property
    def traits(self) -> _Traits:
        """Neither circular nor discrete."""
        return _Traits()

    def __getitem__(self, index: int) -> tuple[float, float]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"bin {index} of {len(self)}")
        index %= len(self)
        return float(self.edges[index]), float(self.edges[index + 1])

    def __len__(self) -> int:
        return len(self.edges) - 1

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BinAxis) and np.array_equal(self.edges, other.edges)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False)
class ClassHistogram:
    """One class's unweighted counts in bins (UHI's ``PlottableHistogram``, kind COUNT).

    Attributes
    ----------
    edges : numpy.ndarray
        Bin edges.
    count : numpy.ndarray
        Events per bin.
    label : str
        What the axis shows (the feature), and ``name`` the class.
    name : str
        ``"signal"`` or ``"background"``.
    """

    edges: np.ndarray
    count: np.ndarray
    label: str = ""
    name: str = ""

    @property
    def kind(self) -> str:
        """``"COUNT"``: counts of events, not means."""
        return "COUNT"

    @property
    def axes(self) -> tuple[BinAxis]:
        """The one axis."""
        return (BinAxis(self.edges, self.label),)

    def values(self) -> np.ndarray:
        """Events per bin, as floats."""
        return np.asarray(self.count, dtype=float)

    def variances(self) -> np.ndarray:
        """Poisson variances of unweighted counts: the counts themselves."""
        return np.asarray(self.count, dtype=float)

    def counts(self) -> np.ndarray:
        """Events per bin."""
        return np.asarray(self.count, dtype=float)
