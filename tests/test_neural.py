"""Day 3: driver arrays from Spark, the course's Keras network, and scoring in the executors."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mlcourse
from mlcourse import DataError, build_network, score_with_keras, to_arrays
from mlcourse.analysis.metrics import roc_curve_arrays
from mlcourse.compat import drawROC2, plotSignalvsBgWithPrediction2
from mlcourse.higgs import FEATURES, HIGH_LEVEL, LABEL


@pytest.fixture(scope="module")
def split(higgs):
    df, _ = higgs
    return mlcourse.train_test_split(df, 0.3, seed=1)


@pytest.fixture(scope="module")
def arrays(split):
    train, test = split
    return to_arrays(train, test=test, events=8_000, validation=0.25, seed=3)


@pytest.fixture(scope="module")
def trained(arrays):
    """The course's network, four epochs on 6,000 events: enough to separate the classes."""
    model = build_network(28, units=64, normalize=arrays.x_train, seed=1)
    history = model.fit(
        arrays.x_train,
        arrays.y_train,
        validation_data=(arrays.x_val, arrays.y_val),
        epochs=4,
        batch_size=128,
        verbose=0,
    )
    return model, history


def spark_scores(scored) -> np.ndarray:
    """Signal probabilities of a scored DataFrame, in its row order."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    rows = scored.select(vector_to_array(F.col("probability"))[1]).collect()
    return np.array([r[0] for r in rows])


# --------------------------------------------------------------------------- to_arrays


def test_arrays_are_the_chosen_events(arrays, split, higgs):
    train, test = split
    assert arrays.features == FEATURES
    assert len(arrays.x_train) + len(arrays.x_val) == 8_000
    assert 0.2 < len(arrays.x_val) / 8_000 < 0.3
    assert arrays.x_train.dtype == np.float32 and arrays.x_train.shape[1] == 28
    x_test, y_test = mlcourse.to_numpy(test)
    assert len(arrays.x_test) == len(x_test)
    np.testing.assert_array_equal(arrays.y_test, y_test.astype(np.float32))
    # validation events are training events, never test events
    train_rows = {tuple(r) for r in mlcourse.to_numpy(train)[0].astype(np.float32)}
    test_rows = {tuple(r) for r in arrays.x_test}
    val_rows = {tuple(r) for r in arrays.x_val}
    assert val_rows <= train_rows and not val_rows & test_rows
    assert {tuple(r) for r in arrays.x_train} <= train_rows


def test_events_of_equal_keys_are_chosen_by_their_values(split, monkeypatch):
    """Keys have 30 bits: among ~14k events two share one about one time in ten, and Spark
    gives equal keys in the order its partitions come. With 4 keys every event ties with
    thousands of others; the sample and its order are still the same on any partitioning."""
    train, _ = split
    monkeypatch.setattr(mlcourse.analysis.features, "KEY_BUCKETS", 4)
    first = to_arrays(train, events=500, validation=0.25, seed=3)
    again = to_arrays(train.repartition(5), events=500, validation=0.25, seed=3)
    assert len(first.x_train) + len(first.x_val) == 500
    np.testing.assert_array_equal(again.x_train, first.x_train)
    np.testing.assert_array_equal(again.x_val, first.x_val)


def test_arrays_do_not_depend_on_partitioning(arrays, split):
    train, _ = split
    again = to_arrays(train.repartition(5), events=8_000, validation=0.25, seed=3)
    np.testing.assert_array_equal(again.x_train, arrays.x_train)
    np.testing.assert_array_equal(again.y_val, arrays.y_val)
    assert again.x_test is None
    other = to_arrays(train, "high", events=8_000, validation=0.25, seed=4)
    assert other.x_train.shape[1] == len(HIGH_LEVEL)
    assert not np.array_equal(other.y_train[:100], arrays.y_train[:100])


def test_size_cap_refuses_with_the_memory_it_would_take(split, tmp_path):
    train, test = split
    n_test = test.count()
    kept = (5_000 + n_test) * 29 * 4  # float32 features and label
    peak = max(5_000, n_test) * 30 * 32 + kept  # Arrow, pandas and float64 at once
    with pytest.raises(DataError) as err:
        to_arrays(train, test=test, events=5_000, max_bytes=peak - 1)
    message = str(err.value)
    assert f"5,000 training and {n_test:,} test events x 29 values" in message
    assert f"need {kept / 1e6:.1f} MB on the driver" in message
    assert f"and {peak / 1e6:.1f} MB while they are collected" in message
    assert "Take fewer events (events=...)" in message and "score_with_keras" in message
    arrays = to_arrays(train, test=test, events=5_000, max_bytes=peak)
    assert len(arrays.x_train) + len(arrays.x_val) == 5_000


def test_peak_memory_estimate_holds(split):
    """What numpy and pandas allocate while collecting (tracemalloc sees their buffers)
    stays within the guard's share for them, the 32 bytes a value less Arrow's 16."""
    import tracemalloc

    from mlcourse.models.neural import ARROW_BYTES_PER_VALUE, PEAK_BYTES_PER_VALUE

    train, _ = split
    tracemalloc.start()
    try:
        arrays = to_arrays(train, events=8_000)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    values = 8_000 * 30  # 28 features, the label, the validation flag
    assert arrays.nbytes == 8_000 * 29 * 4
    assert python_peak > values * 8  # one float64 copy at least: the estimate is not idle
    assert python_peak <= values * (PEAK_BYTES_PER_VALUE - ARROW_BYTES_PER_VALUE) + arrays.nbytes


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or "glibc" not in " ".join(platform.libc_ver()),
    reason="malloc_trim is glibc's",
)
def test_to_arrays_hands_freed_memory_back(split):
    """A dropped network (a model and its trainer: a reference cycle) is collected, and
    the heap that freed objects leave behind goes back to the system: glibc keeps 100 KB
    blocks (under its mmap threshold) on its heap, and only malloc_trim returns them
    while a live block above them keeps the heap's top in place."""
    import weakref

    class Model:
        pass

    model = Model()
    model.trainer = {"model": model}
    dropped = weakref.ref(model)
    del model
    blocks = [bytearray(100_000) for _ in range(1_000)]  # 100 MB on the heap
    pin = bytearray(100_000)  # above them: the heap cannot shrink from its top
    del blocks
    before = _rss_bytes()
    train, _ = split
    to_arrays(train, events=1_000)
    assert dropped() is None
    assert _rss_bytes() < before - 50_000_000
    del pin


