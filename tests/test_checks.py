"""Exercise checks, judged as a class would answer: for every check, correct answers computed
in different ways pass and plausible wrong ones (a swapped label, train instead of test,
background for signal, made-up numbers, the wrong split) fail with a message that does not
give the right value away; and the names a check reads are found as students name them."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest

import mlcourse
from mlcourse import physics
from mlcourse.course.checking import evaluate_in
from mlcourse.course.checks import EXERCISES, evaluate

from .conftest import best_round

matplotlib.use("Agg")


def forms(value: float) -> list[str]:
    """How a right value could appear in a message."""
    return [f"{value:.2f}", f"{value:.3f}", f"{value:.4f}", repr(value), f"{value:.1%}"]


def assert_right(exercise: str, answer, **context) -> None:
    result = evaluate(exercise, answer, **context)
    assert result.passed, result.message
    assert str(result).startswith(f"{exercise}: passed: ")


def assert_wrong(exercise: str, answer, *, hides=(), says: str = "", **context) -> str:
    result = evaluate(exercise, answer, **context)
    assert not result.passed, result.message
    assert str(result).startswith(f"{exercise}: not yet: ")
    assert says in result.message, result.message
    for value in hides:
        for form in forms(value):
            assert form not in result.message, (form, result.message)
    return result.message


def assert_found(exercise: str, namespace: dict, *, passed: bool = True, says: str = "") -> None:
    """The notebook form: the answer and the context found among ``namespace``'s names."""
    result = evaluate_in(exercise, namespace)
    assert result.passed is passed, result.message
    assert says in result.message


@pytest.fixture(scope="module")
def events(higgs):
    df, frame = higgs
    return df, frame


@pytest.fixture(scope="module")
def split(events):
    df, _ = events
    train, test = mlcourse.train_test_split(df, 0.3, seed=1)
    return mlcourse.assemble_features(train).cache(), mlcourse.assemble_features(test).cache()


def test_every_exercise_has_a_title_hints_and_unknown_ones_are_named(capsys):
    assert {"day1.ex1", "day2_gbt.ex2", "day3.ex1", "day4.ex2", "final.q6"} <= set(EXERCISES)
    assert all(EXERCISES.values())
    with pytest.raises(KeyError, match="no exercise 'day1.ex9'; the exercises are"):
        evaluate("day1.ex9", 1)
    for _ in range(4):
        mlcourse.hint("final.q2")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == [
        f"final.q2, hint {i} of 3" for i in (1, 2, 3)
    ]
    assert lines[3].startswith("final.q2: all 3 hints given")


def test_check_prints_one_line_with_the_attempts(events, capsys):
    df, frame = events
    mlcourse.check("day1.ex1", "half", df=df)
    mlcourse.check("day1.ex1", float(frame["label"].mean()), df=df)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("day1.ex1: not yet: signal_fraction should be a number, not a str")
    assert lines[1].startswith("day1.ex1: passed: signal_fraction is the fraction of signal")
    assert re.search(r" \[attempt ([2-9]|\d\d+), 0 hints\]$", lines[1]), lines[1]


def test_the_notebook_form_reads_the_notebook_variables(events, capsys):
    """mlcourse.check("day1.ex1") alone, as the notebooks' cells are: the answer and the
    DataFrame from the caller's variables; before the exercise, what is missing."""
    df, frame = events
    code = compile('mlcourse.check("day1.ex1")', "<cell>", "exec")
    exec(code, {"mlcourse": mlcourse, "df": df})
    exec(code, {"mlcourse": mlcourse, "df": df, "signal_fraction": float(frame["label"].mean())})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("day1.ex1: not yet: no `signal_fraction` yet: do the exercise")
    assert out[1].startswith("day1.ex1: passed: signal_fraction is the fraction of signal")


def test_an_answer_the_check_cannot_read_fails_without_raising():
    result = evaluate("day1.ex3", ("m_bb", "m_wbb"), df=None)
    assert not result.passed
    assert result.message.startswith("could not check this answer (AttributeError")


# --------------------------------------------------------------------------- Day 1


@pytest.mark.parametrize("exercise", ["day1.ex1", "final.q1"])
def test_signal_fraction(events, split, exercise):
    from pyspark.sql import functions as F

    df, frame = events
    right = float(frame["label"].mean())
    assert_right(exercise, right, df=df)
    by_spark = df.where(F.col("label") == 1).count() / df.count()  # another way
    assert_right(exercise, by_spark, df=df)
    assert_wrong(exercise, 1 - right, df=df, hides=[right], says="fraction of background")
    on_train = split[0].agg(F.avg("label")).first()[0]  # the training part only
    assert_wrong(exercise, on_train, df=df, hides=[right], says="whole DataFrame")
    assert_wrong(exercise, 1.5, df=df, says="between 0 and 1")


