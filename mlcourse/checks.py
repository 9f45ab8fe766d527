"""Exercise checks: one line of feedback as the student works, computed from their own data.

Each checkable exercise of the notebooks ends with a cell such as::

    mlcourse.check("day1.ex1", signal_fraction, df=df)

that prints ``day1.ex1: passed: ...`` or ``day1.ex1: not yet: ...`` with what is wrong and a
hint. A check never prints the expected value: where the answer depends on the data (the
number of events, real or synthetic, the seed) it recomputes what it needs from the
DataFrame, model or session the student passes in, in Spark, and compares; elsewhere it
checks properties (the right keys, values in range, consistency between answers).

When ``$MLCOURSE_CHECK_LOG`` names a file, every check also appends its result there as one
JSON line: ``mlcourse grade`` (:mod:`mlcourse.grading`) reads them into the gradebook.

Why not otter-grader or nbgrader: their checks compare an answer with expected values or
outputs written into the assignment (otter's OK test files, nbgrader's hidden test cells),
and the values here change with the data; their graders run each submission in a Docker
container (otter) or from a course database and exchange folder (nbgrader), neither of which
a student's hub or CI has, and neither bounds the memory of a notebook's Spark JVM.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .higgs import FEATURES, HIGH_LEVEL, LABEL

__all__ = ["EXERCISES", "CheckResult", "check", "evaluate"]

#: Environment variable naming a file where each check appends its result (JSON lines).
LOG_VARIABLE = "MLCOURSE_CHECK_LOG"
#: How far a student's AUC may be from the one recomputed here: an AUC from Spark's
#: BinaryClassificationEvaluator (exact) differs from the binned one by far less.
AUC_TOLERANCE = 2e-3


class NotYet(Exception):
    """Raised by a check with the line to show the student."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes
    ----------
    exercise : str
        Such as ``"day1.ex1"``.
    passed : bool
    message : str
        What was found, or what is wrong and a hint; never the expected value.
    """

    exercise: str
    passed: bool
    message: str

    def __str__(self) -> str:
        return f"{self.exercise}: {'passed' if self.passed else 'not yet'}: {self.message}"


_CHECKS: dict[str, Callable[..., str]] = {}
_TITLES: dict[str, str] = {}


#: Each exercise's variables in the notebook: its answer, and the check's other arguments.
_VARIABLES: dict[str, tuple[str, dict[str, str]]] = {}


def _exercise(
    name: str, title: str, answer: str, **context: str
) -> Callable[[Callable[..., str]], Callable[..., str]]:
    def register(function: Callable[..., str]) -> Callable[..., str]:
        _CHECKS[name], _TITLES[name] = function, title
        _VARIABLES[name] = (answer, context)
        return function

    return register


def evaluate(exercise: str, answer: Any = None, /, **context: Any) -> CheckResult:
    """Check an answer and return the result (:func:`check` prints it).

    Parameters
    ----------
    exercise : str
        The exercise's name, as the notebook's check cell gives it (see ``EXERCISES``).
    answer : object
        The student's answer.
    **context
        What the check recomputes from: the student's DataFrame, model, test events...

    Returns
    -------
    CheckResult

    Raises
    ------
    KeyError
        For an unknown exercise (a typo in the check cell, not a wrong answer).
    """
    function = _CHECKS.get(exercise)
    if function is None:
        raise KeyError(f"no exercise {exercise!r}; the exercises are {', '.join(sorted(_CHECKS))}")
    try:
        return CheckResult(exercise, True, function(answer, **context))
    except NotYet as wrong:
        return CheckResult(exercise, False, str(wrong))
    except Exception as error:  # a student's answer can be anything
        message = f"could not check this answer ({type(error).__name__}: {error})"
        return CheckResult(exercise, False, message.splitlines()[0][:300])


def check(exercise: str, *answer: Any, **context: Any) -> None:
    """Check an exercise's answer and print one line: passed, or what is wrong and a hint.

    In a notebook, ``mlcourse.check("day1.ex1")`` takes the answer and what the check needs
    from the notebook's variables (``signal_fraction`` and ``df`` here), as otter-grader's
    ``grader.check`` does: before the exercise is done the cell says what is missing, and
    Run All goes on. The answer and the context may also be passed explicitly.

    Parameters
    ----------
    exercise : str
        The exercise's name, such as ``"day1.ex1"``.
    *answer : object
        The student's answer; default the notebook's variable of that exercise.
    **context
        What the check recomputes from; default the notebook's variables.

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(1_000, seed=1, spark=spark)
    >>> mlcourse.check("day1.ex1", 0.5, df=df)
    day1.ex1: not yet: signal_fraction is not the fraction of label-1 events in df: count both classes over the whole DataFrame
    """  # noqa: E501
    if answer or context:
        result = evaluate(exercise, *answer, **context)
    else:
        result = _from_variables(exercise, sys._getframe(1).f_globals)
    print(result)
    log = os.environ.get(LOG_VARIABLE)
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(result)) + "\n")


def _from_variables(exercise: str, variables: Mapping[str, Any]) -> CheckResult:
    """Check an exercise on the notebook's variables (the caller's globals)."""
    if exercise not in _VARIABLES:
        evaluate(exercise)  # raises KeyError naming the exercises
    answer, context = _VARIABLES[exercise]
    missing = [name for name in (answer, *context.values()) if name not in variables]
    if missing:
        what = ", ".join(f"`{name}`" for name in missing)
        return CheckResult(exercise, False, f"no {what} yet: do the exercise above, run it")
    arguments = {key: variables[name] for key, name in context.items()}
    return evaluate(exercise, variables[answer], **arguments)


# --------------------------------------------------------------------------- helpers


def _number(value: Any, name: str, *, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a finite float within [low, high], or NotYet saying what it is."""
    numeric = isinstance(value, (int, float)) or hasattr(value, "__float__")
    if isinstance(value, bool) or not numeric:
        raise NotYet(f"{name} should be a number, not a {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise NotYet(f"{name} should be a number between {low:g} and {high:g}")
    return number


def _mapping(value: Any, name: str, keys: Iterable[Any] | None = None) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise NotYet(f"{name} should be a dict, not a {type(value).__name__}")
    if keys is not None and set(value) != set(keys):
        wanted = ", ".join(map(repr, keys))
        raise NotYet(f"{name} should have exactly the keys {wanted}; it has {list(value)!r}")
    return value


def _auc_of(model: Any, test: Any) -> float:
    from .metrics import roc_curve

    return roc_curve(model.transform(test)).auc


def _same_auc(value: Any, name: str, model: Any, test: Any, what: str) -> str:
    auc = _number(value, name, low=0.0, high=1.0)
    if abs(auc - _auc_of(model, test)) > AUC_TOLERANCE:
        raise NotYet(
            f"{name} is not the AUC of {what} on these test events: transform the test "
            "set (not the training set) and take the AUC of the predictions"
        )
    if auc <= 0.5:
        raise NotYet(f"{name} is no better than a coin toss (0.5): did the model train?")
    return f"{name} {auc:.3f} is the test AUC of {what}"


# --------------------------------------------------------------------------- Day 1


def _signal_fraction(value: Any, df: Any, name: str = "signal_fraction") -> str:
    from pyspark.sql import functions as F

    fraction = _number(value, name, low=0.0, high=1.0)
    truth = df.agg(F.avg(F.col(LABEL).cast("double"))).first()[0]
    if math.isclose(fraction, 1 - truth, abs_tol=1e-9) and not math.isclose(truth, 0.5):
        raise NotYet(f"{name} is the fraction of background: signal events have label 1")
    if not math.isclose(fraction, truth, abs_tol=1e-9):
        raise NotYet(
            f"{name} is not the fraction of label-1 events in df: count both classes over "
            "the whole DataFrame"
        )
    return f"{name} is the fraction of signal events in df"


@_exercise("day1.ex1", "signal and background counts, signal_fraction", "signal_fraction", df="df")
def _day1_ex1(signal_fraction: Any, *, df: Any) -> str:
    return _signal_fraction(signal_fraction, df)


@_exercise("day1.ex2", "lepton_pT and m_wbb side by side, normalised", "fig")
def _day1_ex2(fig: Any, *, names: tuple[str, ...] = ("lepton_pT", "m_wbb")) -> str:
    from matplotlib.figure import Figure
    from matplotlib.patches import StepPatch

    if not isinstance(fig, Figure):
        raise NotYet(f"pass the figure (fig, axes = plt.subplots(1, 2)), not a {type(fig)}")
    by_name = {ax.get_xlabel(): ax for ax in fig.axes}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise NotYet(f"no plot of {', '.join(missing)} in this figure: one Axes per feature")
    for name in names:
        patches = [p for p in by_name[name].patches if isinstance(p, StepPatch)]
        if len(patches) < 2:
            raise NotYet(f"the {name} plot should show two histograms, signal and background")
        for patch in patches:
            values, edges, _ = patch.get_data()
            if not math.isclose(float((values * (edges[1:] - edges[:-1])).sum()), 1, rel_tol=1e-6):
                raise NotYet(f"the {name} histograms do not have unit area: density=True")
    return f"{' and '.join(names)} side by side, each class normalised to unit area"


@_exercise("day1.ex3", "the most correlated pair of features", "most_correlated", df="df")
def _day1_ex3(most_correlated: Any, *, df: Any) -> str:
    import numpy as np

    from .aggregate import correlation_matrix

    if not isinstance(most_correlated, (tuple, list)) or len(most_correlated) != 2:
        raise NotYet("most_correlated should be a pair of feature names, (name_1, name_2)")
    a, b = most_correlated
    if a == b:
        raise NotYet("most_correlated should name two different features")
    names, matrix = correlation_matrix(df)
    unknown = [n for n in (a, b) if n not in names]
    if unknown:
        raise NotYet(f"{', '.join(map(repr, unknown))}: not a feature of df")
    off_diagonal = np.abs(matrix - np.eye(len(names)))
    mine = off_diagonal[names.index(a), names.index(b)]
    if mine < off_diagonal.max() - 1e-12:
        raise NotYet(
            f"|correlation| of {a} and {b} is {mine:.2f}; another pair has a larger one: "
            "compare every off-diagonal coefficient by its absolute value"
        )
    return f"{a} and {b} are the most correlated pair"


@_exercise(
    "day1.ex4", "m_bb recomputed from the two b-tagged jets", "mbb_agreement", sample="sample"
)
def _day1_ex4(mbb_agreement: Any, *, sample: Any) -> str:
    import numpy as np

    from .physics import m_bb

    agreement = _number(mbb_agreement, "mbb_agreement", low=0.0, high=1.0)
    mine = m_bb(sample)
    two = ~np.isnan(mine)
    if not two.any():
        raise NotYet("sample has no event with exactly two b-tagged jets: take more events")
    truth = float((np.abs(mine[two] / sample["m_bb"].to_numpy()[two] - 1) < 0.01).mean())
    if abs(agreement - truth) > 1 / two.sum():
        raise NotYet(
            "mbb_agreement is not the fraction of two-tag events whose recomputed mass is "
            "within 1% of m_bb: keep only events with exactly two tagged jets (b-tag > 0), "
            "and add the four-vectors of those two jets"
        )
    return f"m_bb reproduced in {agreement:.0%} of the two-tag events"


# --------------------------------------------------------------------------- Day 1b

#: A shuffle in a physical plan: an Exchange that is not a broadcast.
_SHUFFLE = re.compile(r"(?<!Broadcast)Exchange ")


def _plan_text(query: Any) -> str:
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        query.explain()
    return printed.getvalue()


@_exercise("day1b.ex1", "which queries shuffle: shuffles", "shuffles", queries="queries")
def _day1b_ex1(shuffles: Any, *, queries: Any) -> str:
    table = _mapping(shuffles, "shuffles", list(_mapping(queries, "queries")))
    if any(not isinstance(v, bool) for v in table.values()):
        raise NotYet("each value of shuffles should be True or False")
    wrong = sum(
        table[name] != bool(_SHUFFLE.search(_plan_text(query))) for name, query in queries.items()
    )
    if wrong:
        raise NotYet(
            f"{wrong} of the {len(table)} answers differ from what the plans say: print each "
            "plan (query.explain()) and look for an Exchange that is not a BroadcastExchange"
        )
    return f"all {len(table)} queries classified as their plans say"


def _stages_run(df: Any, action: Callable[[], Any]) -> int:
    """The stages that ran tasks (skipped ones not counted) for the jobs of ``action``."""
    import time
    import uuid

    from ._hadoop import classic_only

    classic_only(
        df.sparkSession,
        "counting the stages a query ran (the driver's status tracker)",
        "run Day 1b with a classic profile (local, binder), where the Spark UI is yours too",
    )
    sc = df.sparkSession.sparkContext
    group = f"mlcourse-check-{uuid.uuid4().hex[:8]}"
    sc.setJobGroup(group, "mlcourse: an exercise check")
    try:
        action()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
    tracker = sc.statusTracker()
    for _ in range(200):  # the status store hears of a job's end just after the action
        jobs = [tracker.getJobInfo(j) for j in tracker.getJobIdsForGroup(group)]
        if jobs and all(job is not None and job.status != "RUNNING" for job in jobs):
            break
        time.sleep(0.05)
    stages = {s for job in jobs if job is not None for s in job.stageIds}
    infos = [tracker.getStageInfo(s) for s in stages]
    return sum(1 for info in infos if info is not None and info.numCompletedTasks > 0)


@_exercise("day1b.ex2", "the stages a sort runs: sort_stages", "sort_stages", df="df")
def _day1b_ex2(sort_stages: Any, *, df: Any) -> str:
    count = _number(sort_stages, "sort_stages", low=0, high=1000)
    ran = _stages_run(df, lambda: df.orderBy("m_bb").write.format("noop").mode("overwrite").save())
    if count != ran:
        raise NotYet(
            "that is not the number of stages the sort runs: count the stages of all its "
            "jobs whose status is COMPLETE, once each (a SKIPPED stage did not run)"
        )
    return "the sort's stages counted, skipped ones left out"


_PARTITION_EXPRESSIONS = {
    "repartition(8)": lambda df: df.repartition(8),
    "repartition(8).coalesce(3)": lambda df: df.repartition(8).coalesce(3),
    "coalesce(3).repartition(8)": lambda df: df.coalesce(3).repartition(8),
}


@_exercise("day1b.ex3", "partitions after repartition and coalesce", "partitions", df="df")
def _day1b_ex3(partitions: Any, *, df: Any) -> str:
    from ._hadoop import classic_only

    classic_only(
        df.sparkSession,
        "counting partitions (DataFrame.rdd)",
        "run Day 1b with a classic profile (local, binder)",
    )
    table = _mapping(partitions, "partitions", list(_PARTITION_EXPRESSIONS))
    wrong = sum(
        _number(table[key], f"partitions[{key!r}]", low=0) != make(df).rdd.getNumPartitions()
        for key, make in _PARTITION_EXPRESSIONS.items()
    )
    if wrong:
        raise NotYet(
            f"{wrong} of the {len(table)} counts differ from Spark's: check each with "
            ".rdd.getNumPartitions(), and remember that coalesce never adds partitions"
        )
    return f"all {len(table)} partition counts right"


# --------------------------------------------------------------------------- Day 2


@_exercise(
    "day2_gbt.ex1",
    "a GBT on the 7 high-level features: auc_high",
    "auc_high",
    model="model_high",
    test="test_high",
)
def _day2_gbt_ex1(auc_high: Any, *, model: Any, test: Any) -> str:
    n = getattr(model, "numFeatures", None)
    if n != len(HIGH_LEVEL):
        raise NotYet(
            f"the model takes {n} features; train it on the 7 high-level ones "
            "(assemble_features(..., 'high', output_col='high'), featuresCol='high')"
        )
    return _same_auc(auc_high, "auc_high", model, test, "the high-level GBT")


def _cross_validated(cv_model: Any, folds: int | None, params: int) -> None:
    from pyspark.ml.tuning import CrossValidatorModel

    if not isinstance(cv_model, CrossValidatorModel):
        raise NotYet(f"cv_model should be what CrossValidator.fit returns, not {type(cv_model)}")
    if folds is not None and cv_model.getNumFolds() != folds:
        raise NotYet(f"the cross-validation has {cv_model.getNumFolds()} folds, not {folds}")
    grid = cv_model.getEstimatorParamMaps()
    if len(grid) < 2 or min(len(p) for p in grid) < params:
        raise NotYet(
            f"the grid should try several values of {params} hyper-parameter(s) "
            "(ParamGridBuilder().addGrid(...))"
        )


@_exercise(
    "day2_gbt.ex2",
    "3-fold cross-validation: cv_auc on the test set",
    "cv_auc",
    cv_model="cv_model",
    test="test",
)
def _day2_gbt_ex2(cv_auc: Any, *, cv_model: Any, test: Any) -> str:
    _cross_validated(cv_model, 3, 1)
    return _same_auc(cv_auc, "cv_auc", cv_model.bestModel, test, "the best model")


@_exercise("day2_mlp.ex1", "two other architectures: architectures", "architectures")
def _day2_mlp_ex1(architectures: Any) -> str:
    table = _mapping(architectures, "architectures")
    if len(table) < 2:
        raise NotYet("architectures should hold (at least) two networks")
    for key, auc in table.items():
        try:
            layers = [int(n) for n in str(key).split("-")]
        except ValueError:
            raise NotYet(f"{key!r}: name each network by its layers, such as '28-60-2'") from None
        if layers[0] != len(FEATURES) or layers[-1] != 2 or len(layers) < 3:
            raise NotYet(
                f"{key!r}: a network here takes {len(FEATURES)} inputs, has hidden layers "
                "and 2 outputs"
            )
        if _number(auc, f"architectures[{key!r}]", low=0.0, high=1.0) <= 0.5:
            raise NotYet(f"{key!r} is no better than a coin toss: did it train (maxIter)?")
    return f"{len(table)} architectures, each with its AUC"


# --------------------------------------------------------------------------- Day 3


@_exercise(
    "day3.ex1", "a network built, compiled and trained", "model", arrays="arrays", history="history"
)
def _day3_ex1(model: Any, *, arrays: Any, history: Any = None) -> str:
    from .neural import check_network

    line = check_network(model, arrays, history)
    verdict, _, message = line.partition(": ")
    if verdict != "passed":
        raise NotYet(message)
    return message


def _aucs(value: Any, name: str, keys: Iterable[Any]) -> dict[Any, float]:
    table = _mapping(value, name, list(keys))
    aucs = {k: _number(v, f"{name}[{k!r}]", low=0.0, high=1.0) for k, v in table.items()}
    if min(aucs.values()) <= 0.5:
        raise NotYet(f"an AUC in {name} is no better than a coin toss: did every network train?")
    return aucs


@_exercise(
    "day3.ex2", "train_and_score over seeds 1-3: auc_by_seed", "auc_by_seed", seed_runs="seed_runs"
)
def _day3_ex2(auc_by_seed: Any, *, seed_runs: Any = None) -> str:
    aucs = _aucs(auc_by_seed, "auc_by_seed", (1, 2, 3))
    if len(set(aucs.values())) == 1:
        raise NotYet(
            "the three AUCs are identical: does train_and_score pass the seed to "
            "keras.utils.set_random_seed?"
        )
    if seed_runs is not None:
        for seed, auc in aucs.items():
            if not math.isclose(auc, seed_runs[seed][0].auc, abs_tol=1e-12):
                raise NotYet(f"auc_by_seed[{seed}] is not the AUC of seed_runs[{seed}]'s report")
    return "three seeds, three AUCs"


@_exercise("day3.ex3", "shallow and deep networks on low, high and all features", "reports")
def _day3_ex3(reports: Any) -> str:
    keys = [(d, g) for d in ("shallow", "deep") for g in ("low", "high", "all")]
    aucs = _aucs(
        {k: getattr(v, "auc", v) for k, v in _mapping(reports, "reports").items()},
        "reports",
        keys,
    )
    for group in ("low", "high"):
        if aucs["shallow", group] == aucs["shallow", "all"]:
            raise NotYet(f"the {group!r} networks score as the 'all' ones: pass the features")
    return "six networks, each with its test report"


@_exercise("day3.ex4", "AUC against the number of training events: auc_by_size", "auc_by_size")
def _day3_ex4(auc_by_size: Any) -> str:
    table = _mapping(auc_by_size, "auc_by_size")
    if len(table) < 3 or not {2_000, 5_000} <= set(table):
        raise NotYet("auc_by_size should hold 2,000, 5,000 and the whole sample's events")
    aucs = _aucs(table, "auc_by_size", table)
    return f"{len(aucs)} sample sizes, each with its AUC"


# --------------------------------------------------------------------------- Day 4


@_exercise(
    "day4.ex1",
    "early stopping: best_iteration and auc_early",
    "best_iteration",
    model="early_model",
    auc_early="auc_early",
    test="test",
)
def _day4_ex1(best_iteration: Any, *, model: Any, auc_early: Any, test: Any) -> str:
    booster = model.get_booster()
    grown, most = booster.num_boosted_rounds(), model.getOrDefault("n_estimators")
    if grown >= most:
        raise NotYet(
            f"all {most} trees were grown: early stopping needs early_stopping_rounds and "
            "validation_indicator_col (the column of validation events)"
        )
    if best_iteration != getattr(booster, "best_iteration", None):
        raise NotYet("best_iteration is not the booster's: get_booster().best_iteration")
    _same_auc(auc_early, "auc_early", model, test, "the early-stopped model")
    return f"stopped after {grown} trees, best at tree {best_iteration + 1}; auc_early is its AUC"


def _timings(value: Any, name: str, keys: Iterable[Any]) -> None:
    table = _mapping(value, name, list(keys))
    for key, seconds in table.items():
        _number(seconds, f"{name}[{key!r}]", low=1e-9)


@_exercise(
    "day4.ex2",
    "times against the number of workers",
    "times_by_workers",
    slots="slots",
    times_by_executors="times_by_executors",
    cores="cores",
)
def _day4_ex2(
    times_by_workers: Any, *, slots: int, times_by_executors: Any = None, cores: int = 0
) -> str:
    _timings(times_by_workers, "times_by_workers", range(1, slots + 1))
    if times_by_executors is not None:
        _timings(times_by_executors, "times_by_executors", range(1, cores + 1))
    return "a time for every number of workers"


# --------------------------------------------------------------------------- final hands-on


@_exercise("final.q1", "the fraction of signal events", "signal_fraction", df="df")
def _final_q1(signal_fraction: Any, *, df: Any) -> str:
    return _signal_fraction(signal_fraction, df)


@_exercise("final.q2", "k parts of about equal size: part_sizes", "part_sizes", df="df", k="k")
def _final_q2(part_sizes: Any, *, df: Any, k: int = 5) -> str:
    if not isinstance(part_sizes, (list, tuple)) or len(part_sizes) != k:
        raise NotYet(f"part_sizes should be a list of the {k} parts' sizes")
    sizes = [int(_number(s, "a part's size", low=0)) for s in part_sizes]
    n = df.count()
    if sum(sizes) != n:
        raise NotYet(
            f"the parts hold {sum(sizes):,} events in all and df {n:,}: every event must be "
            "in exactly one part"
        )
    sigma = math.sqrt(n * (1 / k) * (1 - 1 / k))
    if max(abs(s - n / k) for s in sizes) > 5 * sigma:
        raise NotYet("the parts are not of about equal size: give each part the same chance")
    return f"{k} parts of about equal size, every event in exactly one"


@_exercise(
    "final.q3", "your classifier's test AUC: my_auc", "my_auc", model="my_model", test="test"
)
def _final_q3(my_auc: Any, *, model: Any, test: Any) -> str:
    return _same_auc(my_auc, "my_auc", model, test, "your classifier")


@_exercise("final.q4", "train and test AUC against depth: fit_table", "fit_table")
def _final_q4(fit_table: Any) -> str:
    rows = list(fit_table) if isinstance(fit_table, (list, tuple)) else None
    if not rows or any(not isinstance(r, (list, tuple)) or len(r) != 3 for r in rows):
        raise NotYet("fit_table should be a list of (depth, train AUC, test AUC)")
    depths = [r[0] for r in rows]
    if len(rows) < 3 or depths != sorted(set(depths)):
        raise NotYet("fit_table should hold three depths or more, in increasing order")
    for depth, train, test in rows:
        _number(train, f"the train AUC at depth {depth}", low=0.5, high=1.0)
        _number(test, f"the test AUC at depth {depth}", low=0.5, high=1.0)
    _, train, test = rows[-1]
    if train < test:
        raise NotYet(
            "the deepest model scores better on the test set than on its own training "
            "events: are the train and test columns swapped?"
        )
    return f"{len(rows)} depths, with their train and test AUC"


@_exercise(
    "final.q5",
    "two hyper-parameters tuned by CrossValidator: tuned_auc",
    "tuned_auc",
    cv_model="cv_model",
    test="test",
)
def _final_q5(tuned_auc: Any, *, cv_model: Any, test: Any) -> str:
    _cross_validated(cv_model, None, 2)
    return _same_auc(tuned_auc, "tuned_auc", cv_model.bestModel, test, "the best model")


@_exercise("final.q6", "training times with 1 and 2 tasks: timings", "timings")
def _final_q6(timings: Any) -> str:
    table = _mapping(timings, "timings")
    names = {key[0] for key in table if isinstance(key, tuple) and len(key) == 2}
    keys = [(name, tasks) for name in sorted(names) for tasks in (1, 2)]
    if len(names) < 2:
        raise NotYet("timings should hold two models, each with 1 and 2 tasks: {(model, tasks)}")
    _timings(table, "timings", keys)
    return f"{len(names)} models timed with 1 and 2 tasks"


#: Every exercise with a check, and what it asks (read-only).
EXERCISES: Mapping[str, str] = _TITLES