def test_test_events_are_keyword_only(split):
    train, test = split
    with pytest.raises(TypeError, match="pass the test events as test=test"):
        to_arrays(train, test)


def test_default_cap_is_the_driver_result_size(spark, split):
    from mlcourse.models.neural import _driver_memory_limit

    limit, why = _driver_memory_limit(spark)
    assert 0 < limit <= 1 << 30  # maxResultSize defaults to 1g
    assert why


# --------------------------------------------------------------------------- the network


def test_network_shape_and_compiled_metrics():
    model = build_network(21, layers=3, units=16, dropout=0.2, learning_rate=0.01, seed=0)
    dense = [layer for layer in model.layers if layer.name.startswith("dense")]
    assert [d.units for d in dense] == [16, 16, 16]
    assert sum(layer.name.startswith("dropout") for layer in model.layers) == 3
    assert model.input_shape == (None, 21) and model.output_shape == (None, 1)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    same = build_network(21, layers=3, units=16, dropout=0.2, seed=0)
    for a, b in zip(model.get_weights(), same.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": 0}, "layers must be a positive whole number"),
        ({"units": 2.5}, "units must be a positive whole number"),
        ({"dropout": 1.0}, r"dropout must be a rate in \[0, 1\)"),
        ({"learning_rate": 0}, "learning_rate must be positive"),
    ],
)
def test_network_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_network(28, **kwargs)


def test_training_learns_and_history_plots(trained):
    import matplotlib.pyplot as plt

    _, history = trained
    assert set(history.history) >= {"loss", "auc", "val_loss", "val_auc", "accuracy"}
    assert history.history["val_auc"][-1] > 0.6
    ax = mlcourse.plot_history(history, metrics=["loss", "auc"])
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["loss (train)", "loss (validation)"]
    assert len(ax.get_lines()) == 4
    np.testing.assert_allclose(ax.get_lines()[3].get_ydata(), history.history["val_auc"])
    plt.close(ax.figure)


# --------------------------------------------------------------------------- scoring


def test_spark_scores_equal_model_predict(trained, split):
    model, _ = trained
    _, test = split
    x_test, _ = mlcourse.to_numpy(test)
    expected = model.predict(x_test, verbose=0)[:, 0]
    scored = score_with_keras(model, test, batch_size=1_000)
    np.testing.assert_allclose(spark_scores(scored), expected, atol=1e-6)
    # the classes follow the probabilities
    rows = scored.select("prediction").collect()
    np.testing.assert_array_equal([r[0] for r in rows], (spark_scores(scored) >= 0.5) * 1.0)


