"""The checks of the final hands-on."""

from __future__ import annotations

import math
from typing import Any

from mlcourse.course.checking import (
    Need,
    NotYet,
    exercise,
    fingerprints,
    fitted_models,
    number,
    partitioned_otherwise,
)
from mlcourse.course.checks.day1 import signal_fraction_of
from mlcourse.course.checks.day2 import cross_validated, cross_validated_models, is_auc_on
from mlcourse.course.checks.day4 import timings
from mlcourse.course.checks.physics import register_working_point

__all__: list[str] = []  # the checks register themselves; mlcourse.course.checks is their face


@exercise(
    "final.q1",
    "the fraction of signal events",
    "signal_fraction",
    df="df",
    hints=(
        "Signal events have label 1.",
        "The mean of the label over all events is the fraction of label-1 events.",
        "One aggregation: df.agg(F.avg('label')).first()[0].",
    ),
)
def _final_q1(signal_fraction: Any, *, df: Any) -> str:
    return signal_fraction_of(signal_fraction, df)


@exercise(
    "final.q2",
    "k parts of about equal size, the same on any partitioning: part_sizes",
    "part_sizes",
    df="df",
    split=Need("split_into_parts"),
    k=Need("k", optional=True),
    hints=(
        "Every event must land in exactly one part, and in the same part however the "
        "events are partitioned: its part can depend only on the event itself.",
        "A hash of the event's values does that: F.xxhash64(*df.columns) (with a seed "
        "column, F.lit(7), if you like); randomSplit and rand() do not.",
        "part = F.pmod(hash, F.lit(k)); count each part with one groupBy.",
    ),
)
def _final_q2(part_sizes: Any, *, df: Any, split: Any, k: Any = None) -> str:
    if not isinstance(part_sizes, (list, tuple)) or not part_sizes:
        raise NotYet("part_sizes should be the list of the parts' sizes")
    k = int(k) if k is not None else len(part_sizes)
    if len(part_sizes) != k:
        raise NotYet(f"part_sizes should be a list of the {k} parts' sizes")
    sizes = [int(number(s, "a part's size", low=0)) for s in part_sizes]
    n = df.count()
    if sum(sizes) != n:
        raise NotYet(
            f"the parts hold {sum(sizes):,} events in all and df {n:,}: every event must be "
            "in exactly one part"
        )
    sigma = math.sqrt(n * (1 / k) * (1 - 1 / k))
    if max(abs(s - n / k) for s in sizes) > 5 * sigma:
        raise NotYet("the parts are not of about equal size: give each part the same chance")
    if not callable(split):
        raise NotYet("split_into_parts should be your function split_into_parts(frame, k)")
    here = fingerprints(df, split(df, k), k)
    if sorted(count for count, _ in here.values()) != sorted(sizes):
        raise NotYet("part_sizes are not the sizes of the parts split_into_parts(df, k) makes")
    shuffled = partitioned_otherwise(df)
    if fingerprints(shuffled, split(shuffled, k), k) != here:
        raise NotYet(
            "split_into_parts gives other parts when the events are partitioned otherwise: "
            "let a hash of each event's values choose its part, not a random number"
        )
    return f"{k} parts of about equal size, every event in one, the same on any partitioning"


@exercise(
    "final.q3",
    "your classifier's test AUC: my_auc",
    "my_auc",
    model=Need("my_model", find=fitted_models()),
    test="test",
    hints=(
        "Any MLlib classifier (RandomForestClassifier, LogisticRegression...) or "
        "mlcourse.xgb_classifier: fit it on `train`.",
        "Score the test set: my_model.transform(test).",
        "mlcourse.classification_report(...) of those predictions gives the AUC and its error.",
    ),
)
def _final_q3(my_auc: Any, *, model: Any, test: Any) -> str:
    from mlcourse.course.checks.day2 import auc_on_test

    return auc_on_test(my_auc, "my_auc", model, test, None, "your classifier")


def _deepest_models(namespace: Any) -> list[Any]:
    return fitted_models(lambda m: callable(getattr(m, "getMaxDepth", None)))(namespace)


