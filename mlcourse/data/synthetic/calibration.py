"""Calibrate the decay-chain generator's physical parameters on real HIGGS events.

The generator (:mod:`mlcourse.data.synthetic.chains`) has a few dozen physical parameters:
production spectra, widths, radiation, the detector's response, resolutions and b-tag rates. This
module fits them to real events by a coordinate search that changes one parameter at a
time (each in a space where any step is allowed: the logarithm of a positive quantity,
the logit of a probability), keeps a change that lowers the loss, and halves the steps
when a whole pass changes nothing. The loss, for events made with one fixed random stream
(so that two parameter sets are compared on the same random numbers):

* the Kolmogorov-Smirnov distance of each feature's distribution per class from the real
  events' (the mean, the mean of the five worst, which one step of one parameter lowers
  more often than the worst alone, and the worst, which the course's target bounds);
* the separability: a histogram gradient-boosting model trained on synthetic events must
  score them as it scores the real ones (the gap between its AUC on synthetic and on real
  test events), and a model that learned on synthetic events should work on real ones
  (half of 1 - its AUC on the real events).

Only the events given are used: the course fits on the odd rows of the committed 5,000 and
judges the result on the even rows (``mlcourse data calibrate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.data.synthetic.chains import ChainParameters
from mlcourse.data.synthetic.detector import generate_events
from mlcourse.higgs import COLUMNS, FEATURES, LABEL

if TYPE_CHECKING:  # imported where used: `import mlcourse.data.synthetic` stays free of pandas
    import pandas as pd

__all__ = ["FITTED", "calibrate", "ks_statistic", "loss_terms"]


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic ``sup |F_a - F_b|``, exact with ties.

    Used to judge the generator against real events: ``scipy.stats.ks_2samp``'s statistic
    without its p-value, which would make this three times slower (the calibration takes
    56 of them per evaluation).
    """
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


#: The parameters the calibration fits, and the space it steps in.
FITTED: dict[str, str] = {
    "signal_pt": "log",
    "background_pt": "log",
    "rapidity_sigma": "log",
    "h0_width": "log",
    "hc_width": "log",
    "ttbar_excess": "log",
    "radiation_jets": "log",
    "radiation_pt": "log",
    "radiation_eta": "log",
    "w_jet_pt": "log",
    "b_response": "log",
    "q_response": "log",
    "jet_stochastic": "log",
    "jet_constant": "log",
    "jet_tail_prob": "logit",
    "jet_tail_mean": "log",
    "fsr_prob": "logit",
    "fsr_fraction": "logit",
    "fsr_angle": "log",
    "lepton_resolution": "log",
    "met_noise": "log",
    "met_jet_fraction": "logit",
    "b_tag2": "logit",
    "b_tag1": "logit",
    "light_tag2": "logit",
    "light_tag1": "logit",
    "charm_tag2": "logit",
    "charm_tag1": "logit",
}

_TO = {"log": math.log, "logit": lambda p: math.log(p / (1.0 - p))}
_FROM = {"log": math.exp, "logit": lambda x: 1.0 / (1.0 + math.exp(-x))}