def test_scores_do_not_depend_on_partitioning_or_input_form(trained, split):
    model, _ = trained
    _, test = split
    test = test.withColumn("event", mlcourse.analysis.features.row_key(test, 0))
    expected = score_with_keras(model, test).select("event", "probability").toPandas()
    vectors = mlcourse.assemble_features(test.repartition(3))
    got = score_with_keras(model, vectors, "features").select("event", "probability").toPandas()
    merged = expected.merge(got, on="event")
    assert len(merged) == len(expected) == len(got)
    a = np.array([v[1] for v in merged["probability_x"]])
    b = np.array([v[1] for v in merged["probability_y"]])
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_scored_frame_feeds_the_course_metrics_and_plots(trained, split):
    import matplotlib.pyplot as plt

    model, _ = trained
    _, test = split
    scored = score_with_keras(model, test)
    report = mlcourse.classification_report(scored)
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    auc = BinaryClassificationEvaluator(rawPredictionCol="probability").evaluate(scored)
    assert abs(report.auc - auc) < 1e-3 and report.auc > 0.6
    assert report.events == test.count()
    ax = mlcourse.plot_signal_vs_background(test, "m_bb", predictions=scored)
    drawn = {p.get_label(): p.get_data() for p in ax.patches}
    edges = drawn["signal"].edges
    predicted = mlcourse.signal_background_hist(scored, "m_bb", bins=edges, label_col="prediction")
    np.testing.assert_array_equal(drawn["predicted signal"].values, predicted.signal)
    np.testing.assert_array_equal(drawn["predicted background"].values, predicted.background)
    plt.close(ax.figure)


def test_course_networks_score_with_numpy_alone(trained, tmp_path):
    """The workers get the weights and a numpy forward pass: a fresh interpreter runs it
    without importing Keras or JAX, and gets model.predict's scores."""
    from pyspark import cloudpickle

    from mlcourse.models.scoring import checked_plan as _checked_plan, plan_fn as _plan_fn

    model, _ = trained
    steps = _checked_plan(model, 28)
    assert [step[0] for step in steps] == ["scale", "dense", "dense"]
    x = np.random.default_rng(5).normal(size=(500, 28)).astype(np.float32) + 1.0
    (tmp_path / "fn.pkl").write_bytes(cloudpickle.dumps(_plan_fn(steps)))
    np.save(tmp_path / "x.npy", x)
    script = """
import pickle, sys, numpy as np
predict = pickle.load(open("fn.pkl", "rb"))()
np.save("p.npy", predict(np.load("x.npy")))
print(sorted(m for m in ("keras", "jax") if m in sys.modules))
"""
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"
    expected = model.predict(x, verbose=0)[:, 0]
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, atol=1e-6)