def test_day1_side_by_side_histograms(events):
    import matplotlib.pyplot as plt

    df, frame = events
    fig, axes = plt.subplots(1, 2)
    for name, ax in zip(["lepton_pT", "m_wbb"], axes, strict=True):
        mlcourse.plot_signal_vs_background(df, name, ax=ax, density=True, bins=20)
    assert_right("day1.ex2", fig)
    mine, axes = plt.subplots(1, 2)  # matplotlib's own hist on the pandas frame
    for name, ax in zip(["lepton_pT", "m_wbb"], axes, strict=True):
        for label in (0, 1):
            ax.hist(frame.loc[frame.label == label, name], bins=30, density=True, histtype="step")
        ax.set_xlabel(name)
    assert_right("day1.ex2", mine)
    # the student named it `comparison`; `fig` is an earlier, other plot
    other, ax = plt.subplots()
    mlcourse.plot_signal_vs_background(df, "m_bb", ax=ax)
    assert_found("day1.ex2", {"fig": other, "comparison": mine, "axes": axes})
    counts, axes = plt.subplots(1, 2)
    for name, ax in zip(["lepton_pT", "m_wbb"], axes, strict=True):
        mlcourse.plot_signal_vs_background(df, name, ax=ax, bins=20)
    assert_wrong("day1.ex2", counts, says="density=True")
    one, ax = plt.subplots()
    mlcourse.plot_signal_vs_background(df, "m_wbb", ax=ax, density=True, bins=20)
    assert_wrong("day1.ex2", one, says="no plot of lepton_pT")
    assert_found("day1.ex2", {"fig": other, "counts": counts}, passed=False)
    plt.close("all")


def test_day1_most_correlated_pair(events):
    df, frame = events
    names = list(mlcourse.higgs.FEATURES)
    matrix = np.abs(np.corrcoef(frame[names].to_numpy(), rowvar=False) - np.eye(len(names)))
    i, j = np.unravel_index(np.argmax(matrix), matrix.shape)
    assert_right("day1.ex3", (names[i], names[j]), df=df)
    assert_right("day1.ex3", [names[j], names[i]], df=df)  # the other order, as a list
    k = int(np.argsort(matrix[i])[-2])  # the second-best partner of names[i]
    message = assert_wrong("day1.ex3", (names[i], names[k]), df=df, says="another pair")
    assert names[j] not in message
    assert_wrong("day1.ex3", (names[i], names[i]), df=df, says="two different features")
    assert_wrong("day1.ex3", ("m_bb", "higgs_mass"), df=df, says="not a feature")


def test_day1_mbb_from_the_tagged_jets(events):
    _, frame = events
    sample = physics.physical(frame.head(2_000))
    mine = physics.m_bb(sample)
    two = ~np.isnan(mine)
    m_bb = sample["m_bb"].to_numpy()
    right = float((np.abs(mine[two] / m_bb[two] - 1) < 0.01).mean())
    assert_right("day1.ex4", right, sample=sample)
    # the notebook's way: every pair of jets, kept where both are tagged
    jets = physics.jets(sample)
    tagged = np.column_stack([sample[f"jet{k}_b-tag"].to_numpy() > 0 for k in range(1, 5)])
    exactly_two = tagged.sum(axis=1) == 2
    pairs = np.full(len(sample), np.nan)
    for a in range(4):
        for b in range(a + 1, 4):
            both = exactly_two & tagged[:, a] & tagged[:, b]
            pairs = np.where(both, (jets[a] + jets[b]).mass, pairs)
    by_pairs = float((np.abs(pairs[exactly_two] / m_bb[exactly_two] - 1) < 0.01).mean())
    assert_right("day1.ex4", by_pairs, sample=sample)
    # common slips: any two jets (the first two) instead of the tagged pair; all events
    first_two = (jets[0] + jets[1]).mass
    wrong = float((np.abs(first_two[two] / m_bb[two] - 1) < 0.01).mean())
    assert_wrong("day1.ex4", wrong, sample=sample, hides=[right], says="two tagged jets")
    over_all = float(np.nan_to_num(np.abs(mine / m_bb - 1) < 0.01).mean())
    assert_wrong("day1.ex4", over_all, sample=sample, hides=[right], says="exactly two")


# --------------------------------------------------------------------------- Day 1b


@pytest.fixture(scope="module")
def parquet_events(events, spark, tmp_path_factory):
    """The events as Day 1b reads them: from Parquet (a cached or one-partition DataFrame
    may need no shuffle where a file scan does)."""
    path = str(tmp_path_factory.mktemp("day1b") / "events.parquet")
    events[0].write.parquet(path)
    return spark.read.parquet(path)


def test_day1b_which_queries_shuffle(parquet_events, spark):
    df = parquet_events
    kinds = spark.createDataFrame([(0.0, "background"), (1.0, "signal")], ["label", "kind"])
    queries = {
        "filter": df.where("m_bb > 1.5"),
        "groupBy": df.groupBy("label").count(),
        "join": df.join(kinds.hint("shuffle_merge"), "label"),
        "broadcast join": df.join(kinds.hint("broadcast"), "label"),
    }
    right = {"filter": False, "groupBy": True, "join": True, "broadcast join": False}
    assert_right("day1b.ex1", right, queries=queries)
    # another way: the executed plan's tree, from the JVM, searched for a ShuffleExchange
    by_tree = {
        name: "ShuffleExchange" in q._jdf.queryExecution().executedPlan().getClass().getName()
        or "Exchange hashpartitioning" in q._jdf.queryExecution().executedPlan().toString()
        for name, q in queries.items()
    }
    assert_right("day1b.ex1", by_tree, queries=queries)
    # a BroadcastExchange taken for a shuffle: one answer wrong, neither named nor counted
    message = assert_wrong(
        "day1b.ex1", {**right, "broadcast join": True}, says="not every", queries=queries
    )
    assert "broadcast join" not in message and "1 of" not in message
    assert_wrong("day1b.ex1", dict.fromkeys(right, True), says="not every", queries=queries)
    assert_wrong("day1b.ex1", {"filter": False}, says="exactly the keys", queries=queries)