def loss_terms(
    params: ChainParameters, real: pd.DataFrame, *, events: int = 30_000, seed: int = 0
) -> dict[str, float]:
    """The terms of the calibration's loss for ``params`` against the ``real`` events.

    Returns
    -------
    dict
        ``ks_mean``, ``ks_max``, ``ks_worst5`` (over the 28 features and both classes: the
        mean, the largest, the mean of the five largest), ``auc_synthetic``
        and ``auc_real`` (a model trained on two thirds of the synthetic events, scored on
        the other third and on the real events), and ``loss``.
    """
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    made = pd.DataFrame(
        generate_events(np.random.default_rng(seed), events, params), columns=list(COLUMNS)
    )
    labels = made[LABEL].to_numpy()
    real_labels = real[LABEL].to_numpy()
    ks = [
        ks_statistic(made[f].to_numpy()[labels == c], real[f].to_numpy()[real_labels == c])
        for f in FEATURES
        for c in (0.0, 1.0)
    ]
    cut = 2 * events // 3
    model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0)
    model.fit(made[list(FEATURES)].iloc[:cut], labels[:cut])
    auc_synthetic = float(
        roc_auc_score(labels[cut:], model.predict_proba(made[list(FEATURES)].iloc[cut:])[:, 1])
    )
    auc_real = float(roc_auc_score(real_labels, model.predict_proba(real[list(FEATURES)])[:, 1]))
    terms = {
        "ks_mean": float(np.mean(ks)),
        "ks_max": float(np.max(ks)),
        "ks_worst5": float(np.mean(np.sort(ks)[-5:])),
        "auc_synthetic": auc_synthetic,
        "auc_real": auc_real,
    }
    terms["loss"] = (
        terms["ks_mean"]
        + terms["ks_worst5"]
        + terms["ks_max"]
        + abs(auc_synthetic - auc_real)
        + 0.5 * (1.0 - auc_real)
    )
    return terms


def calibrate(
    real: pd.DataFrame,
    *,
    start: ChainParameters | None = None,
    parameters: list[str] | None = None,
    evaluations: int = 400,
    events: int = 30_000,
    step: float = 0.3,
    smallest_step: float = 0.04,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> tuple[ChainParameters, dict[str, Any]]:
    """Fit :data:`FITTED` to the ``real`` events (label first, the 28 features, file units).

    Parameters
    ----------
    real : pandas.DataFrame
        The events to fit on, with the HIGGS column names.
    start : ChainParameters, optional
        Where the search starts (the defaults if not given); the signal fraction is set
        from ``real``.
    parameters : list of str, optional
        Fit only these (names in :data:`FITTED`); default all of them.
    evaluations : int
        At most this many loss evaluations (each makes ``events`` events and trains one
        model: about a second).
    step, smallest_step : float
        The first and the last step size in the transformed space.
    log : callable, optional
        Called with a line for each improvement.

    Returns
    -------
    (ChainParameters, dict)
        The fitted parameters and a record of the fit (loss terms before and after, the
        evaluations made).
    """
    params = replace(
        start or ChainParameters(), signal_fraction=round(float(real[LABEL].mean()), 4)
    )
    unknown = sorted(set(parameters or ()) - set(FITTED))
    if unknown:
        raise ValueError(f"not calibrated parameters: {unknown}; choose from {sorted(FITTED)}")
    names = [f.name for f in fields(ChainParameters) if f.name in (parameters or FITTED)]
    x = {name: _TO[FITTED[name]](getattr(params, name)) for name in names}

    def make(values: dict[str, float]) -> ChainParameters:
        return replace(params, **{k: round(_FROM[FITTED[k]](v), 5) for k, v in values.items()})

    def evaluate(values: dict[str, float]) -> dict[str, float]:
        return loss_terms(make(values), real, events=events, seed=seed)

    best = evaluate(x)
    first = dict(best)
    used = 1
    say = log or (lambda _: None)
    say(f"start: {_describe(best)}")
    while step >= smallest_step and used < evaluations:
        improved = False
        for name in names:
            for sign in (1.0, -1.0):
                if used >= evaluations:
                    break
                trial = dict(x)
                trial[name] += sign * step
                terms = evaluate(trial)
                used += 1
                if terms["loss"] < best["loss"]:
                    x, best, improved = trial, terms, True
                    say(f"{name} -> {_FROM[FITTED[name]](trial[name]):.4g}: {_describe(best)}")
                    break
        if not improved:
            step /= 2
            say(f"step {step:.3g}")
    fitted = make(x)
    return fitted, {"before": first, "after": best, "evaluations": used, "events": events}


def _describe(terms: dict[str, float]) -> str:
    return (
        f"loss {terms['loss']:.4f} (KS mean {terms['ks_mean']:.3f}, max {terms['ks_max']:.3f};"
        f" AUC synthetic {terms['auc_synthetic']:.3f}, real {terms['auc_real']:.3f})"
    )
