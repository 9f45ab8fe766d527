"""The physicist's figures of a classifier: efficiency against rejection, the significance of
a cut, and the overtraining check, each from its result in
:mod:`mlcourse.analysis.evaluation` (or computed from predictions first), drawn on ``ax`` and
returned as :mod:`mlcourse.analysis.plots` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.analysis.drawing import (
    BACKGROUND_COLOR,
    SIGNAL_COLOR,
    axes_of,
    finish,
    normalise,
    random_guess,
)
from mlcourse.analysis.evaluation import (
    EfficiencyCurve,
    OvertrainingCheck,
    SignificanceScan,
    efficiency_curve,
    significance_scan,
)
from mlcourse.higgs import LABEL

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from pyspark.sql import DataFrame

    from mlcourse.analysis.metrics import ClassificationReport, RocCurve

__all__ = ["plot_efficiency", "plot_overtraining", "plot_significance"]


def plot_efficiency(
    curve: EfficiencyCurve | RocCurve | ClassificationReport | DataFrame,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    label_col: str = LABEL,
    score_col: str = "probability",
    save: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Background rejection (log scale) against signal efficiency, with its uncertainty band
    (Wilson's 68 % interval of the background efficiency).

    Parameters
    ----------
    curve : EfficiencyCurve, RocCurve, ClassificationReport or pyspark.sql.DataFrame
        A computed curve (or what :func:`~mlcourse.analysis.evaluation.efficiency_curve` takes).
    ax : matplotlib.axes.Axes, optional
    label : str, optional
        Legend text (a model's name); call again on the same ``ax`` to compare models.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(curve, EfficiencyCurve):
        curve = efficiency_curve(curve, label_col=label_col, score_col=score_col)
    ax = axes_of(ax)
    keep = (curve.background_efficiency > 0) & (curve.signal_efficiency > 0)
    low, high = (bound[keep] for bound in curve.background_efficiency_interval())
    eff_s, eps_b = curve.signal_efficiency[keep], curve.background_efficiency[keep]
    (line,) = ax.plot(eff_s, 1.0 / eps_b, label=label, **kwargs)
    # the band: Wilson's 68 % interval of eps_B, bounded also where few events are left
    ax.fill_between(eff_s, 1.0 / high, 1.0 / low, color=line.get_color(), alpha=0.2)
    guess = np.linspace(0.01, 1.0, 100)
    random_guess(ax, guess, 1.0 / guess)
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("signal efficiency")
    ax.set_ylabel("background rejection (1 / background efficiency)")
    ax.set_title("Signal efficiency against background rejection")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right")
    return finish(ax, save)


def plot_significance(
    scan: SignificanceScan | RocCurve | ClassificationReport | DataFrame,
    *,
    signal: float | None = None,
    background: float | None = None,
    ax: Axes | None = None,
    label: str | None = None,
    label_col: str = LABEL,
    score_col: str = "probability",
    save: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Expected significance against the score cut, with the best cut marked.

    Parameters
    ----------
    scan : SignificanceScan, RocCurve, ClassificationReport or pyspark.sql.DataFrame
        A computed scan; anything else is scanned by
        :func:`~mlcourse.analysis.evaluation.significance_scan` with ``signal`` and ``background``.
    signal, background : float, optional
        Expected event counts before the cut (needed unless ``scan`` is a scan).
    ax : matplotlib.axes.Axes, optional
    label : str, optional
        Legend text before the best significance.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(scan, SignificanceScan):
        if signal is None or background is None:
            raise TypeError(
                "plot_significance needs signal= and background= (expected events before "
                "the cut) to scan predictions; or pass a significance_scan(...) result"
            )
        scan = significance_scan(
            scan, signal=signal, background=background, label_col=label_col, score_col=score_col
        )
    ax = axes_of(ax)
    finite = np.isfinite(scan.thresholds) & ~np.isnan(scan.significance)
    best = f"best Z = {scan.best_significance:.2f} at score >= {scan.best_threshold:.3f}"
    (line,) = ax.plot(
        scan.thresholds[finite],
        scan.significance[finite],
        label=f"{label}, {best}" if label else best,
        **kwargs,
    )
    ax.axvline(scan.best_threshold, color=line.get_color(), linestyle=":", alpha=0.8)
    ax.set_xlabel("score cut (events scoring at least it are kept)")
    ax.set_ylabel("expected significance Z (Asimov)")
    ax.set_title("Significance of a cut on the score")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    return finish(ax, save)


def plot_overtraining(
    check: OvertrainingCheck,
    *,
    ax: Axes | None = None,
    bins: int = 40,
    save: str | None = None,
) -> Axes:
    """Score distributions of training (points) and test events (filled), per class.

    The physicist's overtraining plot: both normalised to unit area, the training
    distribution with its statistical error bars over the test one; the legend gives each
    class's Kolmogorov-Smirnov p-value.

    Parameters
    ----------
    check : OvertrainingCheck
        From :func:`~mlcourse.analysis.evaluation.overtraining_check`.
    ax : matplotlib.axes.Axes, optional
    bins : int, default 40
        Bins drawn; the check's fine bins are merged (their number must be a multiple).

    Returns
    -------
    matplotlib.axes.Axes
    """
    fine = check.train.shape[1]
    if bins < 1 or fine % bins:
        raise ValueError(f"bins must divide the check's {fine} bins, e.g. 20, 40 or 50")
    edges = check.edges[:: fine // bins]
    centres, widths = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
    ax = axes_of(ax)
    for c, name, color in ((0, "background", BACKGROUND_COLOR), (1, "signal", SIGNAL_COLOR)):
        test = check.test[c].reshape(bins, -1).sum(axis=1)
        train = check.train[c].reshape(bins, -1).sum(axis=1)
        if not (test.sum() and train.sum()):
            continue
        per_event = 1.0 / (train.sum() * widths)  # unit area, as _normalise does
        ax.stairs(
            normalise(test, edges, True),
            edges,
            fill=True,
            alpha=0.3,
            color=color,
            label=f"{name} (test)",
        )
        ax.errorbar(
            centres,
            train * per_event,
            yerr=np.sqrt(train) * per_event,  # Poisson errors, normalised alike
            fmt="o",
            markersize=3,
            color=color,
            label=f"{name} (training), KS p = {check.ks_pvalue[c]:.3g}",
        )
    ax.set_xlabel("classifier score")
    ax.set_ylabel("normalised events")
    ax.set_title("Overtraining check: training against test scores")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.35)  # room for the legend above the histograms
    ax.legend(loc="upper center", fontsize="small", ncols=2)
    return finish(ax, save)