def test_day1b_stages_of_a_sort(parquet_events):
    """Recomputed from Spark's status tracker (the tests' session has no UI): the range
    bounds' sample, the map side and the result; the skipped stage is not counted."""
    df = parquet_events
    assert_right("day1b.ex2", 3, df=df)
    assert_right("day1b.ex2", 3.0, df=df)
    assert_wrong("day1b.ex2", 4, says="SKIPPED", df=df)  # the skipped stage counted
    assert_wrong("day1b.ex2", 1, says="SKIPPED", df=df)  # one job's stages only


def test_day1b_partitions(events):
    df, _ = events
    right = {
        "repartition(8)": 8,
        "repartition(8).coalesce(3)": 3,
        "coalesce(3).repartition(8)": 8,
    }
    assert_right("day1b.ex3", right, df=df)
    assert_right("day1b.ex3", {k: float(v) for k, v in right.items()}, df=df)
    for key, wrong in (("coalesce(3).repartition(8)", 3), ("repartition(8).coalesce(3)", 8)):
        message = assert_wrong("day1b.ex3", {**right, key: wrong}, says="not every", df=df)
        assert "1 of" not in message


# --------------------------------------------------------------------------- Day 2


def test_day2_high_level_model(split, gbt):
    from pyspark.ml.classification import LogisticRegression  # the check takes any classifier
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    train, test = split
    train_high = mlcourse.assemble_features(train, "high", output_col="high")
    test_high = mlcourse.assemble_features(test, "high", output_col="high")
    model = LogisticRegression(featuresCol="high", maxIter=10).fit(train_high)
    right = mlcourse.classification_report(model.transform(test_high)).auc
    assert_right("day2_gbt.ex1", right, model=model, test=test, test_high=test_high)
    exact = BinaryClassificationEvaluator().evaluate(model.transform(test_high))
    assert_right("day2_gbt.ex1", exact, model=model, test=test)  # test_high made by the check
    # the student's own names: `high_model`, no test_high kept
    assert_found("day2_gbt.ex1", {"auc_high": right, "high_model": model, "test": test})
    on_train = mlcourse.roc_curve(model.transform(train_high)).auc
    assert abs(on_train - right) > 2e-3
    assert_wrong("day2_gbt.ex1", on_train, model=model, test=test, hides=[right], says="test set")
    assert_wrong("day2_gbt.ex1", round(right, 2) + 0.01, model=model, test=test, hides=[right])
    assert_wrong("day2_gbt.ex1", 0.7, model=gbt[0], test=test, says="7 high-level")


@pytest.fixture(scope="module")
def cross_validated(split):
    """A 3-fold search over two hyper-parameters (logistic regression: fast), and the
    same model saying it had 2 folds."""
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.tuning import CrossValidator, CrossValidatorModel, ParamGridBuilder

    train, _ = split
    lr = LogisticRegression(maxIter=5)
    grid = ParamGridBuilder().addGrid(lr.regParam, [0.0, 0.1]).addGrid(lr.fitIntercept, [True])
    sample = train.limit(2_000).cache()
    cv = CrossValidator(
        estimator=lr, estimatorParamMaps=grid.build(), evaluator=BinaryClassificationEvaluator()
    )
    three = cv.setNumFolds(3).fit(sample)
    two = CrossValidatorModel(three.bestModel, list(three.avgMetrics))  # as if of 2 folds
    two.set(two.estimatorParamMaps, three.getEstimatorParamMaps())
    two.set(two.numFolds, 2)
    yield three, two
    sample.unpersist()


def test_day2_cross_validation(cross_validated, split):
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    three, two = cross_validated
    train, test = split
    right = BinaryClassificationEvaluator().evaluate(three.bestModel.transform(test))
    assert_right("day2_gbt.ex2", right, model=three, test=test)
    report = mlcourse.classification_report(three.bestModel.transform(test))
    assert_right("day2_gbt.ex2", report.auc, model=three, test=test)
    assert_found("day2_gbt.ex2", {"cv_auc": right, "search": three, "test": test})
    # a slip: the area under the precision-recall curve; the training events
    pr = BinaryClassificationEvaluator(metricName="areaUnderPR")
    wrong = pr.evaluate(three.bestModel.transform(test))
    assert abs(wrong - right) > 2e-3
    assert_wrong("day2_gbt.ex2", wrong, model=three, test=test, hides=[right])
    on_train = BinaryClassificationEvaluator().evaluate(three.bestModel.transform(train))
    assert_wrong("day2_gbt.ex2", on_train, model=three, test=test, hides=[right])
    assert_wrong("day2_gbt.ex2", right, model=two, test=test, says="2 folds, not 3")
    # the final hands-on's question 5 asks for two hyper-parameters: these are two
    assert_right("final.q5", right, model=three, test=test)
    assert_found("final.q5", {"tuned_auc": report.auc, "tuned": three, "test": test})
    assert_wrong("final.q5", on_train, model=three, test=test, hides=[right])
    assert_wrong("final.q5", wrong, model=three, test=test, hides=[right])  # the PR area


@pytest.fixture(scope="module")
def perceptrons(split):
    from pyspark.ml.classification import MultilayerPerceptronClassifier

    train, _ = split
    small = train.limit(3_000).cache()
    fitted = {
        "28-12-2": MultilayerPerceptronClassifier(layers=[28, 12, 2], maxIter=30, seed=1),
        "28-8-8-2": MultilayerPerceptronClassifier(layers=[28, 8, 8, 2], maxIter=30, seed=1),
    }
    yield {name: estimator.fit(small) for name, estimator in fitted.items()}
    small.unpersist()


