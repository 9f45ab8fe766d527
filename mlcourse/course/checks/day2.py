"""The checks of Day 2: boosted trees (``day2_gbt``) and Spark's perceptron (``day2_mlp``)."""

from __future__ import annotations

from typing import Any

from mlcourse.course.checking import (
    AUC_TOLERANCE,
    Need,
    NotYet,
    auc_of,
    exercise,
    fitted_models,
    mapping,
    number,
    same_auc,
)
from mlcourse.course.checks.physics import register_working_point
from mlcourse.higgs import FEATURES, HIGH_LEVEL, LOW_LEVEL

__all__: list[str] = []  # the checks register themselves; mlcourse.course.checks is their face

_GROUPS = {len(HIGH_LEVEL): "high", len(LOW_LEVEL): "low", len(FEATURES): "all"}


def views_of_the_test_events(model: Any, test: Any, given: Any = None) -> list[Any]:
    """The test events as ``model`` reads them: ``given`` (the student's own view of the test
    set) when it has the model's feature column, else that column assembled from ``test``
    with the feature group of the model's width."""
    from mlcourse.analysis.features import assemble_features

    column = model.getFeaturesCol()
    views = [v for v in (given, test) if v is not None and column in v.columns]
    group = _GROUPS.get(getattr(model, "numFeatures", -1))
    if group is not None and column not in test.columns:
        views.append(assemble_features(test, group, output_col=column))
    return views


def is_auc_on(auc: float, model: Any, events: Any, given: Any = None) -> bool:
    """Whether ``auc`` is ``model``'s AUC on one of its views of ``events`` (see
    :func:`views_of_the_test_events`), within the checks' tolerance."""
    views = views_of_the_test_events(model, events, given)
    return any(abs(auc - auc_of(model, view)) <= AUC_TOLERANCE for view in views)


def auc_on_test(value: Any, name: str, model: Any, test: Any, given: Any, what: str) -> str:
    """Pass when ``value`` is ``model``'s AUC on one of its views of the test events."""
    auc = number(value, name, low=0.0, high=1.0)
    if not views_of_the_test_events(model, test, given):
        raise NotYet(
            f"the test set has no column {model.getFeaturesCol()!r} that the model reads: "
            "assemble the same features for the test set"
        )
    if not is_auc_on(auc, model, test, given):
        raise NotYet(
            f"{name} is not the AUC of {what} on the test events: transform the test set "
            "(not the training set) with the fitted model and take the AUC of the predictions"
        )
    if auc <= 0.5:
        raise NotYet(f"{name} is no better than a coin toss (0.5): did the model train?")
    return f"{name} {auc:.3f} is the test AUC of {what}"


def _takes(width: int) -> Any:
    return fitted_models(lambda m: getattr(m, "numFeatures", None) == width)


def cross_validated_models(namespace: Any) -> list[Any]:
    """A finder of the notebook's ``CrossValidatorModel`` objects."""
    from pyspark.ml.tuning import CrossValidatorModel

    return [m for m in fitted_models()(namespace) if isinstance(m, CrossValidatorModel)]


@exercise(
    "day2_gbt.ex1",
    "a GBT on the 7 high-level features: auc_high",
    "auc_high",
    model=Need("model_high", find=_takes(len(HIGH_LEVEL))),
    test="test",
    test_high=Need("test_high", optional=True),
    hints=(
        "The same classifier, but its features vector holds only the 7 high-level features.",
        "mlcourse.assemble_features(train, 'high', output_col='high') builds that vector; "
        "the classifier reads it with featuresCol='high'. The test set needs it too.",
        "Fit on the training set, transform the test set, and take the report's AUC: "
        "mlcourse.classification_report(model_high.transform(test_high)).auc.",
    ),
)
def _day2_gbt_ex1(auc_high: Any, *, model: Any, test: Any, test_high: Any = None) -> str:
    n = getattr(model, "numFeatures", None)
    if n != len(HIGH_LEVEL):
        raise NotYet(
            f"the model takes {n} features; train it on the 7 high-level ones "
            "(assemble_features(..., 'high', output_col='high'), featuresCol='high')"
        )
    return auc_on_test(auc_high, "auc_high", model, test, test_high, "the high-level GBT")


