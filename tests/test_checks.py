"""Exercise checks: each with a right answer (passes) and a wrong one (fails, with a message
that does not give the right value away), on real Spark and small data."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

import mlcourse
from mlcourse import physics
from mlcourse.checks import EXERCISES, LOG_VARIABLE, evaluate

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
    assert not result.passed
    assert str(result).startswith(f"{exercise}: not yet: ")
    assert says in result.message
    for value in hides:
        for form in forms(value):
            assert form not in result.message, (form, result.message)
    return result.message


@pytest.fixture(scope="module")
def events(higgs):
    df, frame = higgs
    return df, frame


@pytest.fixture(scope="module")
def split(events):
    df, _ = events
    train, test = mlcourse.train_test_split(df, 0.3, seed=1)
    return mlcourse.assemble_features(train).cache(), mlcourse.assemble_features(test).cache()


def test_every_exercise_has_a_title_and_unknown_ones_are_named():
    assert {"day1.ex1", "day2_gbt.ex2", "day3.ex1", "day4.ex2", "final.q6"} <= set(EXERCISES)
    assert all(EXERCISES.values())
    with pytest.raises(KeyError, match="no exercise 'day1.ex9'; the exercises are"):
        evaluate("day1.ex9", 1)


def test_check_prints_one_line_and_logs_it(events, capsys, tmp_path, monkeypatch):
    df, frame = events
    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv(LOG_VARIABLE, str(log))
    mlcourse.check("day1.ex1", float(frame["label"].mean()), df=df)
    mlcourse.check("day1.ex1", "half", df=df)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "day1.ex1: passed: signal_fraction is the fraction of signal events in df",
        "day1.ex1: not yet: signal_fraction should be a number, not a str",
    ]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["passed"] for r in records] == [True, False]
    assert records[0]["exercise"] == "day1.ex1"


def test_the_notebook_form_reads_the_notebook_variables(events, capsys):
    """mlcourse.check("day1.ex1") alone, as the notebooks' cells are: the answer and the
    DataFrame from the caller's variables; before the exercise, what is missing."""
    df, frame = events
    code = compile('mlcourse.check("day1.ex1")', "<cell>", "exec")
    exec(code, {"mlcourse": mlcourse, "df": df})
    exec(code, {"mlcourse": mlcourse, "df": df, "signal_fraction": float(frame["label"].mean())})
    assert capsys.readouterr().out.splitlines() == [
        "day1.ex1: not yet: no `signal_fraction` yet: do the exercise above, run it",
        "day1.ex1: passed: signal_fraction is the fraction of signal events in df",
    ]


def test_an_answer_the_check_cannot_read_fails_without_raising():
    result = evaluate("day1.ex3", ("m_bb", "m_wbb"), df=None)
    assert not result.passed
    assert result.message.startswith("could not check this answer (AttributeError")


@pytest.mark.parametrize("exercise", ["day1.ex1", "final.q1"])
def test_signal_fraction(events, exercise):
    df, frame = events
    right = float(frame["label"].mean())
    assert_right(exercise, right, df=df)
    assert_wrong(exercise, 1 - right, df=df, hides=[right], says="fraction of background")
    assert_wrong(exercise, right * 0.9, df=df, hides=[right], says="whole DataFrame")
    assert_wrong(exercise, 1.5, df=df, says="between 0 and 1")


def test_day1_side_by_side_histograms(events):
    import matplotlib.pyplot as plt

    df, _ = events
    fig, axes = plt.subplots(1, 2)
    for name, ax in zip(["lepton_pT", "m_wbb"], axes, strict=True):
        mlcourse.plot_signal_vs_background(df, name, ax=ax, density=True, bins=20)
    assert_right("day1.ex2", fig)
    counts, axes = plt.subplots(1, 2)
    for name, ax in zip(["lepton_pT", "m_wbb"], axes, strict=True):
        mlcourse.plot_signal_vs_background(df, name, ax=ax, bins=20)
    assert_wrong("day1.ex2", counts, says="density=True")
    one, ax = plt.subplots()
    mlcourse.plot_signal_vs_background(df, "m_wbb", ax=ax, density=True, bins=20)
    assert_wrong("day1.ex2", one, says="no plot of lepton_pT")
    plt.close("all")