def test_day2_architectures(perceptrons, split):
    _, test = split
    assert_right("day2_mlp.ex1", perceptrons, test=test)
    aucs = {k: mlcourse.roc_curve(m.transform(test)).auc for k, m in perceptrons.items()}
    assert_right("day2_mlp.ex1", {k: (m, aucs[k]) for k, m in perceptrons.items()}, test=test)
    made_up = {"28-60-2": 0.71, "28-30-30-30-2": 0.70}  # numbers alone: nothing to check
    assert_wrong("day2_mlp.ex1", made_up, test=test, says="fitted network")
    swapped = dict(zip(perceptrons, reversed(perceptrons.values()), strict=True))
    assert_wrong("day2_mlp.ex1", swapped, test=test, says="name each by its layers")
    one = dict(list(perceptrons.items())[:1])
    assert_wrong("day2_mlp.ex1", one, test=test, says="two networks")
    claimed = {k: (m, aucs[k] + 0.05) for k, m in perceptrons.items()}
    assert_wrong("day2_mlp.ex1", claimed, test=test, says="not its test AUC")


# --------------------------------------------------------------------------- Day 3


@pytest.fixture(scope="module")
def scored(split, gbt):
    """Reports of several classifiers on the test events (distinct AUCs), one on train."""
    from pyspark.ml.classification import LogisticRegression

    train, test = split
    found = {}
    for group in ("low", "high", "all"):
        for reg in (0.0, 0.3):
            column = f"x_{group}"
            model = LogisticRegression(featuresCol=column, regParam=reg, maxIter=10).fit(
                mlcourse.assemble_features(train, group, output_col=column)
            )
            view = mlcourse.assemble_features(test, group, output_col=column)
            found[group, reg] = mlcourse.classification_report(model.transform(view))
    on_train = mlcourse.classification_report(gbt[0].transform(train))
    return found, on_train


def test_day3_seeds(scored, split):
    _, test = split
    found, on_train = scored
    keys = [("all", 0.0), ("high", 0.0), ("low", 0.0), ("all", 0.3), ("high", 0.3)]
    reports = [found[key] for key in keys]
    everything = {"reports": reports}
    right = {seed: r.auc for seed, r in zip(range(1, 6), reports, strict=True)}
    assert_right("day3.ex2", right, test=test, found=reports)
    six = {**right, 6: found["low", 0.3].auc}
    assert_found("day3.ex2", {**everything, "more": found["low", 0.3], "auc_by_seed": six,
                              "test": test})  # fmt: skip
    assert_wrong("day3.ex2", {s: 0.7 + s / 100 for s in range(1, 6)}, test=test, found=reports,
                 says="not the AUC of any report")  # fmt: skip
    assert_wrong("day3.ex2", dict.fromkeys(range(1, 6), right[1]), test=test, found=reports,
                 says="set_random_seed")  # fmt: skip
    trained = {**right, 1: on_train.auc}  # one scored on its training events
    assert_wrong("day3.ex2", trained, test=test, found=[*reports, on_train], says="auc_by_seed[1]")
    three = {s: right[s] for s in (1, 2, 3)}  # a spread from three seeds is itself too uncertain
    assert_wrong("day3.ex2", three, test=test, found=reports, says="five seeds")


def test_day3_groups(scored, split):
    _, test = split
    found, on_train = scored
    right = {(d, g): found[g, reg] for d, reg in (("shallow", 0.0), ("deep", 0.3))
             for g in ("low", "high", "all")}  # fmt: skip
    assert_right("day3.ex3", right, test=test)
    rocs = {k: r.roc for k, r in right.items()}  # the ROC curves instead of the reports
    assert_right("day3.ex3", rocs, test=test)
    made_up = {k: r.auc for k, r in right.items()}
    assert_wrong("day3.ex3", made_up, test=test, says="classification_report")
    with_train = {**right, ("deep", "all"): on_train}
    assert_wrong("day3.ex3", with_train, test=test, says="not counted on the test events")
    twice = {**right, ("deep", "low"): right["shallow", "low"]}
    assert_wrong("day3.ex3", twice, test=test, says="the same network")
    assert_wrong("day3.ex3", {("deep", "all"): on_train}, test=test, says="exactly the keys")


def test_day3_sizes(scored, split):
    _, test = split
    found, _ = scored
    reports = list(found.values())
    low, high, full = found["low", 0.0], found["high", 0.0], found["all", 0.0]
    right = {2_000: low.auc, 5_000: high.auc, 64_000: full.auc}
    assert_right("day3.ex4", right, test=test, found=reports)
    assert_found("day3.ex4", {"auc_by_size": right, "size_reports": reports, "test": test})
    made_up = {2_000: 0.6, 5_000: 0.6, 80_000: 0.6}
    assert_wrong("day3.ex4", made_up, test=test, found=reports, says="not the AUC of any")
    backwards = {2_000: full.auc, 5_000: high.auc, 64_000: low.auc}
    assert full.auc - low.auc > 3 * np.hypot(full.auc_error, low.auc_error)
    assert_wrong("day3.ex4", backwards, test=test, found=reports, says="paired right")
    assert_wrong("day3.ex4", {2_000: low.auc, 64_000: full.auc}, test=test, found=reports,
                 says="2,000, 5,000")  # fmt: skip