def test_other_networks_score_with_keras(split):
    """A network that is not a chain (a skip connection) travels in Keras's format."""
    import keras

    from mlcourse.models.scoring import dense_plan as _dense_plan

    inputs = keras.Input(shape=(28,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    joined = keras.layers.Concatenate()([inputs, hidden])
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(joined))
    assert _dense_plan(model) is None
    _, test = split
    small = test.limit(300)
    x, _ = mlcourse.to_numpy(small)
    np.testing.assert_allclose(
        spark_scores(score_with_keras(model, small)), model.predict(x, verbose=0)[:, 0], atol=1e-6
    )


def test_wrong_feature_count_is_refused(trained, split):
    model, _ = trained
    _, test = split
    with pytest.raises(DataError, match="the model takes 28 features, but the selection 'high'"):
        score_with_keras(model, test, "high")


@pytest.mark.processes
def test_fresh_process_gets_the_jax_backend_and_scores(tmp_path):
    """`import mlcourse` imports no Keras but selects JAX, here and in the Python workers."""
    script = """
import json, os, sys
os.environ.pop("KERAS_BACKEND", None)
import mlcourse
assert "keras" not in sys.modules and "jax" not in sys.modules
assert os.environ["KERAS_BACKEND"] == "jax"  # chosen, for a plain `import keras` too
spark = mlcourse.get_spark("local", workers=1, **{"spark.ui.enabled": "false"})
df = mlcourse.synthesize_higgs(spark, 300, seed=2)
x, _ = mlcourse.to_numpy(df)
model = mlcourse.build_network(28, units=8, seed=0)
import keras
scored = mlcourse.score_with_keras(model, df)
from pyspark.ml.functions import vector_to_array
p = [r[0] for r in scored.select(vector_to_array("probability")[1]).collect()]
diff = float(abs(model.predict(x, verbose=0)[:, 0] - p).max())
print("RESULT " + json.dumps({"backend": keras.backend.backend(), "diff": diff,
    "env": os.environ["KERAS_BACKEND"]}))
mlcourse.stop_spark()
"""
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    assert result["backend"] == result["env"] == "jax"
    assert result["diff"] < 1e-6


# --------------------------------------------------------------------------- old helpers


def test_drawROC2_auc_equals_roc_curve_on_the_same_scores(spark, trained, arrays):
    import matplotlib.pyplot as plt

    model, _ = trained
    y_pred = model.predict(arrays.x_test, verbose=0)
    frame = spark.createDataFrame(
        [(float(y), float(p)) for y, p in zip(arrays.y_test, y_pred[:, 0], strict=True)],
        [LABEL, "probability"],
    )
    expected = mlcourse.roc_curve(frame)
    assert roc_curve_arrays(arrays.y_test, y_pred).auc == pytest.approx(expected.auc, abs=1e-12)
    assert drawROC2(arrays.y_test, y_pred) is None  # no Out[] line under the figure
    ax = plt.gca()
    assert f"AUC = {expected.auc:.3f}" in " ".join(t.get_text() for t in ax.get_legend().texts)
    plt.close(ax.figure)


def test_plotSignalvsBgWithPrediction2_counts(trained, arrays):
    import matplotlib.pyplot as plt

    model, _ = trained
    y_pred = model.predict(arrays.x_test, verbose=0)
    plotSignalvsBgWithPrediction2(arrays.x_test, arrays.y_test, y_pred, "m_bb")
    ax = plt.gca()
    x = arrays.x_test[:, FEATURES.index("m_bb")]
    edges = np.linspace(0, 3.5, 101)
    predicted_signal = np.histogram(x[y_pred[:, 0] >= 0.5], edges)[0]
    heights = {p.get_label(): p.get_data().values for p in ax.patches}
    np.testing.assert_array_equal(heights["predicted signal"], predicted_signal)
    np.testing.assert_array_equal(heights["signal"], np.histogram(x[arrays.y_test == 1], edges)[0])
    with pytest.raises(ValueError, match="prepareData's order"):
        plotSignalvsBgWithPrediction2(arrays.x_test[:, :7], arrays.y_test, y_pred, "m_bb")
    plt.close("all")


def test_to_arrays_checks_its_arguments(split):
    train, _ = split
    with pytest.raises(ValueError, match="validation must be a fraction"):
        to_arrays(train, validation=1.0)
    with pytest.raises(ValueError, match="events must be at least 2"):
        to_arrays(train, events=1)
    with pytest.raises(DataError, match="m_bbb"):
        to_arrays(train, features=["m_bbb"])


# --------------------------------------------------------------------------- the student's network


def _student_network(arrays, *, normalise=True, output="sigmoid", width=None, loss=None):
    """A network as the Day 3 exercise asks a student to write it, with one thing varied."""
    import keras

    inputs = keras.Input(shape=(width or arrays.x_train.shape[1],))
    x = inputs
    if normalise:
        norm = keras.layers.Normalization()
        norm.adapt(arrays.x_train)
        x = norm(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation=output)(x))
    model.compile(
        optimizer="adam",
        loss=loss or "binary_crossentropy",
        metrics=[keras.metrics.AUC(name="auc")],
    )
    return model


def test_check_network_passes_a_network_that_trains(arrays, trained):
    from mlcourse.models.neural import check_network

    model, history = trained
    message = check_network(model, arrays, history)
    auc = roc_curve_arrays(arrays.y_val, model.predict(arrays.x_val, verbose=0)).auc
    assert message.startswith("passed") and f"validation AUC {auc:.3f}" in message
    assert "after 4 epochs" in message


def test_day3_exercise_check_is_check_network(arrays, trained):
    from mlcourse.course.checks import evaluate

    model, history = trained
    # check_network's verdict first; then what the exercise asks beyond it: this network
    # trained without the early stopping the exercise asks for
    result = evaluate("day3.ex1", model, arrays=arrays, history=history)
    assert not result.passed and "not trained with early stopping" in result.message
    result = evaluate("day3.ex1", model, arrays=arrays, history=None)
    assert not result.passed and "validation_data" in result.message


def test_check_network_names_what_is_missing(arrays, trained):
    import keras

    from mlcourse.models.neural import check_network

    model, history = trained
    cases = [
        ("a string", history, "not a Keras model"),
        (_student_network(arrays, width=21), history, "keras.Input(shape=(28,))"),
        (_student_network(arrays, output="relu"), history, 'activation="sigmoid"'),
        (_student_network(arrays, normalise=False), history, "Normalization"),
        (_student_network(arrays, loss="mse"), history, 'loss="binary_crossentropy"'),
        (model, None, "validation_data=(arrays.x_val, arrays.y_val)"),
        (model, {"loss": [0.6]}, "validation_data"),
    ]
    for candidate, hist, hint in cases:
        message = check_network(candidate, arrays, hist)
        assert message.startswith("not yet") and hint in message, message
    keras.utils.set_random_seed(0)
    untrained = _student_network(arrays)
    fake_history = {"loss": [0.7], "val_loss": [0.7]}
    message = check_network(untrained, arrays, fake_history)
    assert message.startswith("not yet: validation AUC") and "hardly better" in message