def cross_validated(cv_model: Any, folds: int | None, params: int) -> None:
    """NotYet unless ``cv_model`` is a cross-validation of ``folds`` folds over a grid of at
    least ``params`` hyper-parameters."""
    from pyspark.ml.tuning import CrossValidatorModel

    if not isinstance(cv_model, CrossValidatorModel):
        raise NotYet(
            f"the model should be what CrossValidator.fit returns, not a {type(cv_model).__name__}"
        )
    if folds is not None and cv_model.getNumFolds() != folds:
        raise NotYet(f"the cross-validation has {cv_model.getNumFolds()} folds, not {folds}")
    grid = cv_model.getEstimatorParamMaps()
    if len(grid) < 2 or min(len(p) for p in grid) < params:
        raise NotYet(
            f"the grid should try several values of {params} hyper-parameter(s) "
            "(ParamGridBuilder().addGrid(...))"
        )


@exercise(
    "day2_gbt.ex2",
    "3-fold cross-validation: cv_auc on the test set",
    "cv_auc",
    model=Need("cv_model", find=cross_validated_models),
    test="test",
    hints=(
        "CrossValidator takes the same estimator, grid and evaluator as TrainValidationSplit.",
        "numFolds=3; fit it on the same sample; its bestModel is refitted on all of it.",
        "Evaluate bestModel on the test set: "
        "evaluator.evaluate(cv_model.bestModel.transform(test)).",
    ),
)
def _day2_gbt_ex2(cv_auc: Any, *, model: Any, test: Any) -> str:
    cross_validated(model, 3, 1)
    return same_auc(cv_auc, "cv_auc", model.bestModel, test, "the best model")


#: The network Day 2's notebook trains before the exercise.
_REFERENCE_LAYERS = [28, 30, 30, 2]


def _perceptron(value: Any) -> Any:
    from pyspark.ml.classification import MultilayerPerceptronClassificationModel

    model = value[0] if isinstance(value, (tuple, list)) and value else value
    if not isinstance(model, MultilayerPerceptronClassificationModel):
        raise NotYet(
            "each value of architectures should be the fitted network (what .fit returns), "
            f"not a {type(model).__name__}: the check computes its AUC itself"
        )
    return model


@exercise(
    "day2_mlp.ex1",
    "two other architectures: architectures",
    "architectures",
    test="test",
    hints=(
        "A network is its list of layer sizes: the inputs, the hidden layers, the 2 outputs.",
        "Train MultilayerPerceptronClassifier(layers=sizes, maxIter=100, blockSize=128, "
        "seed=1) for a wider and a deeper list than 28-30-30-2.",
        "Store each fitted model under its layers as a string: architectures['28-60-2'] = "
        "model; print each one's test AUC with its error (mlcourse.roc_curve).",
    ),
)
def _day2_mlp_ex1(architectures: Any, *, test: Any) -> str:
    from mlcourse.analysis.metrics import roc_curve

    table = mapping(architectures, "architectures")
    if len(table) < 2:
        raise NotYet("architectures should hold (at least) two networks")
    lines = []
    for key, value in table.items():
        model = _perceptron(value)
        layers = [int(n) for n in model.getLayers()]
        name = "-".join(map(str, layers))
        if str(key).replace(" ", "") != name:
            raise NotYet(f"{key!r} holds a network of layers {name}: name each by its layers")
        if layers == _REFERENCE_LAYERS:
            raise NotYet(f"{name} is the network above: try other architectures")
        if layers[0] != len(FEATURES) or layers[-1] != 2 or len(layers) < 3:
            raise NotYet(f"{name}: a network here takes {len(FEATURES)} inputs and has 2 outputs")
        roc = roc_curve(model.transform(test))
        if not roc.auc - 3 * roc.auc_error > 0.5:
            raise NotYet(f"{name} is no better than a coin toss on the test set: did it train?")
        if isinstance(value, (tuple, list)) and len(value) > 1:
            claimed = number(value[1], f"the AUC of {name}", low=0.0, high=1.0)
            if abs(claimed - roc.auc) > AUC_TOLERANCE:
                raise NotYet(f"the AUC stored for {name} is not its test AUC")
        lines.append(f"{name} AUC {roc.auc:.3f} ± {roc.auc_error:.3f}")
    return f"{len(table)} other architectures, each trained: " + ", ".join(lines)


register_working_point("day2_gbt.ex3", validation="val_predictions", test="predictions")