@pytest.fixture(scope="module")
def networks(split):
    """Two correct networks (adapted Normalization, early stopping), one whose Normalization
    was never adapted, and one trained without early stopping."""
    import keras

    train, _ = split
    arrays = mlcourse.to_arrays(train, events=6_000, validation=0.25, seed=3)
    width = arrays.x_train.shape[1]

    def network(normalization):
        keras.utils.set_random_seed(1)
        inputs = keras.Input(shape=(width,))
        hidden = keras.layers.Dense(32, activation="relu")(normalization(inputs))
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["auc"])
        return model

    def fit(model, callbacks):
        return model.fit(
            arrays.x_train, arrays.y_train, validation_data=(arrays.x_val, arrays.y_val),
            epochs=4, batch_size=128, callbacks=callbacks, verbose=0,
        )  # fmt: skip

    built = {}
    adapted = keras.layers.Normalization()
    adapted.adapt(arrays.x_train)
    given = keras.layers.Normalization(  # the student's own numpy mean and variance
        mean=arrays.x_train.mean(axis=0), variance=arrays.x_train.var(axis=0)
    )
    for name, normalization, early in (
        ("adapted", adapted, True),
        ("given", given, True),
        ("unadapted", keras.layers.Normalization(), True),
        ("no stopping", keras.layers.Normalization(), False),
    ):
        if name == "no stopping":
            normalization.adapt(arrays.x_train)
        model = network(normalization)
        stop = keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=2)
        history = fit(model, [stop] if early else [])
        built[name] = (model, history, stop if early else None)
    return arrays, built


def test_day3_network(networks):
    arrays, built = networks
    for name in ("adapted", "given"):
        model, history, stop = built[name]
        assert_right("day3.ex1", model, arrays=arrays, history=history, callbacks=stop)
    model, history, stop = built["adapted"]
    assert_found(
        "day3.ex1",
        {"model": model, "arrays": arrays, "fitted": history, "early_stop": stop},
    )
    model, history, stop = built["unadapted"]
    assert_wrong("day3.ex1", model, arrays=arrays, history=history, callbacks=stop,
                 says="adapt")  # fmt: skip
    model, history, _ = built["no stopping"]
    stop = built["adapted"][2]  # a callback defined, but not passed to this fit
    assert_wrong("day3.ex1", model, arrays=arrays, history=history, callbacks=stop,
                 says="early stopping")  # fmt: skip


# --------------------------------------------------------------------------- Day 4 and final


def test_day4_timings():
    assert_right("day4.ex3", {1: 3.0, 2: 2.0}, slots=2, times_by_executors={1: 4.0}, cores=1)
    assert_right("day4.ex3", {1: 3.1, 2: 2.4, 3: 2.2}, slots=3)
    assert_wrong("day4.ex3", {1: 3.0}, slots=2, says="exactly the keys 1, 2")
    assert_wrong("day4.ex3", {1: 3.0, 2: -1.0}, slots=2, says="times_by_workers[2]")
    assert_wrong("day4.ex3", {1: 2.0, 2: 2.0}, slots=2, says="all equal")


def hashed_parts(frame, k):
    from pyspark.sql import functions as F

    return frame.withColumn("part", F.pmod(F.xxhash64(F.lit(7), *frame.columns), F.lit(k)))


def parts_by_filters(frame, k):
    """Another correct way: k DataFrames, a hash of the values deciding."""
    from pyspark.sql import functions as F

    bucket = F.abs(F.hash(*frame.columns)) % k
    return [frame.where(bucket == i) for i in range(k)]


def random_parts(frame, k):
    return frame.randomSplit([1.0] * k, seed=3)


def random_column(frame, k):
    from pyspark.sql import functions as F

    return frame.withColumn("part", (F.rand(5) * k).cast("int"))


def sizes_of(parts) -> list[int]:
    """The sizes of k parts: a list of DataFrames, or one with a column `part`."""
    if isinstance(parts, list):
        return [p.count() for p in parts]
    counted = {r["part"]: r["count"] for r in parts.groupBy("part").count().collect()}
    return [counted.get(i, 0) for i in range(5)]


