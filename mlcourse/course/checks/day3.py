"""The checks of Day 3: Keras networks, their spread over seeds, depth and data size."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mlcourse.course.checking import (
    AUC_TOLERANCE,
    Need,
    NotYet,
    early_stoppings,
    every_report,
    exercise,
    mapping,
    number,
    report_counts,
    test_counts,
)
from mlcourse.course.checks.physics import register_working_point

__all__: list[str] = []  # the checks register themselves; mlcourse.course.checks is their face


def _histories(namespace: Mapping[str, Any]) -> list[Any]:
    return [v for v in namespace.values() if type(v).__name__ == "History"]


def _adapted(layer: Any, x_train: Any) -> bool:
    """Whether a Normalization layer scales with the training features' mean and spread."""
    import numpy as np

    mean = np.asarray(getattr(layer, "mean", np.nan), dtype=float).ravel()
    variance = np.asarray(getattr(layer, "variance", np.nan), dtype=float).ravel()
    if mean.size != x_train.shape[1] or variance.size != x_train.shape[1]:
        return False
    spread = x_train.std(axis=0)
    close = np.abs(mean - x_train.mean(axis=0)) <= 0.05 * spread + 1e-6
    return bool(close.all() and (np.abs(np.sqrt(variance) / (spread + 1e-12) - 1) < 0.05).all())


@exercise(
    "day3.ex1",
    "a network built, compiled and trained",
    "model",
    arrays="arrays",
    history=Need("history", find=_histories),
    callbacks=Need("stop", find=early_stoppings, optional=True),
    hints=(
        "Follow the six steps above in order: Input, Normalization, Dense(100, relu), "
        "Dense(1, sigmoid), Model and compile, fit.",
        "The Normalization layer must learn the features' scale before training: "
        "normalization.adapt(arrays.x_train).",
        "Keep what model.fit returns in `history`; pass validation_data=(arrays.x_val, "
        "arrays.y_val) and callbacks=[stop] so that early stopping watches the validation AUC.",
    ),
)
def _day3_ex1(model: Any, *, arrays: Any, history: Any, callbacks: Any = None) -> str:
    from mlcourse.models.neural import check_network

    line = check_network(model, arrays, history)
    verdict, _, message = line.partition(": ")
    if verdict != "passed":
        raise NotYet(message)
    import keras

    layers = [x for x in model.layers if isinstance(x, keras.layers.Normalization)]
    if not any(_adapted(layer, arrays.x_train) for layer in layers):
        raise NotYet(
            "the Normalization layer does not scale by the training features' mean and "
            "spread: call normalization.adapt(arrays.x_train) before training"
        )
    watched = [cb for cb in ([callbacks] if callbacks is not None else []) if _watches(cb, model)]
    if not watched:
        raise NotYet(
            "the network was not trained with early stopping: model.fit(..., callbacks=[stop]) "
            "with the EarlyStopping callback defined above"
        )
    return message


def _watches(callback: Any, model: Any) -> bool:
    return getattr(callback, "_model", None) is model or getattr(callback, "model", None) is model


def matching_reports(
    aucs: Mapping[Any, float], name: str, namespace_reports: list[Any], test: Any
) -> dict[Any, Any]:
    """For each AUC, a distinct report of the notebook counted on ``test``'s events with that
    AUC; NotYet when an AUC comes from no such report (made up, or from other events)."""
    counts = test_counts(test)
    on_test = [r for r in namespace_reports if report_counts(r) == counts]
    matched: dict[Any, Any] = {}
    for key, auc in aucs.items():
        taken = list(matched.values())
        found = [
            r for r in on_test
            if abs(float(r.auc) - auc) <= AUC_TOLERANCE and all(r is not m for m in taken)
        ]  # fmt: skip
        if not found:
            raise NotYet(
                f"{name}[{key!r}] is not the AUC of any report on the test events in this "
                "notebook: take it from the classification_report of that network's "
                "predictions on `test`"
            )
        matched[key] = min(found, key=lambda r: abs(float(r.auc) - auc))
    return matched


def _aucs(value: Any, name: str, keys: Any = None) -> dict[Any, float]:
    table = mapping(value, name, keys)
    aucs = {k: number(getattr(v, "auc", v), f"{name}[{k!r}]", low=0.0, high=1.0)
            for k, v in table.items()}  # fmt: skip
    if min(aucs.values()) <= 0.5:
        raise NotYet(f"an AUC in {name} is no better than a coin toss: did every network train?")
    return aucs


