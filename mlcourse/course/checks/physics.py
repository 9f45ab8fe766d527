"""The physicist's evaluation as an exercise: a working point chosen on validation events, and
s, b and Z computed at it on the test events (Day 2 GBT, Day 3 and the final hands-on).

The student's numbers are recomputed from the same predictions: the efficiencies at the
student's cut on the test events (a cut taken as ``>=`` or ``>``, both accepted), the
expected events from :func:`mlcourse.benchmark_yields`, Z from the Asimov formula with a
relative background uncertainty of :data:`SYSTEMATIC`. The cut must be a good one on the
validation events: within 10 % of the best Z a scan of 100 cuts finds there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlcourse.course.checking import Need, NotYet, exercise, number

__all__ = ["SYSTEMATIC", "register_working_point"]

#: The relative background uncertainty of the working-point exercises.
SYSTEMATIC = 0.05

#: Cuts leaving fewer validation background events than this are not working points.
MIN_BACKGROUND = 10

_HINTS = (
    "For each cut, the efficiencies are the fractions of signal and of background events "
    "whose signal probability passes it; s and b are the expected events times them.",
    "Z(s, b, sigma_b) is the Asimov formula with sigma_b = 0.05 * b (see the markdown "
    "above); choose the cut of highest Z on the validation events, skipping cuts that "
    "leave fewer than 10 validation background events.",
    "Then count on the test events at that one cut: s_test = yields.signal * eps_s, "
    "b_test = yields.background * eps_b, z_test = Z(s_test, b_test, 0.05 * b_test).",
)


def labels_and_scores(value: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(labels, signal scores) of predictions: a DataFrame with ``label`` and
    ``probability``, or a pair (labels, scores) of arrays."""
    from mlcourse.analysis.metrics import labelled_scores

    if isinstance(value, tuple) and len(value) == 2:
        try:
            labels, scores = labelled_scores(*value)
        except (TypeError, ValueError) as error:
            raise NotYet(f"{name} should be (labels, scores) of the same events: {error}") from None
        return labels.astype(int), scores
    columns = getattr(value, "columns", None)
    if not isinstance(columns, list) or "label" not in columns or "probability" not in columns:
        raise NotYet(
            f"{name} should be a model's predictions (a DataFrame with label and "
            "probability columns) or a pair (labels, scores)"
        )
    from mlcourse.analysis.aggregate import signal_score

    rows = value.select("label", signal_score(value, "probability").alias("p")).toPandas()
    return rows["label"].to_numpy().astype(int), rows["p"].to_numpy(dtype=float)


def _z(s: Any, b: Any) -> Any:
    from mlcourse.analysis.evaluation import asimov_significance

    return asimov_significance(s, b, SYSTEMATIC * np.asarray(b, dtype=float))


def _efficiencies(
    labels: np.ndarray, scores: np.ndarray, cut: float, strict: bool
) -> tuple[float, float, int]:
    passed = scores > cut if strict else scores >= cut
    signal, background = labels == 1, labels == 0
    return passed[signal].mean(), passed[background].mean(), int(passed[background].sum())


def working_point(
    z_test: Any, *, cut: Any, s_test: Any, b_test: Any, validation: Any, test: Any
) -> str:
    """Pass when ``cut`` is a good working point on ``validation`` and ``s_test``,
    ``b_test``, ``z_test`` are the expected events and Z at it on ``test``."""
    from mlcourse.analysis.yields import benchmark_yields

    yields = benchmark_yields()
    cut_value = number(cut, "cut", low=0.0, high=1.0)
    s_value = number(s_test, "s_test", low=0.0)
    b_value = number(b_test, "b_test", low=0.0)
    z_value = number(z_test, "z_test", low=0.0)
    val_labels, val_scores = labels_and_scores(validation, "the validation predictions")
    test_labels, test_scores = labels_and_scores(test, "the test predictions")
    if len(set(val_labels.tolist())) < 2 or len(set(test_labels.tolist())) < 2:
        raise NotYet("the validation and the test predictions each need both classes")

    # the cut, judged on the validation events against a scan of 100 cuts there
    grid = np.linspace(0.0, 0.99, 100)
    background = np.sort(val_scores[val_labels == 0])
    signal = np.sort(val_scores[val_labels == 1])
    kept_b = len(background) - np.searchsorted(background, grid, "left")
    kept_s = len(signal) - np.searchsorted(signal, grid, "left")
    z_grid = np.where(
        kept_b >= MIN_BACKGROUND,
        _z(yields.signal * kept_s / len(signal), yields.background * kept_b / len(background)),
        np.nan,
    )
    best = float(np.nanmax(z_grid))
    eff_s, eff_b, left = _efficiencies(val_labels, val_scores, cut_value, strict=False)
    if left < MIN_BACKGROUND:
        raise NotYet(
            f"the cut {cut_value:.4f} leaves {left} validation background events: a background "
            f"estimated from fewer than {MIN_BACKGROUND} events is a fluctuation, not a working "
            "point"
        )
    z_val = float(_z(yields.signal * eff_s, yields.background * eff_b))
    if z_val < 0.9 * best:
        raise NotYet(
            f"on the validation events the cut {cut_value:.4f} gives Z = {z_val:.2f}, where "
            f"another cut gives {best:.2f}: choose the cut of highest Z (with the 5 % background "
            "uncertainty) on the validation events"
        )

    # s, b and Z on the test events at that cut
    for strict in (False, True):
        eff_s, eff_b, _ = _efficiencies(test_labels, test_scores, cut_value, strict)
        s_want, b_want = yields.signal * eff_s, yields.background * eff_b
        if math.isclose(s_value, s_want, rel_tol=1e-3, abs_tol=0.05) and math.isclose(
            b_value, b_want, rel_tol=1e-3, abs_tol=0.05
        ):
            break
    else:
        raise NotYet(
            f"s_test and b_test are not the expected events above the cut {cut_value:.4f} on the "
            "test events: the efficiencies come from the test events' counts, the events from "
            "yields.signal and yields.background times them"
        )
    z_want = float(_z(s_value, b_value))
    if not math.isclose(z_value, z_want, rel_tol=1e-3, abs_tol=1e-4):
        raise NotYet(
            "z_test is not the Asimov significance of s_test and b_test with a background "
            f"uncertainty of {SYSTEMATIC:.0%} of b_test (sigma_b = {SYSTEMATIC} * b_test)"
        )
    return (
        f"cut {cut_value:.4f} (Z = {z_val:.2f} on the validation events, best of a scan "
        f"{best:.2f}); on the test events s = {s_value:.1f}, b = {b_value:,.1f}, Z = {z_value:.2f}"
    )


def register_working_point(name: str, *, validation: str, test: str) -> None:
    """Register ``name`` as a working-point exercise reading the notebook's ``validation``
    and ``test`` predictions and the student's ``cut``, ``s_test``, ``b_test``,
    ``z_test``."""
    exercise(
        name,
        "a working point chosen on validation events: cut, s_test, b_test, z_test",
        "z_test",
        cut="cut",
        s_test="s_test",
        b_test="b_test",
        validation=Need(validation),
        test=Need(test),
        hints=_HINTS,
    )(working_point)
