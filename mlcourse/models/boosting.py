"""Day 4: gradient boosting trained across the cluster with ``xgboost.spark``.

``SparkXGBClassifier`` runs one XGBoost worker per Spark task, all at once in a *barrier*
stage: ``num_workers`` tasks must find free slots together, or the job waits forever.
This module does what the course needs around it and nothing more: it checks the slots
and the cluster's settings before training (:func:`xgb_classifier` returns xgboost's own
estimator, with its own parameters), marks a reproducible validation part for early
stopping (:func:`with_validation`), and lets :func:`mlcourse.plot_feature_importance` read
an xgboost model. Its predictions (``probability``, ``prediction``) go to
:func:`mlcourse.roc_curve` and :func:`mlcourse.classification_report` unchanged.

xgboost must be installed on the executors too (it is a dependency of mlcourse). It does
not run over Spark Connect: it needs the classic driver's RDDs.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from mlcourse.analysis.features import in_fraction, require_columns
from mlcourse.data.contracts import checked_label, require_numeric, require_vector
from mlcourse.errors import ConfigError, DataError
from mlcourse.higgs import LABEL
from mlcourse.runtime.flavour import classic_only, jvm
from mlcourse.runtime.jobs import job_errors

if TYPE_CHECKING:
    from pyspark import SparkConf
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["task_slots", "with_validation", "xgb_classifier"]


def task_slots(spark: SparkSession) -> int:
    """How many tasks the session's executors can run at once (xgboost's own measure).

    ``local[N]``: N; a cluster: the cores of the registered executors divided by
    ``spark.task.cpus``.
    """
    jvm(spark, "counting task slots")  # the classic driver's scheduler
    jsc = spark.sparkContext._jsc
    assert jsc is not None
    sc = jsc.sc()
    profile = sc.resourceProfileManager().resourceProfileFromId(0)
    return int(sc.maxNumConcurrentTasks(profile))


def check_barrier(spark: SparkSession, num_workers: int) -> None:
    """Raise a clear error where a barrier stage of ``num_workers`` tasks could never start.

    Raises
    ------
    ConfigError
        ``num_workers`` exceeds the task slots, or dynamic allocation is on.
    """
    problem = barrier_problem(spark.sparkContext.getConf(), task_slots(spark), num_workers)
    if problem is not None:
        raise ConfigError(problem)


def barrier_problem(conf: SparkConf, slots: int, num_workers: int) -> str | None:
    """Why a barrier stage of ``num_workers`` tasks could not start, or None."""
    if int(num_workers) != num_workers or num_workers < 1:
        return f"num_workers must be a positive whole number, got {num_workers!r}"
    if (conf.get("spark.dynamicAllocation.enabled") or "false").lower() == "true":
        return (
            "xgboost.spark trains in a barrier stage, which Spark does not run with dynamic "
            "allocation: start the session with spark.dynamicAllocation.enabled=false and a "
            "fixed spark.executor.instances (for example in the profile of mlcourse.toml)."
        )
    if num_workers > slots:
        return (
            f"num_workers={num_workers} but this Spark session can run only {slots} task(s) "
            f"at once ({conf.get('spark.master')}): xgboost would wait forever for "
            f"{num_workers} free slots. Ask for num_workers <= {slots}, or start more "
            "executors or cores (%spark N, or the profile's spark.executor.instances)."
        )
    return None


def with_validation(
    df: DataFrame, fraction: float = 0.2, *, seed: int = 7, col: str = "validation"
) -> DataFrame:
    """Mark a reproducible part of the training events for validation (early stopping).

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The training events (the test events stay apart).
    fraction : float, default 0.2
        Share of the events marked.
    seed : int, default 7
        Chooses them, by a hash of each event (the same on any partitioning); use another
        seed than the train/test split's.
    col : str, default "validation"
        Name of the boolean column, for ``validation_indicator_col``.

    Returns
    -------
    pyspark.sql.DataFrame
        ``df`` with the boolean column ``col``.

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> marked = with_validation(df, 0.25)
    >>> n = marked.where("validation").count()
    >>> abs(n / 2_000 - 0.25) < 0.03
    True
    >>> with_validation(df.repartition(5), 0.25).where("validation").count() == n  # any split
    True
    """

    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
    return df.withColumn(col, in_fraction(df, fraction, seed))


def xgb_classifier(
    spark: SparkSession,
    *,
    num_workers: int | None = None,
    features_col: str = "features",
    label_col: str = LABEL,
    **params: Any,
) -> Any:
    """xgboost's ``SparkXGBClassifier`` for the course's feature vector, checked first.

    Parameters
    ----------
    spark : SparkSession
        The session it will train in (its task slots are checked).
    num_workers : int, optional
        XGBoost workers, one Spark task each; default every slot of the session.
    features_col, label_col : str
        The vector column of :func:`mlcourse.assemble_features` and the label.
    **params
        Any parameter of ``SparkXGBClassifier`` or of XGBoost itself, under xgboost's own
        names, passed through untouched (``n_estimators``, ``max_depth``, ``learning_rate``,
        ``early_stopping_rounds``, ``eval_metric``, ...). For early stopping,
        ``validation_indicator_col`` names the boolean column of :func:`with_validation`:
        those events are left out of training and evaluated each round. Two defaults
        differ from xgboost's: ``force_repartition=True`` (the events reach the workers
        evenly whatever the input's partitioning) and ``verbose=False``. Logging is left
        as it is: xgboost.spark logs INFO lines on its ``XGBoost-PySpark`` logger, which
        ``logging.getLogger("XGBoost-PySpark").setLevel("WARNING")`` quiets.

    Returns
    -------
    xgboost.spark.SparkXGBClassifier
        The estimator (a subclass): ``fit``, ``transform`` and every parameter as in
        xgboost. ``fit`` refuses, with one :class:`~mlcourse.errors.DataError`, events
        without a ``features_col`` vector, with a label other than 0 or 1, or none.

    Raises
    ------
    ConfigError
        Too few task slots for ``num_workers``, dynamic allocation on, or a Spark Connect
        session (xgboost.spark needs the classic driver).
    TypeError
        ``validation_col``, which ``SparkXGBClassifier`` would silently ignore (training on
        the validation events too): its name is ``validation_indicator_col``.

    Examples
    --------
    >>> xgb = xgb_classifier(spark, num_workers=2, n_estimators=20, max_depth=5)
    >>> xgb.getOrDefault("num_workers"), xgb.getOrDefault("max_depth")
    (2, 5)
    """
    import xgboost

    classic_only(
        spark,
        f"xgboost.spark's SparkXGBClassifier (xgboost {xgboost.__version__}: RDDs and the "
        "SparkContext)",
        "train pyspark.ml.classification.GBTClassifier, which runs over Spark Connect, or "
        "use a classic profile",
    )
    workers = task_slots(spark) if num_workers is None else num_workers
    check_barrier(spark, workers)
    if "validation_col" in params:
        raise TypeError(
            "SparkXGBClassifier has no validation_col and would ignore it, training on the "
            "validation events too: pass validation_indicator_col="
            f"{params['validation_col']!r} (xgboost's name)"
        )
    # Two defaults of our own, both xgboost parameters a caller may set otherwise:
    # - force_repartition: xgboost repartitions to num_workers only when the partition count
    #   differs, so data in num_workers partitions of unequal size (an empty one after a
    #   filter or a split) reach the workers unevenly ("Empty dataset at worker"); a
    #   round-robin repartition spreads the events, validation ones included, evenly.
    # - verbose=False: no evaluation line per round from every worker (stderr in a notebook).
    params.setdefault("force_repartition", True)
    params.setdefault("verbose", False)
    return checked_classifier()(
        features_col=features_col, label_col=label_col, num_workers=workers, **params
    )


@functools.cache
def checked_classifier() -> type:
    """``SparkXGBClassifier`` whose ``fit`` checks the events first (made on first use:
    xgboost is imported only by who trains with it).

    What the fit would otherwise do with bad events: a label 2 fails in every worker with
    a 105-line ``Py4JJavaError`` whose cause (``base_score must be in (0,1)``) is deep
    inside; a DataFrame without the vector column fails with ``[KEY_NOT_EXISTS]``; an
    empty one with ``IndexError: list index out of range``. The schema is checked before
    any job; the label (0 or 1) inside the training job itself; an empty training set by
    one small job that stops at the first event (xgboost's workers would fail on it with a
    page of Python trace).
    """
    from xgboost.spark import SparkXGBClassifier

    class CheckedXGBClassifier(SparkXGBClassifier):
        """xgboost's ``SparkXGBClassifier``, whose fit refuses bad events with one
        :class:`~mlcourse.errors.DataError` (see :func:`xgb_classifier`)."""

        def _fit(self, dataset: DataFrame) -> Any:
            features = self.getOrDefault(self.featuresCol)
            label = self.getOrDefault(self.labelCol)
            what = "xgb_classifier(...).fit: the training set"
            if isinstance(features, str):
                require_vector(dataset, features, what)
            require_columns(dataset, [label], what)
            require_numeric(dataset, [label], what)
            # xgboost's workers fail on no events with a page of Python trace: one small
            # job (up to the first event) first
            if dataset.isEmpty():
                raise DataError(
                    f"{what} holds no events: check the filter or split that made it "
                    "(df.count() says how many events it has)."
                )
            with job_errors():  # a bad label's check, stopping the training job: its DataError
                return super()._fit(dataset.withColumn(label, checked_label(label)))

    CheckedXGBClassifier.__module__ = __name__
    return CheckedXGBClassifier


def __getattr__(name: str) -> Any:
    """``CheckedXGBClassifier`` by its module path (pickle, ML persistence)."""
    if name == "CheckedXGBClassifier":
        return checked_classifier()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
