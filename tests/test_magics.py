"""The course magics through a real IPython InteractiveShell."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import mlcourse
from mlcourse.config import login_user


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "mlcourse")
    yield ip
    InteractiveShell.clear_instance()


def test_nothing_registers_on_import():
    import mlcourse  # noqa: F401

    fresh = InteractiveShell()
    assert "spark" not in fresh.magics_manager.magics["line"]


def test_spark_magic_returns_and_binds_session(shell, spark):
    result = shell.run_line_magic("spark", "2")
    assert result is spark
    assert shell.user_ns["spark"] is spark
    assert shell.run_line_magic("spark", "") is spark
    # the notebook idiom `spark = %spark`
    shell.run_cell("s2 = %spark", store_history=False)
    assert shell.user_ns["s2"] is spark


def test_spark_magic_shows_the_ui_link_only_when_it_starts_a_session(shell, spark, monkeypatch):
    """A live session gets no second link (the browser tier sees the one of a start)."""
    shown: list = []
    monkeypatch.setattr("mlcourse.course.magics._show_ui_link", shown.append)
    assert shell.run_line_magic("spark", "") is spark
    assert shown == []


def test_old_sc_magic_returns_the_sessions_spark_context(shell, spark):
    """The old `spark = %sc $num_workers`, then `SparkSession(spark)`: a working session."""
    shell.run_cell("num_workers = 2\nold = %sc $num_workers", store_history=False)
    assert shell.user_ns["old"] is spark.sparkContext
    shell.run_cell(
        "from pyspark.sql import SparkSession\nsession = SparkSession(old)", store_history=False
    )
    assert shell.user_ns["session"].range(5).count() == 5
    with pytest.raises(UsageError, match="already running"):
        shell.run_line_magic("sc", "3")


@pytest.mark.parametrize("line", ["abc", "2 3", "--profile", "--bogus", "0", "-1"])
def test_bad_arguments_raise_usage_error(shell, spark, line):
    with pytest.raises(UsageError):
        shell.run_line_magic("spark", line)


def test_conflicting_workers_is_a_usage_error(shell, spark):
    with pytest.raises(UsageError, match="already running"):
        shell.run_line_magic("spark", "3")


def test_unknown_profile_is_a_usage_error(shell, spark):
    with pytest.raises(UsageError, match="Known profiles"):
        shell.run_line_magic("data_path", "--profile nope")


def test_data_path_and_login_user(shell, spark, monkeypatch):
    assert shell.run_line_magic("data_path", "") == "./data"
    assert shell.run_line_magic("hdfs_path", "") == "./data"  # the old name
    assert shell.run_line_magic("login_user", "") == login_user()
    monkeypatch.setenv("JUPYTERHUB_USER", "student42")
    assert shell.run_line_magic("login_user", "") == "student42"
    with pytest.raises(UsageError):
        shell.run_line_magic("login_user", "extra")


def test_loading_twice_is_harmless(shell, spark):
    shell.run_line_magic("load_ext", "mlcourse")
    import mlcourse

    mlcourse.load_ipython_extension(shell)
    assert shell.run_line_magic("spark", "") is spark


def test_bad_usage_shows_one_line_not_a_traceback(shell, spark, capsys):
    result = shell.run_cell("%spark abc", store_history=False)
    assert isinstance(result.error_in_exec, UsageError)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err


# --------------------------------------------------------------- plots and course names


@pytest.fixture
def course_ns(shell, higgs, gbt):
    """A notebook namespace as the course's Day 2 leaves it."""
    import matplotlib.pyplot as plt

    model, predictions = gbt
    shell.user_ns.update(
        {"df": higgs[0], "test": predictions, "result": predictions, "gbt_model": model}
    )
    plt.close("all")
    yield shell.user_ns
    for name in ("df", "test", "result", "gbt_model", "notdf"):
        shell.user_ns.pop(name, None)
    plt.close("all")


def stairs_of(ax):
    from matplotlib.patches import StepPatch

    return [p for p in ax.patches if isinstance(p, StepPatch)]


def test_plot_magic_draws_the_histogram(shell, course_ns):
    import matplotlib.pyplot as plt

    from mlcourse.analysis.aggregate import signal_background_hist

    result = shell.run_cell("%plotSignalvsBg df m_bb --bins 30 --range 0 3", store_history=False)
    assert result.success
    ax = plt.gcf().axes[0]
    hist = signal_background_hist(course_ns["df"], "m_bb", bins=30, range=(0, 3))
    signal, background = stairs_of(ax)
    np.testing.assert_array_equal(signal.get_data().values, hist.signal)
    np.testing.assert_array_equal(background.get_data().values, hist.background)
    assert ax.get_xlabel() == "m_bb"