def test_day1_most_correlated_pair(events):
    df, frame = events
    names = list(mlcourse.higgs.FEATURES)
    matrix = np.abs(np.corrcoef(frame[names].to_numpy(), rowvar=False) - np.eye(len(names)))
    i, j = np.unravel_index(np.argmax(matrix), matrix.shape)
    assert_right("day1.ex3", (names[j], names[i]), df=df)  # either order
    k = int(np.argsort(matrix[i])[-2])  # the second-best partner of names[i]
    message = assert_wrong("day1.ex3", (names[i], names[k]), df=df, says="another pair")
    assert names[j] not in message
    assert_wrong("day1.ex3", (names[i], names[i]), df=df, says="two different features")


def test_day1_mbb_from_the_tagged_jets(events):
    _, frame = events
    sample = physics.physical(frame.head(2_000))
    mine = physics.m_bb(sample)
    two = ~np.isnan(mine)
    right = float((np.abs(mine[two] / sample["m_bb"].to_numpy()[two] - 1) < 0.01).mean())
    assert_right("day1.ex4", right, sample=sample)
    # a common slip: any two jets (the first two) instead of the tagged pair
    first_two = (physics.jets(sample)[0] + physics.jets(sample)[1]).mass
    wrong = float((np.abs(first_two[two] / sample["m_bb"].to_numpy()[two] - 1) < 0.01).mean())
    assert_wrong("day1.ex4", wrong, sample=sample, hides=[right], says="two tagged jets")


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
    # a BroadcastExchange taken for a shuffle: one answer wrong, not named
    message = assert_wrong(
        "day1b.ex1", {**right, "broadcast join": True}, says="1 of the 4", queries=queries
    )
    assert "broadcast join" not in message
    assert_wrong("day1b.ex1", {"filter": False}, says="exactly the keys", queries=queries)


def test_day1b_stages_of_a_sort(parquet_events):
    """Recomputed from Spark's status tracker (the tests' session has no UI): the range
    bounds' sample, the map side and the result; the skipped stage is not counted."""
    df = parquet_events
    assert_right("day1b.ex2", 3, df=df)
    assert_wrong("day1b.ex2", 4, says="SKIPPED", df=df)


def test_day1b_partitions(events):
    df, _ = events
    right = {
        "repartition(8)": 8,
        "repartition(8).coalesce(3)": 3,
        "coalesce(3).repartition(8)": 8,
    }
    assert_right("day1b.ex3", right, df=df)
    assert_wrong("day1b.ex3", {**right, "coalesce(3).repartition(8)": 3}, says="1 of the 3", df=df)


def test_day2_high_level_model(split):
    from pyspark.ml.classification import LogisticRegression  # the check takes any classifier

    train, test = split
    train_high = mlcourse.assemble_features(train, "high", output_col="high")
    test_high = mlcourse.assemble_features(test, "high", output_col="high")
    model = LogisticRegression(featuresCol="high", maxIter=10).fit(train_high)
    right = mlcourse.classification_report(model.transform(test_high)).auc
    assert_right("day2_gbt.ex1", right, model=model, test=test_high)
    on_train = mlcourse.roc_curve(model.transform(train_high)).auc
    assert abs(on_train - right) > 2e-3
    assert_wrong(
        "day2_gbt.ex1", on_train, model=model, test=test_high, hides=[right], says="test set"
    )


def test_day2_gbt_on_all_features_is_not_the_high_level_one(gbt, split):
    model, _ = gbt
    _, test = split
    assert_wrong("day2_gbt.ex1", 0.7, model=model, test=test, says="7 high-level")


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
    _, test = split
    right = BinaryClassificationEvaluator().evaluate(three.bestModel.transform(test))
    assert_right("day2_gbt.ex2", right, cv_model=three, test=test)
    # a slip: the area under the precision-recall curve
    pr = BinaryClassificationEvaluator(metricName="areaUnderPR")
    wrong = pr.evaluate(three.bestModel.transform(test))
    assert abs(wrong - right) > 2e-3
    assert_wrong("day2_gbt.ex2", wrong, cv_model=three, test=test, hides=[right])
    assert_wrong("day2_gbt.ex2", right, cv_model=two, test=test, says="2 folds, not 3")
    # the final hands-on's question 5 asks for two hyper-parameters: these are two
    assert_right("final.q5", right, cv_model=three, test=test)