@exercise(
    "day2_gbt.ex4",
    "over-training judged: auc_gap, auc_gap_error, overtraining_differs",
    "auc_gap",
    model=Need("deep_model", find=_takes(len(FEATURES))),
    train="deep_train",
    test="test",
    gap_error="auc_gap_error",
    differs="overtraining_differs",
    hints=(
        "The gap is the model's AUC on the events it trained on minus its AUC on test events.",
        "classification_report(deep_model.transform(deep_train)) and the same for test give "
        "both AUCs and their errors; the training and test events are different events, so "
        "the gap's error is the two errors in quadrature.",
        "overtraining_differs = abs(auc_gap) >= 3 * auc_gap_error.",
    ),
)
def _day2_gbt_ex4(
    auc_gap: Any, *, model: Any, train: Any, test: Any, gap_error: Any, differs: Any
) -> str:
    import math

    from mlcourse.analysis.metrics import roc_curve

    gap = number(auc_gap, "auc_gap", low=-1.0, high=1.0)
    error = number(gap_error, "auc_gap_error", low=0.0, high=1.0)
    if not isinstance(differs, bool) and type(differs).__name__ != "bool_":
        raise NotYet("overtraining_differs should be True or False")
    on_train, on_test = roc_curve(model.transform(train)), roc_curve(model.transform(test))
    want = on_train.auc - on_test.auc
    if abs(gap - want) > 2 * AUC_TOLERANCE:
        if abs(gap + want) <= 2 * AUC_TOLERANCE:
            raise NotYet("auc_gap has the wrong sign: the training AUC minus the test AUC")
        raise NotYet(
            "auc_gap is not deep_model's AUC on deep_train minus its AUC on test: score both "
            "with the fitted model and take each report's AUC"
        )
    want_error = math.hypot(on_train.auc_error, on_test.auc_error)
    if not math.isclose(error, want_error, rel_tol=0.1):
        raise NotYet(
            "auc_gap_error is not the two AUCs' errors added in quadrature (the training and "
            "the test events are different events)"
        )
    if bool(differs) != (abs(gap) >= 3 * error):
        raise NotYet(
            "overtraining_differs should say whether the gap is at least 3 times its error"
        )
    if model.getMaxDepth() < 8:
        raise NotYet("train deep_model with maxDepth=8, deep enough to memorise 2,000 events")
    return f"gap {gap:+.3f} ± {error:.3f}: " + (
        "differs beyond statistics" if differs else "no significant difference"
    )


def _feature_table(value: Any, name: str) -> dict[str, float]:
    table = mapping(value, name, list(FEATURES))
    return {f: number(table[f], f"{name}[{f!r}]") for f in FEATURES}


@exercise(
    "day2_mlp.ex2",
    "the scaling written out: means, stds and scaled_test",
    "scaled_test",
    means="means",
    stds="stds",
    train="train",
    test="test",
    hints=(
        "One aggregation of train gives all 56 numbers: train.agg(*[F.mean(f) ...], "
        "*[F.stddev(f) ...]).first().",
        "means and stds are dicts by feature name; the numbers come from the training events.",
        "scaled_test = test.withColumns({f: (F.col(f) - means[f]) / stds[f] for f in FEATURES}).",
    ),
)
def _day2_mlp_ex2(scaled_test: Any, *, means: Any, stds: Any, train: Any, test: Any) -> str:
    import math

    from pyspark.sql import functions as F

    mean_of, std_of = _feature_table(means, "means"), _feature_table(stds, "stds")

    def moments(frame: Any) -> tuple[dict[str, float], dict[str, float]]:
        row = frame.agg(
            *[F.mean(f).alias(f"m{i}") for i, f in enumerate(FEATURES)],
            *[F.stddev(f).alias(f"s{i}") for i, f in enumerate(FEATURES)],
        ).first()
        return (
            {f: float(row[f"m{i}"]) for i, f in enumerate(FEATURES)},
            {f: float(row[f"s{i}"]) for i, f in enumerate(FEATURES)},
        )

    train_mean, train_std = moments(train)

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)

    for f in FEATURES:
        if not (close(mean_of[f], train_mean[f]) and close(std_of[f], train_std[f])):
            test_mean, _ = moments(test)
            if close(mean_of[f], test_mean[f]):
                raise NotYet(
                    "means come from the test events: the scaling is fitted on the training "
                    "events only"
                )
            raise NotYet(
                f"means[{f!r}] or stds[{f!r}] is not the mean or sample standard deviation of "
                f"{f} in train (F.mean, F.stddev)"
            )
    columns = getattr(scaled_test, "columns", None)
    if not isinstance(columns, list) or not set(FEATURES) <= set(columns):
        raise NotYet("scaled_test should be `test` with its 28 feature columns scaled")
    if scaled_test.count() != test.count():
        raise NotYet("scaled_test should hold every test event")
    got, _ = moments(scaled_test)
    test_mean, _ = moments(test)
    for f in FEATURES:
        want = (test_mean[f] - train_mean[f]) / train_std[f]
        if not math.isclose(got[f], want, rel_tol=1e-6, abs_tol=1e-7):
            raise NotYet(
                f"the column {f} of scaled_test is not (x - means[{f!r}]) / stds[{f!r}] of the "
                "test events"
            )
    return "the 28 features scaled with the training set's mean and standard deviation"