def test_prediction_magic_draws_outlines(shell, course_ns, tmp_path):
    target = tmp_path / "pred.png"
    shell.run_line_magic("plotSignalvsBgWithPrediction", f"test result m_bb --save {target}")
    import matplotlib.pyplot as plt

    labels = [p.get_label() for p in stairs_of(plt.gcf().axes[0])]
    assert labels == ["signal", "background", "predicted signal", "predicted background"]
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_a_figure_saved_into_a_missing_folder_is_one_usage_line(shell, course_ns, tmp_path):
    target = tmp_path / "nowhere" / "m_bb.png"
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("plotSignalvsBg", f"df m_bb --save {target}")
    assert str(info.value) == (
        f"%plotSignalvsBg: {target}: no such file or folder: check the spelling, or create "
        "it first."
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("dff m_bb", r"no variable 'dff'.*\(DataFrames you have: df\b"),
        ("df m_bbb", r"no column 'm_bbb' \(closest: m_bb"),
        ("notdf m_bb", "'notdf' is a int, not a Spark DataFrame"),
        ("df", "required"),
        ("df m_bb --bins 0", "at least 1"),
        ("df m_bb --range 3 1", "lo <= hi"),
    ],
)
def test_plot_magic_mistakes_are_usage_errors(shell, course_ns, line, message):
    import matplotlib.pyplot as plt

    course_ns["notdf"] = 3
    with pytest.raises(UsageError, match=message):
        shell.run_line_magic("plotSignalvsBg", line)
    assert plt.get_fignums() == []  # no empty figure left behind


def test_prediction_magic_unknown_predictions(shell, course_ns):
    with pytest.raises(UsageError, match="no variable 'reslt'.*result"):
        shell.run_line_magic("plotSignalvsBgWithPrediction", "test reslt m_bb")


OLD_NOTEBOOK = """
from mlcourse.compat import *
from pyspark.ml.evaluation import BinaryClassificationEvaluator

feature = df.columns
feature.remove('label')
evaluator = BinaryClassificationEvaluator(labelCol='label', metricName='areaUnderROC')
printed = printMetrics(evaluator, result)
drawROC(result); ax_roc = plt.gca()
drawFeatures(feature, gbt_model); ax_imp = plt.gca()
plotSignalvsBg(df, 'm_bb'); ax_sig = plt.gca()
plotSignalvsBgWithPrediction(test, result, 'm_bb'); ax_pred = plt.gca()
plotCorrelation(result, feature); ax_corr = plt.gcf().axes[0]
plotVsEpoch({'loss': [0.7, 0.6], 'val_loss': [0.75, 0.7]}, 'loss'); ax_hist = plt.gca()
X, y, X_test, y_test = prepareData(df, 0.2)
(edges, signal), (edges_bg, background) = compute_hist(
    df, 'm_bb', target='label', n_bins=30, x_lim=[0, 3]
)
assembled = VectorAssembler(inputCols=feature, outputCol='vec').transform(df)
mean = np.mean([1.0, 3.0])
"""


def test_an_old_notebook_runs_with_the_new_import_line(shell, course_ns, capsys):
    import matplotlib.pyplot as plt
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    result = shell.run_cell(OLD_NOTEBOOK, store_history=False)
    result.raise_error()
    ns = course_ns
    out = capsys.readouterr().out
    spark_auc = BinaryClassificationEvaluator().evaluate(ns["result"])
    assert ns["printed"] is None  # printed, not echoed as Out[]
    report = mlcourse.classification_report(ns["result"])
    assert abs(report.auc - spark_auc) < 1e-3
    printed = mlcourse.classification_report(ns["result"], score_col="rawPrediction")
    assert f"AUC        {printed.auc:.4f}" in out  # the column the evaluator reads
    # each plot on its own figure, as the old helpers did
    axes = [ns[k] for k in ("ax_roc", "ax_imp", "ax_sig", "ax_pred", "ax_corr", "ax_hist")]
    assert len({a.figure for a in axes}) == 6 == len(plt.get_fignums())
    assert len(ns["ax_imp"].patches) == 28
    assert len(stairs_of(ns["ax_pred"])) == 4
    assert [t.get_text() for t in ns["ax_corr"].get_xticklabels()] == ns["feature"]
    assert len(ns["X"]) + len(ns["X_test"]) == 20_000 and ns["X"].shape[1] == 28
    assert set(np.unique(ns["y"])) == {0.0, 1.0}
    # compute_hist: the old ((edges, counts), (edges, counts)), counts equal numpy's
    frame = ns["df"].toPandas()
    for counts, label in ((ns["signal"], 1), (ns["background"], 0)):
        expected = np.histogram(frame.m_bb[frame.label == label], 30, (0, 3))[0]
        assert counts == expected.tolist()
    assert ns["edges"] == ns["edges_bg"] == np.linspace(0, 3, 31).tolist()
    assert "vec" in ns["assembled"].columns and ns["mean"] == 2.0


def test_classic_only_runs_its_cell_on_a_classic_session(shell, spark, capsys):
    """The body runs in the notebook's namespace, magics included; an error in it is the
    cell's error, with the cell's line in the traceback. (Over Spark Connect the connect
    tier's notebooks show the skip.)"""
    shell.run_line_magic("spark", "")
    shell.run_cell_magic(
        "classic_only",
        "needs the SparkContext",
        "parts = spark.sparkContext.defaultParallelism\nwhere = %data_path\n",
    )
    assert shell.user_ns["parts"] == spark.sparkContext.defaultParallelism
    assert shell.user_ns["where"] == shell.run_line_magic("data_path", "")
    assert "Skipped" not in capsys.readouterr().out
    result = shell.run_cell("%%classic_only needs the driver\nx = 1\n1 / 0\n", store_history=False)
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert "1 / 0" in capsys.readouterr().out  # IPython's traceback quotes the cell's line


def test_classic_only_needs_a_reason(shell):
    with pytest.raises(UsageError, match="needs a reason"):
        shell.run_cell_magic("classic_only", "  ", "x = 1\n")