def test_day2_architectures():
    assert_right("day2_mlp.ex1", {"28-60-2": 0.71, "28-30-30-30-2": 0.70})
    assert_wrong("day2_mlp.ex1", {"28-60-2": 0.71}, says="two networks")
    assert_wrong("day2_mlp.ex1", {"60": 0.71, "28-30-2": 0.7}, says="hidden layers")
    assert_wrong("day2_mlp.ex1", {"28-60-2": 0.5, "28-30-2": 0.7}, says="coin toss")


class Report:
    def __init__(self, auc: float) -> None:
        self.auc = auc


def test_day3_seeds_groups_and_sizes():
    runs = {s: (Report(0.76 + s / 1000), {"loss": [0.6]}) for s in (1, 2, 3)}
    assert_right("day3.ex2", {s: r.auc for s, (r, _) in runs.items()}, seed_runs=runs)
    assert_wrong("day3.ex2", dict.fromkeys((1, 2, 3), 0.76), says="set_random_seed")
    assert_wrong("day3.ex2", {1: 0.76, 2: 0.77}, says="exactly the keys 1, 2, 3")
    assert_wrong("day3.ex2", {1: 0.7, 2: 0.77, 3: 0.78}, seed_runs=runs, says="seed_runs[1]")
    groups = {("shallow", "low"): 0.67, ("shallow", "high"): 0.75, ("shallow", "all"): 0.77}
    reports = {**groups, **{("deep", g): a + 0.01 for (_, g), a in groups.items()}}
    assert_right("day3.ex3", {k: Report(a) for k, a in reports.items()})
    same = {**reports, ("shallow", "low"): 0.77}
    assert_wrong("day3.ex3", same, says="pass the features")
    assert_wrong("day3.ex3", {("deep", "all"): 0.8}, says="exactly the keys")
    assert_right("day3.ex4", {2_000: 0.63, 5_000: 0.67, 64_000: 0.77})
    assert_wrong("day3.ex4", {2_000: 0.63, 64_000: 0.77}, says="2,000, 5,000")


def test_day4_timings():
    assert_right("day4.ex2", {1: 3.0, 2: 2.0}, slots=2, times_by_executors={1: 4.0}, cores=1)
    assert_wrong("day4.ex2", {1: 3.0}, slots=2, says="exactly the keys 1, 2")
    assert_wrong("day4.ex2", {1: 3.0, 2: -1.0}, slots=2, says="times_by_workers[2]")


def test_final_parts(events):
    df, frame = events
    n = len(frame)
    assert_right("final.q2", [n // 5] * 4 + [n - 4 * (n // 5)], df=df)
    assert_wrong("final.q2", [n // 5] * 5 + [0], df=df, says="the 5 parts")
    assert_wrong("final.q2", [n // 5 - 1] * 5, df=df, says="exactly one part")
    assert_wrong("final.q2", [0, 0, 0, n // 2, n - n // 2], df=df, says="equal size")


def test_final_classifier_auc(gbt, split):
    model, predictions = gbt
    _, test = split
    right = mlcourse.roc_curve(predictions).auc
    assert_right("final.q3", right, model=model, test=test)
    assert_wrong("final.q3", right + 0.01, model=model, test=test, hides=[right])


def test_final_fit_table_and_timings():
    table = [(1, 0.70, 0.70), (3, 0.75, 0.74), (9, 0.90, 0.73)]
    assert_right("final.q4", table)
    swapped = [(d, test, train) for d, train, test in table]
    assert_wrong("final.q4", swapped, says="swapped")
    assert_wrong("final.q4", table[::-1], says="increasing order")
    timings = {("GBT", 1): 5.0, ("GBT", 2): 4.0, ("forest", 1): 3.0, ("forest", 2): 2.5}
    assert_right("final.q6", timings)
    assert_wrong("final.q6", {("GBT", 1): 5.0, ("GBT", 2): 4.0}, says="two models")
    del timings[("forest", 2)]
    assert_wrong("final.q6", timings, says="exactly the keys")