def test_final_parts(events):
    df, frame = events
    n = len(frame)
    for split in (hashed_parts, parts_by_filters):
        sizes = sizes_of(split(df, 5))
        assert_right("final.q2", sizes, df=df, split=split, k=5)
    assert_found(
        "final.q2",
        {"part_sizes": sizes, "df": df, "split_into_parts": parts_by_filters},
    )
    for split in (random_parts, random_column):  # the parts move with the partitioning
        sizes = sizes_of(split(df, 5))
        assert_wrong("final.q2", sizes, df=df, split=split, k=5, says="partitioned otherwise")
    assert_wrong("final.q2", [n // 5] * 5 + [0], df=df, split=hashed_parts, k=5, says="5 parts")
    assert_wrong("final.q2", [n // 5 - 1] * 5, df=df, split=hashed_parts, says="exactly one part")
    assert_wrong("final.q2", [0, 0, 0, n // 2, n - n // 2], df=df, split=hashed_parts,
                 says="equal size")  # fmt: skip
    fair = [n // 5] * 4 + [n - 4 * (n // 5)]  # about right, but not what the function makes
    assert_wrong("final.q2", fair, df=df, split=hashed_parts, says="not the sizes")


def test_final_classifier_auc(gbt, split):
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    model, predictions = gbt
    train, test = split
    right = mlcourse.roc_curve(predictions).auc
    assert_right("final.q3", right, model=model, test=test)
    assert_right("final.q3", BinaryClassificationEvaluator().evaluate(predictions),
                 model=model, test=test)  # fmt: skip
    assert_found("final.q3", {"my_auc": right, "forest": model, "test": test})
    assert_wrong("final.q3", right + 0.01, model=model, test=test, hides=[right])
    on_train = mlcourse.roc_curve(model.transform(train)).auc
    assert_wrong("final.q3", on_train, model=model, test=test, hides=[right])


@pytest.fixture(scope="module")
def depths(split):
    from pyspark.ml.classification import GBTClassifier

    train, test = split
    small = train.limit(4_000).cache()
    rows, models = [], {}
    for depth in (1, 2, 4):
        model = GBTClassifier(maxIter=3, maxDepth=depth, seed=1).fit(small)
        rows.append((depth, mlcourse.roc_curve(model.transform(small)).auc,
                     mlcourse.roc_curve(model.transform(test)).auc))  # fmt: skip
        models[depth] = model
    return small, rows, models


def test_final_fit_table(depths, split):
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    _, test = split
    small, rows, models = depths
    deepest = models[4]
    assert_right("final.q4", rows, model=deepest, train=small, test=test)
    exact = BinaryClassificationEvaluator()
    by_evaluator = [
        (d, exact.evaluate(models[d].transform(small)), exact.evaluate(models[d].transform(test)))
        for d, *_ in rows
    ]
    assert_right("final.q4", by_evaluator, model=deepest, train=small, test=test)
    assert_found("final.q4", {"fit_table": rows, "gbt_4": deepest, "train": small, "test": test})
    swapped = [(d, te, tr) for d, tr, te in rows]
    assert_wrong("final.q4", swapped, model=deepest, train=small, test=test, says="swapped")
    made_up = [(1, 0.70, 0.70), (3, 0.75, 0.74), (4, 0.90, 0.73)]  # deepest train >= test
    assert_wrong("final.q4", made_up, model=deepest, train=small, test=test, says="deepest")
    assert_wrong("final.q4", rows[::-1], model=deepest, train=small, test=test,
                 says="increasing order")  # fmt: skip


def test_final_timings():
    timings = {("GBT", 1): 5.0, ("GBT", 2): 4.0, ("forest", 1): 3.0, ("forest", 2): 2.5}
    assert_right("final.q6", timings)
    assert_right("final.q6", {("a", 1): 1.2, ("a", 2): 0.9, ("b", 1): 0.8, ("b", 2): 0.7})
    assert_wrong("final.q6", {("GBT", 1): 5.0, ("GBT", 2): 4.0}, says="two models")
    assert_wrong("final.q6", dict.fromkeys(timings, 1.0), says="all equal")
    del timings[("forest", 2)]
    assert_wrong("final.q6", timings, says="exactly the keys")


# --------------------------------------------------------------------------- names


def exercise_cells(cells: list, check: int) -> str:
    """The text of an exercise: from its heading (an "Exercise", "Question" or numbered
    section) down to its check cell."""

    start = check
    while start > 0:
        start -= 1
        cell = cells[start]
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.search(
            r"\*\*Exercise|^#+ (Exercise|\d+\.)", text, re.MULTILINE
        ):
            break
    return "\n".join("".join(c["source"]) for c in cells[start : check + 1])


def test_every_name_a_check_needs_is_named_in_its_exercise():
    """The student's version of each notebook names, in each exercise's text or stub, every
    variable its check cannot find by itself (by kind, or do without)."""
    import json
    from pathlib import Path

    from mlcourse.course.checking import registry

    folder = Path(__file__).resolve().parents[1] / "notebooks" / "student"
    seen = set()
    for path in sorted(folder.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for index, cell in enumerate(cells):
            found = re.findall(r'mlcourse\.check\("([\w.]+)"', "".join(cell["source"]))
            for name in found:
                spec = registry()[name]
                needs = [spec.answer, *spec.context.values()]
                required = [n.name for n in needs if n.find is None and not n.optional]
                text = exercise_cells(cells, index)
                missing = [n for n in required if not re.search(rf"\b{re.escape(n)}\b", text)]
                assert not missing, f"{path.name} {name}: {missing} not named in the exercise"
                seen.add(name)
    assert seen == set(registry())


class Anything:
    """An object that answers every attribute, as a Spark Connect DataFrame does (a Column),
    and raises when iterated."""

    def __getattr__(self, name):
        return Anything()

    def __iter__(self):
        raise TypeError("not iterable")


def test_looking_among_the_students_objects_never_raises(events):
    import matplotlib.pyplot as plt

    df, _ = events
    fig, axes = plt.subplots(1, 2)
    for name, ax in zip(["lepton_pT", "m_wbb"], axes, strict=True):
        mlcourse.plot_signal_vs_background(df, name, ax=ax, density=True, bins=20)
    namespace = {"remote": Anything(), "frames": [Anything()], "mine": fig}
    assert_found("day1.ex2", namespace)
    assert_found("day2_gbt.ex2", {"cv_auc": 0.7, "odd": Anything()}, passed=False,
                 says="no `cv_model`, `test` yet")  # fmt: skip
    plt.close("all")


# --------------------------------------------------------------------------- the physicist's
# evaluation: a working point, over-training, the scaling, the validation marks, early stopping


@pytest.fixture(scope="module")
def working_sets(gbt, split):
    """A GBT's predictions on two independent halves of the test events: validation, test."""
    model, _ = gbt
    halves = mlcourse.train_test_split(split[1].drop("features"), 0.5, seed=3)
    validation, test = (model.transform(mlcourse.assemble_features(h)).cache() for h in halves)
    yield validation, test
    validation.unpersist()
    test.unpersist()


def labels_scores(frame):
    from pyspark.ml.functions import vector_to_array

    rows = frame.select("label", vector_to_array("probability")[1].alias("p")).toPandas()
    return rows["label"].to_numpy().astype(int), rows["p"].to_numpy()


def working_point(validation, test, *, sigma=0.05, choose_on=None, strict=False):
    """A student's solution: the cut of highest Z on validation, s, b, Z at it on test."""
    yields = mlcourse.benchmark_yields()

    def z(s, b):
        return float(mlcourse.asimov_significance(s, b, sigma * b))

    def at(labels, scores, cut):
        passed = scores > cut if strict else scores >= cut
        return (
            yields.signal * passed[labels == 1].mean(),
            yields.background * passed[labels == 0].mean(),
            int(passed[labels == 0].sum()),
        )

    chooser = labels_scores(choose_on if choose_on is not None else validation)
    by_cut = {}
    for cut in np.round(np.arange(0, 1, 0.01), 2):
        s, b, left = at(*chooser, cut)
        if left >= 10:
            by_cut[cut] = z(s, b)
    cut = max(by_cut, key=by_cut.get)
    s, b, _ = at(*labels_scores(test), cut)
    return {"cut": cut, "s_test": s, "b_test": b, "z_test": z(s, b)}


@pytest.mark.parametrize("exercise", ["day2_gbt.ex3", "day3.ex5", "final.q7"])
def test_a_working_point(working_sets, exercise):
    validation, test = working_sets
    right = working_point(validation, test)
    z = right.pop("z_test")
    assert_right(exercise, z, validation=validation, test=test, **right)
    arrays = labels_scores(validation)  # a Keras network's validation scores: arrays
    assert_right(exercise, z, validation=arrays, test=test, **right)
    strict = working_point(validation, test, strict=True)  # "score > cut" is a cut too
    z_strict = strict.pop("z_test")
    assert_right(exercise, z_strict, validation=validation, test=test, **strict)
    hidden = [z, right["s_test"], right["b_test"]]

    plain = mlcourse.asimov_significance(right["s_test"], right["b_test"])
    assert_wrong(
        exercise,
        float(plain),
        validation=validation,
        test=test,
        **right,
        hides=hidden,
        says="uncertainty of 5%",
    )  # fmt: skip  (b known exactly: no sigma_b)
    loose = {**right, "cut": 0.0}  # no working point chosen at all
    assert_wrong(exercise, z, validation=validation, test=test, **loose, hides=hidden,
                 says="choose the cut of highest Z")  # fmt: skip
    swapped = working_point(test, validation)  # s and b counted on the validation events
    assert swapped["cut"] == right["cut"] or True
    counted_on_validation = {**right, "s_test": swapped["s_test"], "b_test": swapped["b_test"]}
    if not np.isclose(swapped["s_test"], right["s_test"], rtol=1e-3):
        assert_wrong(exercise, z, validation=validation, test=test, **counted_on_validation,
                     hides=hidden, says="test events")  # fmt: skip
    labels, scores = labels_scores(test)
    raw = {**right, "s_test": float((scores[labels == 1] >= right["cut"]).sum()),
           "b_test": float((scores[labels == 0] >= right["cut"]).sum())}  # fmt: skip
    assert_wrong(
        exercise, z, validation=validation, test=test, **raw, hides=hidden, says="yields.signal"
    )  # fmt: skip  (test counts, not expected events)
    tight = {**right, "cut": 0.999}  # a background from a handful of events
    assert_wrong(exercise, z, validation=validation, test=test, **tight, says="fewer than 10")
    assert_wrong(exercise, z, validation="validation", test=test, **right,
                 says="predictions")  # fmt: skip


@pytest.fixture(scope="module")
def deep_fit(split):
    from pyspark.ml.classification import GBTClassifier

    train, _ = split
    small = mlcourse.train_test_split(train, test=0.8, seed=11)[0].cache()
    deep = GBTClassifier(maxIter=10, maxDepth=8, seed=1).fit(small)
    shallow = GBTClassifier(maxIter=5, maxDepth=3, seed=1).fit(small)
    return small, deep, shallow


def test_day2_overtraining_judged(deep_fit, split):
    _, test = split
    small, deep, shallow = deep_fit
    on_train = mlcourse.classification_report(deep.transform(small))
    on_test = mlcourse.classification_report(deep.transform(test))
    gap, error = on_train.auc - on_test.auc, float(np.hypot(on_train.auc_error, on_test.auc_error))
    context = {"model": deep, "train": small, "test": test}
    assert_right("day2_gbt.ex4", gap, gap_error=error, differs=bool(gap >= 3 * error), **context)
    roc = (mlcourse.roc_curve(deep.transform(small)), mlcourse.roc_curve(deep.transform(test)))
    assert_right("day2_gbt.ex4", roc[0].auc - roc[1].auc, gap_error=error,  # another way
                 differs=True, **context)  # fmt: skip
    assert_wrong("day2_gbt.ex4", -gap, gap_error=error, differs=True, **context, says="sign")
    assert_wrong("day2_gbt.ex4", gap, gap_error=2 * error, differs=True, **context,
                 says="quadrature")  # fmt: skip
    assert_wrong("day2_gbt.ex4", gap, gap_error=error, differs=False, **context, says="3 times")
    assert_wrong("day2_gbt.ex4", gap, gap_error=error, differs="yes", **context,
                 says="True or False")  # fmt: skip
    made_up = gap + 0.05
    assert_wrong("day2_gbt.ex4", made_up, gap_error=error, differs=True, **context,
                 says="not deep_model's AUC")  # fmt: skip
    s_train = mlcourse.roc_curve(shallow.transform(small))
    s_test = mlcourse.roc_curve(shallow.transform(test))
    s_gap = s_train.auc - s_test.auc
    s_error = float(np.hypot(s_train.auc_error, s_test.auc_error))
    assert_wrong("day2_gbt.ex4", s_gap, gap_error=s_error, differs=bool(s_gap >= 3 * s_error),
                 model=shallow, train=small, test=test, says="maxDepth=8")  # fmt: skip


def test_day2_mlp_scaling_written_out(split):
    from pyspark.sql import functions as F

    from mlcourse.higgs import FEATURES

    train, test = split

    def moments(frame):
        row = frame.agg(*[F.mean(f) for f in FEATURES], *[F.stddev(f) for f in FEATURES]).first()
        return dict(zip(FEATURES, row[:28], strict=True)), dict(
            zip(FEATURES, row[28:], strict=True)
        )

    means, stds = moments(train)
    scaled = test.withColumns({f: (F.col(f) - means[f]) / stds[f] for f in FEATURES})
    context = {"train": train, "test": test}
    assert_right("day2_mlp.ex2", scaled, means=means, stds=stds, **context)
    pandas_train = train.select(*FEATURES).toPandas()  # another way: pandas on the driver
    assert_right("day2_mlp.ex2", scaled, means=pandas_train.mean().to_dict(),
                 stds=pandas_train.std().to_dict(), **context)  # fmt: skip
    test_means, test_stds = moments(test)
    own = test.withColumns({f: (F.col(f) - test_means[f]) / test_stds[f] for f in FEATURES})
    assert_wrong("day2_mlp.ex2", own, means=test_means, stds=test_stds, **context,
                 says="test events")  # fmt: skip
    population = pandas_train.std(ddof=0).to_dict()
    assert_wrong("day2_mlp.ex2", scaled, means=means, stds=population, **context,
                 says="sample standard deviation")  # fmt: skip
    assert_wrong("day2_mlp.ex2", own, means=means, stds=stds, **context, says="of scaled_test")
    assert_wrong("day2_mlp.ex2", scaled, means={"m_bb": 1.0}, stds=stds, **context,
                 says="means")  # fmt: skip


def hashed_validation(frame, fraction):
    from pyspark.sql import functions as F

    hashed = F.xxhash64(F.lit(7), *[F.col(c) for c in frame.columns if c != "features"])
    return frame.withColumn("validation", F.pmod(hashed, F.lit(10_000)) < fraction * 10_000)


def test_day4_validation_marks(split):
    from pyspark.sql import functions as F

    _, test = split
    assert_right("day4.ex1", hashed_validation, test=test)
    by_hash = lambda frame, fraction: frame.withColumn(  # noqa: E731 - another way
        "validation", F.abs(F.hash(*frame.columns)) % 1000 < fraction * 1000
    )
    assert_right("day4.ex1", by_hash, test=test)
    at_random = lambda frame, fraction: frame.withColumn("validation", F.rand(3) < fraction)  # noqa: E731
    assert_wrong("day4.ex1", at_random, test=test, says="partitioned otherwise")
    fixed = lambda frame, fraction: hashed_validation(frame, 0.2)  # noqa: E731, ARG005 - ignores it
    assert_wrong("day4.ex1", fixed, test=test, says="mark_validation(frame, 0.5)")
    numbers = lambda frame, fraction: frame.withColumn("validation", F.lit(1))  # noqa: E731, ARG005
    assert_wrong("day4.ex1", numbers, test=test, says="boolean")
    assert_wrong("day4.ex1", hashed_validation(test, 0.2), test=test, says="your function")


def test_day4_early_stopping_rule():
    right = best_round

    def by_numpy(aucs, patience):  # another way: the best within the rounds seen
        seen = len(aucs)
        for i in range(len(aucs)):
            best = int(np.argmax(aucs[: i + 1]))
            if i - best >= patience:
                seen = i + 1
                break
        return int(np.argmax(aucs[:seen]))

    def ties_improve(aucs, patience):
        best, at = float("-inf"), 0
        for i, auc in enumerate(aucs):
            if auc >= best:
                best, at = auc, i
            elif i - at >= patience:
                break
        return at

    def never_stops(aucs, patience):
        return int(np.argmax(aucs))

    def one_based(aucs, patience):
        return right(aucs, patience) + 1

    def late(aucs, patience):  # stops a round too late
        return best_round(aucs, patience + 1)

    assert_right("day4.ex2", right)
    assert_right("day4.ex2", by_numpy)
    for wrong in (ties_improve, never_stops, one_based, late):
        assert_wrong("day4.ex2", wrong, says="early stopping would keep round")
    assert_wrong("day4.ex2", lambda aucs, patience: aucs[99], says="raised IndexError")  # noqa: ARG005
    assert_wrong("day4.ex2", 3, says="your function")
