"""Day 3: a neural network on the HIGGS events with Keras 3, fed and scored by Spark.

The division of work the course teaches: Spark prepares and splits the events where they
live; the network trains on a sample that fits on the driver (:func:`to_arrays`); the
trained model then scores every event inside the executors (:func:`score_with_keras`),
adding the ``probability`` and ``prediction`` columns that :func:`mlcourse.roc_curve`,
:func:`mlcourse.classification_report` and :func:`mlcourse.plot_signal_vs_background`
read, as they read an MLlib model's.

Keras runs on the JAX backend (CPU) unless ``KERAS_BACKEND`` says otherwise. Keras is
imported only when one of these functions needs it, so ``import mlcourse`` stays light.
On a cluster the executors' Python must have ``keras`` and ``jax`` too (they load the
model to score their partitions).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.analysis.features import (
    feature_columns,
    hashable_columns,
    in_fraction,
    row_key,
    to_numpy,
)
from mlcourse.config import available_memory_bytes, size_bytes
from mlcourse.data.contracts import check_arrays, require_numeric, require_rows
from mlcourse.errors import DataError
from mlcourse.higgs import LABEL
from mlcourse.models.keras_setup import activation_name, import_keras, keras_backend
from mlcourse.models.scoring import score_with_keras

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "Arrays",
    "build_network",
    "check_network",
    "keras_backend",
    "score_with_keras",
    "to_arrays",
]

#: Bytes per collected value at the peak of :func:`to_arrays`, measured: Arrow's record
#: batches and the table made of them (up to 16), the pandas frame built from the table
#: while its columns are consolidated into one float64 block (16; ``to_numpy`` then
#: returns that block); the float32 arrays kept are 4 bytes a value.
ARROW_BYTES_PER_VALUE = 16
PANDAS_BYTES_PER_VALUE = 16
PEAK_BYTES_PER_VALUE = ARROW_BYTES_PER_VALUE + PANDAS_BYTES_PER_VALUE
KEPT_BYTES_PER_VALUE = 4


# --------------------------------------------------------------------------- to the driver


@dataclass(frozen=True, repr=False)
class Arrays:
    """Training, validation and test events as numpy arrays on the driver.

    Attributes
    ----------
    x_train, y_train, x_val, y_val : numpy.ndarray
        Features (float32, one column per feature) and labels of the training sample and
        of its validation part (drawn from the training events, never from the test ones).
    x_test, y_test : numpy.ndarray or None
        The test events, when a test DataFrame was given.
    features : tuple of str
        The feature of each column.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    features: tuple[str, ...]

    @property
    def nbytes(self) -> int:
        """Driver memory the arrays take."""
        arrays = (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test)
        return sum(a.nbytes for a in arrays if a is not None)

    def __repr__(self) -> str:
        test = "no test" if self.x_test is None else f"{len(self.x_test):,} test"
        return (
            f"Arrays({len(self.x_train):,} train, {len(self.x_val):,} validation, {test} "
            f"events; {len(self.features)} features; {self.nbytes / 2**20:.1f} MiB)"
        )