@exercise(
    "day3.ex2",
    "train_and_score over several seeds: auc_by_seed",
    "auc_by_seed",
    test="test",
    found=Need("(the reports)", find=every_report, optional=True),
    hints=(
        "train_and_score puts together what you did in Exercise 1: to_arrays, a network, fit "
        "with early stopping, score_with_keras on `test`, classification_report.",
        "The seed must change the network's start: keras.utils.set_random_seed(seed) before "
        "building it; the sample stays the same (to_arrays(..., seed=1)).",
        "auc_by_seed = {seed: report.auc for seeds 1 to 5}; keep the reports too (seed_runs).",
    ),
)
def _day3_ex2(auc_by_seed: Any, *, test: Any, found: Any = None) -> str:
    table = mapping(auc_by_seed, "auc_by_seed")
    if len(table) < 5 or not all(isinstance(k, int) for k in table):
        raise NotYet(
            "auc_by_seed should hold five seeds or more, {seed: AUC}: a spread from fewer "
            "is itself too uncertain (from 3 seeds, about ±50 %)"
        )
    aucs = _aucs(table, "auc_by_seed")
    if len(set(aucs.values())) == 1:
        raise NotYet(
            "the AUCs are identical: does train_and_score pass the seed to "
            "keras.utils.set_random_seed?"
        )
    candidates = list(found) if isinstance(found, list) else []
    matching_reports(aucs, "auc_by_seed", candidates, test)
    return f"{len(aucs)} seeds, {len(aucs)} networks scored on the test events"


_EX3_KEYS = [(d, g) for d in ("shallow", "deep") for g in ("low", "high", "all")]


@exercise(
    "day3.ex3",
    "shallow and deep networks on low, high and all features",
    "reports",
    test="test",
    hints=(
        "Six networks: two depths times three feature groups, each from train_and_score.",
        "Shallow: layers=1, units=100; deep: layers=3, units=300; features 'low', 'high', "
        "'all' (pass them to train_and_score, which passes them to to_arrays and "
        "score_with_keras).",
        "Store each network's report (not its AUC) under (depth, features), e.g. "
        "reports['deep', 'low'].",
    ),
)
def _day3_ex3(reports: Any, *, test: Any) -> str:
    table = mapping(reports, "reports", _EX3_KEYS)
    for key, value in table.items():
        if report_counts(value) is None or not hasattr(value, "auc"):
            raise NotYet(
                f"reports[{key!r}] should be the network's classification_report, not a "
                f"{type(value).__name__}"
            )
    counts = test_counts(test)
    for key, value in table.items():
        if report_counts(value) != counts:
            raise NotYet(f"reports[{key!r}] was not counted on the test events: score `test`")
    aucs = _aucs({k: v.auc for k, v in table.items()}, "reports")
    if len({id(v) for v in table.values()}) < len(table) or len(set(aucs.values())) < len(aucs):
        raise NotYet("two of the six reports are the same network: train one per key")
    return "six networks, each with its report on the test events"


@exercise(
    "day3.ex4",
    "AUC against the number of training events: auc_by_size",
    "auc_by_size",
    test="test",
    found=Need("(the reports)", find=every_report, optional=True),
    hints=(
        "train_and_score(events=n) trains on the first n events of the same sample.",
        "Three sizes: 2,000, 5,000 and the whole sample (len(arrays.x_train) + "
        "len(arrays.x_val)); store {n: report.auc}.",
        "Plot with ax.errorbar(sizes, aucs, yerr=[report.auc_error ...]) and ax.set(xscale='log').",
    ),
)
def _day3_ex4(auc_by_size: Any, *, test: Any, found: Any = None) -> str:
    table = mapping(auc_by_size, "auc_by_size")
    if len(table) < 3 or not {2_000, 5_000} <= set(table):
        raise NotYet("auc_by_size should hold 2,000, 5,000 and the whole sample's events")
    aucs = _aucs(table, "auc_by_size")
    candidates = list(found) if isinstance(found, list) else []
    matched = matching_reports(aucs, "auc_by_size", candidates, test)
    small, large = min(aucs), max(aucs)
    error = math.hypot(matched[small].auc_error, matched[large].auc_error)
    if math.isfinite(error) and aucs[large] < aucs[small] - 3 * error:
        raise NotYet(
            f"the network trained on {large:,} events scores worse than the one on "
            f"{small:,} by more than three errors: are the sizes and the AUCs paired right?"
        )
    return f"{len(aucs)} sample sizes, each AUC from its network's report on the test events"


register_working_point("day3.ex5", validation="val_scores", test="nn_predictions")