@exercise(
    "final.q4",
    "train and test AUC against depth: fit_table",
    "fit_table",
    model=Need("model", find=_deepest_models),
    train="train",
    test="test",
    hints=(
        "Train one GBT per depth (maxDepth = 1, 3, 5, ...) on `train`.",
        "For each, the AUC of its predictions on `train` and on `test`: mlcourse.roc_curve("
        "model.transform(...)).auc.",
        "fit_table.append((depth, train_auc, test_auc)), depths increasing; the last model "
        "is the deepest.",
    ),
)
def _final_q4(fit_table: Any, *, model: Any, train: Any, test: Any) -> str:
    rows = list(fit_table) if isinstance(fit_table, (list, tuple)) else None
    if not rows or any(not isinstance(r, (list, tuple)) or len(r) != 3 for r in rows):
        raise NotYet("fit_table should be a list of (depth, train AUC, test AUC)")
    depths = [r[0] for r in rows]
    if len(rows) < 3 or depths != sorted(set(depths)):
        raise NotYet("fit_table should hold three depths or more, in increasing order")
    for depth, train_auc, test_auc in rows:
        number(train_auc, f"the train AUC at depth {depth}", low=0.5, high=1.0)
        number(test_auc, f"the test AUC at depth {depth}", low=0.5, high=1.0)
    depth, train_auc, test_auc = rows[-1]
    if train_auc < test_auc:
        raise NotYet(
            "the deepest model scores better on the test set than on its own training "
            "events: are the train and test columns swapped?"
        )
    if model.getMaxDepth() != depth:
        raise NotYet(
            f"no model of depth {depth} to check the last row against: keep the deepest "
            "model in `model` (the loop's last)"
        )
    for name, frame, claimed in (("train", train, train_auc), ("test", test, test_auc)):
        if not is_auc_on(float(claimed), model, frame):
            raise NotYet(
                f"the {name} AUC at depth {depth} is not the deepest model's AUC on `{name}`: "
                "transform each set with the model and take the AUC"
            )
    return f"{len(rows)} depths, with their train and test AUC (the deepest recomputed)"


@exercise(
    "final.q5",
    "two hyper-parameters tuned by CrossValidator: tuned_auc",
    "tuned_auc",
    model=Need("cv_model", find=cross_validated_models),
    test="test",
    hints=(
        "ParamGridBuilder().addGrid(...) twice: two hyper-parameters, a few values each.",
        "CrossValidator(estimator=..., estimatorParamMaps=grid, evaluator="
        "BinaryClassificationEvaluator(), numFolds=3).fit(a subsample of train).",
        "Evaluate bestModel on the test set for tuned_auc.",
    ),
)
def _final_q5(tuned_auc: Any, *, model: Any, test: Any) -> str:
    from mlcourse.course.checks.day2 import auc_on_test

    cross_validated(model, None, 2)
    return auc_on_test(tuned_auc, "tuned_auc", model.bestModel, test, None, "the best model")


@exercise(
    "final.q6",
    "training times with 1 and 2 tasks: timings",
    "timings",
    hints=(
        "Put the training events into 1, then 2 partitions (repartition, cache, count).",
        "Time each fit on its own with time.perf_counter().",
        "timings[(name, tasks)] = seconds, for both models and both numbers of tasks.",
    ),
)
def _final_q6(timings_table: Any) -> str:
    if not isinstance(timings_table, dict):
        raise NotYet("timings should be a dict {(model, tasks): seconds}")
    names = {key[0] for key in timings_table if isinstance(key, tuple) and len(key) == 2}
    keys = [(name, tasks) for name in sorted(names) for tasks in (1, 2)]
    if len(names) < 2:
        raise NotYet("timings should hold two models, each with 1 and 2 tasks: {(model, tasks)}")
    timings(timings_table, "timings", keys)
    return f"{len(names)} models timed with 1 and 2 tasks"


register_working_point("final.q7", validation="my_val_predictions", test="my_predictions")