def _driver_memory_limit(spark: Any) -> tuple[int, str]:
    """What the driver can take: half the memory this process can still use (its
    container's limit, cgroup-aware), within ``spark.driver.maxResultSize``."""
    limits = []
    free = available_memory_bytes()
    if free is not None:
        limits.append((free // 2, "half the memory this process can still use"))
    setting = spark.conf.get("spark.driver.maxResultSize", "1g") or "1g"
    size = size_bytes(setting, default_unit="")  # as the JVM reads it: a bare number is bytes
    if size is None:
        raise ValueError(f"spark.driver.maxResultSize: {setting!r} is not a size such as 1g")
    if size > 0:  # 0 means unlimited
        limits.append((int(size), f"spark.driver.maxResultSize = {setting}"))
    return min(limits) if limits else (sys.maxsize, "no limit")


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


def to_arrays(
    train: DataFrame,
    features: str | Sequence[str] = "all",
    *,
    test: DataFrame | None = None,
    events: int | None = 100_000,
    validation: float = 0.2,
    seed: int = 42,
    label: str = LABEL,
    max_bytes: int | None = None,
) -> Arrays:
    """Bring a training sample (with a validation part) and the test events to the driver.

    For a network that trains on the driver (Keras, scikit-learn): Spark chooses the
    sample, the same on any cluster and partitioning; only the chosen events travel.

    Parameters
    ----------
    train : pyspark.sql.DataFrame
        The training side of :func:`mlcourse.train_test_split`.
    features : {"all", "low", "high"}, str or sequence of str, default "all"
        Feature columns, as in :func:`mlcourse.assemble_features`.
    test : pyspark.sql.DataFrame, optional
        The test side, keyword only; better left out: score the test events in Spark
        with :func:`score_with_keras`.
    events : int or None, default 100_000
        At most this many training events (validation included), chosen by a hash of each
        event with ``seed``; None takes them all.
    validation : float, default 0.2
        Fraction of the training sample set apart for validation (early stopping).
    seed : int, default 42
        Chooses the sample and its validation part.
    label : str, default "label"
        Label column.
    max_bytes : int, optional
        Refuse when collecting would take more than this at its peak (32 bytes a value:
        Arrow's batches, a pandas frame and its float64 block at once, besides the
        float32 arrays kept); default half the memory this process can still use (its
        container's limit where it has one), and no more than
        ``spark.driver.maxResultSize``.

    Returns
    -------
    Arrays
        ``x_train, y_train, x_val, y_val, x_test, y_test`` and the feature names.

    Raises
    ------
    DataError
        When the events would not fit on the driver (the message says how much memory they
        need and how to take fewer), a feature or the label is missing or not numeric, the
        training set is empty, or (checked in numpy on the collected arrays, at no cost in
        Spark) a feature is NaN or null or a label is not 0 or 1: Keras would train on
        them with a loss of nan.

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> train, test = mlcourse.train_test_split(df, test=0.25, seed=42)
    >>> arrays = to_arrays(train, "high", test=test, events=1_000, validation=0.2)
    >>> arrays.x_train.shape[1], len(arrays.x_train) + len(arrays.x_val)
    (7, 1000)
    >>> len(arrays.x_test) == test.count()
    True
    """
    names = _checked_arguments(train, features, test, validation, events, label)
    available = train.count()
    require_rows(
        available,
        "the training set",
        "check the filter or split that made it (train.count() says how many events it has)",
    )
    chosen = available if events is None else min(events, available)
    test_rows = test.count() if test is not None else 0
    _check_driver_room(train, chosen, test_rows, len(names), max_bytes)
    arrays = _collect(train, test, names, label, chosen, available, seed, validation)
    _release_freed_memory()  # the float64 table and float32 copies are gone by now
    return arrays


def _checked_arguments(
    train: DataFrame,
    features: Any,
    test: DataFrame | None,
    validation: float,
    events: int | None,
    label: str,
) -> list[str]:
    """The feature columns, once every argument of :func:`to_arrays` is checked."""
    from pyspark.sql import DataFrame as SparkDataFrame

    if isinstance(features, SparkDataFrame):
        raise TypeError(
            "to_arrays(train, features, *, test=...): the second argument names the "
            "features; pass the test events as test=test (or score them in Spark with "
            "score_with_keras)"
        )
    if not 0.0 <= validation < 1.0:
        raise ValueError(f"validation must be a fraction in [0, 1), got {validation!r}")
    if events is not None and events < 2:
        raise ValueError(f"events must be at least 2 (or None for all), got {events!r}")
    names = feature_columns(train, features)
    for df, what in ((train, "to_arrays: the training set"), (test, "to_arrays: the test set")):
        if df is not None and label not in df.columns:
            raise DataError(f"to_arrays: no label column {label!r}; columns: {df.columns}")
        if df is not None:
            require_numeric(df, [*names, label], what)
    return names


def _check_driver_room(
    train: DataFrame, chosen: int, test_rows: int, n_features: int, max_bytes: int | None
) -> None:
    """Refuse, before any job, arrays the driver cannot hold while they are collected."""
    # kept: features and label as float32; collected: the validation flag too, one table
    # at a time while the arrays of the other are kept
    kept = (chosen + test_rows) * (n_features + 1) * KEPT_BYTES_PER_VALUE
    peak = max(chosen, test_rows) * (n_features + 2) * PEAK_BYTES_PER_VALUE + kept
    limit, why = (
        (max_bytes, "max_bytes")
        if max_bytes is not None
        else _driver_memory_limit(train.sparkSession)
    )
    if peak > limit:
        raise DataError(
            f"to_arrays: {chosen:,} training and {test_rows:,} test events x "
            f"{n_features + 1} values need {_human(kept)} on the driver as float32 arrays, "
            f"and {_human(peak)} while they are collected (Arrow batches, a pandas frame "
            f"and float64 arrays at once); the limit is {_human(limit)} ({why}). Take "
            "fewer events (events=...), fewer test events (score them in Spark with "
            "score_with_keras), or a driver with more memory."
        )


def _collect(
    train: DataFrame,
    test: DataFrame | None,
    names: list[str],
    label: str,
    chosen: int,
    available: int,
    seed: int,
    validation: float,
) -> Arrays:
    """The sample (its validation part marked) and the test events as float32 arrays."""
    # the first `chosen` events by key; two events of ~14k share a 30-bit key about one
    # time in ten, and Spark orders equal keys as the partitions come: their values
    # decide, so that the sample is the same on any partitioning
    key = row_key(train, seed)
    ties = hashable_columns(train)
    sample = train if chosen == available else train.orderBy(key, *ties).limit(chosen)
    in_val = in_fraction(sample, validation, seed + 1)
    # One job for the sample: features, label and the validation flag together.
    table, _ = to_numpy(
        sample.withColumn("_mlcourse_val", in_val.cast("double")),
        [*names, label, "_mlcourse_val"],
        label=None,
    )
    val = table[:, -1] == 1.0
    check_arrays(table[:, : len(names)], table[:, len(names)], names, label, "training")
    x, y = table[:, : len(names)].astype(np.float32), table[:, len(names)].astype(np.float32)
    x_test = y_test = None
    if test is not None:
        test_table, _ = to_numpy(test, [*names, label], label=None)
        check_arrays(test_table[:, :-1], test_table[:, -1], names, label, "test")
        x_test = test_table[:, :-1].astype(np.float32)
        y_test = test_table[:, -1].astype(np.float32)
    return Arrays(x[~val], y[~val], x[val], y[val], x_test, y_test, tuple(names))


def _release_freed_memory() -> None:
    """Collect garbage and hand the memory it freed back to the operating system.

    A kernel that trains network after network frees each one's compiled functions (a
    model and its trainer refer to each other: only the cycle collector frees them) and
    each sample's Arrow batches, pandas frame and float64 table; glibc keeps what it
    frees in its arenas, so the kernel's resident memory only grows. ``malloc_trim``
    returns the free pages: 0.07 GiB less at the peak of Day 3 on the binder profile
    (``benchmarks/notebook_budget.py``). A no-op where the C library has no
    ``malloc_trim`` (macOS, musl).
    """
    import ctypes
    import gc

    gc.collect()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


# --------------------------------------------------------------------------- the network


def build_network(
    n_features: int,
    *,
    layers: int = 1,
    units: int = 100,
    dropout: float = 0.0,
    learning_rate: float = 1e-3,
    normalize: np.ndarray | None = None,
    seed: int | None = None,
) -> Any:
    """The course's network for signal against background, compiled and untrained.

    ``layers`` dense ReLU layers of ``units`` each (each followed by dropout when
    ``dropout`` > 0), then one sigmoid output: the probability of signal. Adam and binary
    cross-entropy, with AUC and accuracy as metrics. Train it yourself with ``model.fit``.

    Parameters
    ----------
    n_features : int
        Number of input features (28 for all, 21 low-level, 7 high-level).
    layers, units : int, default 1, 100
        Depth and width (the old course's network: one layer of 100).
    dropout : float, default 0.0
        Dropout rate after each hidden layer.
    learning_rate : float, default 1e-3
        Adam's learning rate.
    normalize : numpy.ndarray, optional
        Training features: when given, a first ``Normalization`` layer learns their mean
        and variance, so the model carries its own scaling to wherever it scores.
    seed : int, optional
        Seed of the initial weights and of dropout.

    Returns
    -------
    keras.Model
        Compiled; its metrics are ``loss``, ``auc`` and ``accuracy``.

    Examples
    --------
    >>> model = build_network(28, layers=2, units=64, dropout=0.1, seed=1)
    >>> [layer.name for layer in model.layers]
    ['features', 'dense_1', 'dropout_1', 'dense_2', 'dropout_2', 'signal_probability']
    >>> model.output_shape
    (None, 1)
    """
    keras = import_keras()
    for name, value in (("n_features", n_features), ("layers", layers), ("units", units)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")

    def init(i: int) -> Any:
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed + i)

    inputs = keras.Input(shape=(n_features,), name="features")
    x = inputs
    if normalize is not None:
        norm = keras.layers.Normalization(name="normalization")
        norm.adapt(np.asarray(normalize, dtype=np.float32))
        x = norm(x)
    for i in range(1, layers + 1):
        x = keras.layers.Dense(
            units, activation="relu", kernel_initializer=init(i), name=f"dense_{i}"
        )(x)
        if dropout:
            rate_seed = None if seed is None else seed + 1000 + i
            x = keras.layers.Dropout(dropout, seed=rate_seed, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(
        1, activation="sigmoid", kernel_initializer=init(0), name="signal_probability"
    )(x)
    model = keras.Model(inputs, outputs, name=f"higgs_{layers}x{units}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=[keras.metrics.AUC(name="auc"), "accuracy"],
    )
    return model


def check_network(model: Any, arrays: Arrays, history: Any = None) -> str:
    """One line for a student who wrote a network: does it train, and if not, why not?

    Checks what the exercise asks, in order, and names the first thing missing with a
    hint: a Keras model taking the arrays' features, one sigmoid output, a
    ``Normalization`` layer adapted on the training features, compiled with binary
    cross-entropy, trained with the validation part watched (``history``), and better than
    a guess on the validation events (its own AUC, with its uncertainty).

    Parameters
    ----------
    model : keras.Model
        The student's network, trained.
    arrays : Arrays
        What it trained on (:func:`to_arrays`).
    history : keras.callbacks.History, optional
        What ``model.fit`` returned.

    Returns
    -------
    str
        ``"passed: ..."`` or ``"not yet: ..."``.
    """
    from mlcourse.analysis.metrics import roc_curve_arrays

    keras = import_keras()
    width = arrays.x_train.shape[1]
    if not isinstance(model, keras.Model):
        return (
            f"not yet: model is a {type(model).__name__}, not a Keras model; build it with "
            "keras.Input, layers and keras.Model(inputs, outputs)"
        )
    if tuple(model.input_shape) != (None, width):
        return (
            f"not yet: the network takes inputs of shape {model.input_shape}, the arrays "
            f"have {width} features per event: keras.Input(shape=({width},))"
        )
    if tuple(model.output_shape) != (None, 1) or activation_name(model.layers[-1]) != "sigmoid":
        return (
            "not yet: the output should be one probability of signal per event: "
            'keras.layers.Dense(1, activation="sigmoid") as the last layer'
        )
    if not any(isinstance(layer, keras.layers.Normalization) for layer in model.layers):
        return (
            "not yet: the features are not scaled: a keras.layers.Normalization layer, "
            "adapted on arrays.x_train, first after the input"
        )
    loss = getattr(model, "loss", None)
    name = getattr(loss, "name", loss if isinstance(loss, str) else "")
    if model.optimizer is None or name not in ("binary_crossentropy", "BinaryCrossentropy"):
        return (
            'not yet: compile with loss="binary_crossentropy" and an optimiser (Adam), '
            'with keras.metrics.AUC(name="auc") as a metric'
        )
    data = getattr(history, "history", history)
    if not isinstance(data, dict) or not any(k.startswith("val_") for k in data):
        return (
            "not yet: pass what model.fit returned, trained with "
            "validation_data=(arrays.x_val, arrays.y_val) so that early stopping can watch it"
        )
    scores = model.predict(arrays.x_val, verbose=0, batch_size=4096)
    roc = roc_curve_arrays(arrays.y_val, scores)
    epochs = len(next(iter(data.values())))
    if not roc.auc - 3 * roc.auc_error > 0.55:
        return (
            f"not yet: validation AUC {roc.auc:.3f} ± {roc.auc_error:.3f} after {epochs} "
            "epochs, hardly better than a guess: check the learning rate, the epochs and "
            "that the labels are arrays.y_train"
        )
    return (
        f"passed: the network trains; validation AUC {roc.auc:.3f} ± {roc.auc_error:.3f} "
        f"after {epochs} epochs"
    )


# --------------------------------------------------------------------------- scoring in Spark
