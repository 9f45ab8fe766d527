"""The machinery of the exercise checks: what an exercise needs, how it is found, what a
check returns. The checks themselves are in ``checks_day*.py`` and ``checks_final.py``; the
student's face is :mod:`mlcourse.course.checks`.

An exercise names the variable that holds its answer and what its check recomputes from
(:class:`Need`). Each need has the name the exercise's text gives it, and may say how to
recognise it among the notebook's variables when the student chose another name (a
cross-validated model is the notebook's ``CrossValidatorModel``, whatever it is called), or
that the check can do without it. Where several variables could be it, each is tried: the
answer passes when the check passes with one of them.
"""

from __future__ import annotations

import itertools
import logging
import math
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AUC_TOLERANCE",
    "GRADE_MIME",
    "CheckResult",
    "Exercise",
    "Need",
    "NotYet",
    "early_stoppings",
    "evaluate_in",
    "every_report",
    "exercise",
    "exercise_spec",
    "figures",
    "fitted_models",
    "mapping",
    "number",
    "registry",
    "reports",
    "run_check",
    "same_auc",
    "test_counts",
]

log = logging.getLogger(__name__)

#: How far a student's AUC may be from the one recomputed here: an AUC from Spark's
#: BinaryClassificationEvaluator (exact) differs from the binned one by far less.
AUC_TOLERANCE = 2e-3
#: The MIME type of the grader's results in an executed notebook (see mlcourse.course.gradekernel).
GRADE_MIME = "application/vnd.mlcourse.grade+json"
#: The most combinations of candidate variables one check tries.
MOST_TRIES = 6


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


Finder = Callable[[Mapping[str, Any]], list[Any]]


@dataclass(frozen=True)
class Need:
    """One thing a check reads from the notebook.

    Attributes
    ----------
    name : str
        The variable the exercise's text names.
    find : callable, optional
        Finds candidates among the notebook's variables when the student used another name.
    optional : bool
        The check can do without it (it then gets None).
    """

    name: str
    find: Finder | None = None
    optional: bool = False


@dataclass(frozen=True)
class Exercise:
    """A checked exercise: its check function and what the function reads."""

    name: str
    title: str
    function: Callable[..., str]
    answer: Need
    context: Mapping[str, Need]
    hints: tuple[str, ...] = field(default=())


_REGISTRY: dict[str, Exercise] = {}


def registry() -> Mapping[str, Exercise]:
    """Every registered exercise, by name (read-only view)."""
    return _REGISTRY


def exercise(
    name: str,
    title: str,
    answer: str | Need,
    *,
    hints: Iterable[str] = (),
    **context: str | Need,
) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register a check: ``answer`` and ``context`` say which variables it reads (a plain
    string is a :class:`Need` with that name), ``hints`` the hints, from a nudge to the
    method, that :func:`mlcourse.hint` gives one at a time (never the value)."""

    def need(value: str | Need) -> Need:
        return value if isinstance(value, Need) else Need(value)

    def register(function: Callable[..., str]) -> Callable[..., str]:
        _REGISTRY[name] = Exercise(
            name,
            title,
            function,
            need(answer),
            {key: need(value) for key, value in context.items()},
            tuple(hints),
        )
        return function

    return register


def exercise_spec(exercise_name: str) -> Exercise:
    """The registered exercise of that name; KeyError naming all of them for a typo."""
    spec = _REGISTRY.get(exercise_name)
    if spec is None:
        names = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"no exercise {exercise_name!r}; the exercises are {names}")
    return spec


def run_check(exercise_name: str, answer: Any, context: Mapping[str, Any]) -> CheckResult:
    """Run one check on given values; a check that raises anything fails with one line."""
    spec = exercise_spec(exercise_name)
    try:
        return CheckResult(exercise_name, True, spec.function(answer, **context))
    except NotYet as wrong:
        return CheckResult(exercise_name, False, str(wrong))
    except Exception as error:  # a student's answer can be anything
        message = f"could not check this answer ({type(error).__name__}: {error})"
        return CheckResult(exercise_name, False, message.splitlines()[0][:300])


# --------------------------------------------------------------------------- finding


def _values(namespace: Mapping[str, Any]) -> Iterator[Any]:
    """The notebook's public variables, and what their dicts, lists and tuples hold (three
    levels down, a few thousand objects at most)."""
    seen: set[int] = set()
    skip = (types.ModuleType, types.FunctionType, type)
    queue = [
        (value, 0)
        for key, value in list(namespace.items())
        if not key.startswith("_") and not isinstance(value, skip)
    ]
    while queue and len(seen) < 5000:
        value, depth = queue.pop(0)
        if id(value) in seen:
            continue
        seen.add(id(value))
        yield value
        if depth < 3 and isinstance(value, (Mapping, list, tuple)):
            items = value.values() if isinstance(value, Mapping) else value
            queue += [(item, depth + 1) for item in list(items)[:500]]


def candidates(need: Need, namespace: Mapping[str, Any]) -> list[Any]:
    """The variable the exercise names first, then what ``need.find`` recognises (nothing,
    should looking among the student's objects fail: a check never raises at the student)."""
    found = [namespace[need.name]] if need.name in namespace else []
    if need.find is not None:
        try:
            more = need.find(namespace)
        except Exception as error:  # the notebook's objects can be anything
            log.debug("finding %s failed: %s", need.name, error)
            more = []
        found += [v for v in more if all(v is not f for f in found)]
    return found


def evaluate_in(
    exercise_name: str,
    namespace: Mapping[str, Any],
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Check an exercise on a notebook's variables, with what the student passed explicitly
    (``args``: the answer; ``kwargs``: context by the check's keywords) taking precedence."""
    spec = exercise_spec(exercise_name)
    kwargs = dict(kwargs or {})
    unknown = sorted(set(kwargs) - set(spec.context))
    if unknown:
        wanted = ", ".join(spec.context) or "none"
        message = f"{exercise_name} takes no keyword {', '.join(unknown)} (it takes: {wanted})"
        return CheckResult(exercise_name, False, message)
    answers = [args[0]] if args else candidates(spec.answer, namespace)
    missing = [] if answers else [spec.answer.name]
    options: dict[str, list[Any]] = {}
    for key, need in spec.context.items():
        if key in kwargs:
            options[key] = [kwargs[key]]
        elif found := candidates(need, namespace):
            options[key] = found
        elif need.optional:
            options[key] = [None]
        else:
            missing.append(need.name)
    if missing:
        what = ", ".join(f"`{name}`" for name in missing)
        return CheckResult(exercise_name, False, f"no {what} yet: do the exercise above, run it")
    first = None
    for combination in itertools.islice(itertools.product(answers, *options.values()), MOST_TRIES):
        values = dict(zip(options, combination[1:], strict=True))
        result = run_check(exercise_name, combination[0], values)
        if result.passed:
            return result
        first = first or result
    assert first is not None
    return first


def fitted_models(accept: Callable[[Any], bool] = lambda _: True) -> Finder:
    """A finder of the notebook's fitted Spark ML models that ``accept`` takes."""

    def find(namespace: Mapping[str, Any]) -> list[Any]:
        from pyspark.ml import Model

        found = []
        for value in _values(namespace):
            if isinstance(value, Model):
                try:
                    ok = accept(value)
                except Exception:  # a model of another kind: not this one
                    ok = False
                if ok:
                    found.append(value)
        return found

    return find


def figures(namespace: Mapping[str, Any]) -> list[Any]:
    """The matplotlib figures the notebook's variables hold (a figure, an Axes, an array or
    list of Axes), the most recent last."""
    import sys

    if "matplotlib" not in sys.modules:
        return []
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    found: list[Any] = []
    for value in _values(namespace):
        # only what is certainly a figure, an Axes or an array of them: asking an unknown
        # object for an attribute can run code (a Spark Connect DataFrame makes a Column)
        items = list(value.flat) if isinstance(value, np.ndarray) else [value]
        for item in items:
            if not isinstance(item, (Figure, Axes)):
                continue
            figure: Any = item if isinstance(item, Figure) else item.figure
            if isinstance(figure, Figure) and all(figure is not f for f in found):
                found.append(figure)
    return found


def reports(namespace: Mapping[str, Any]) -> list[Any]:
    """The classification reports and ROC curves (mlcourse.analysis.metrics) the notebook holds.

    Recognised by their class's name and module, not by ``isinstance``: the grader imports
    ``mlcourse`` afresh, and the student's objects are of the classes imported before.
    """
    kinds = {"ClassificationReport", "RocCurve"}
    return [
        v
        for v in _values(namespace)
        if type(v).__name__ in kinds and type(v).__module__ == "mlcourse.analysis.metrics"
    ]


def every_report(namespace: Mapping[str, Any]) -> list[Any]:
    """One candidate: the list of all the notebook's reports (see :func:`reports`)."""
    return [reports(namespace)]


def early_stoppings(namespace: Mapping[str, Any]) -> list[Any]:
    """The Keras ``EarlyStopping`` callbacks among the notebook's variables."""
    import sys

    if "keras" not in sys.modules:
        return []
    import keras

    return [v for v in _values(namespace) if isinstance(v, keras.callbacks.EarlyStopping)]


# --------------------------------------------------------------------------- judging


def number(value: Any, name: str, *, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a finite float within [low, high], or NotYet saying what it is."""
    numeric = isinstance(value, (int, float)) or hasattr(value, "__float__")
    if isinstance(value, bool) or not numeric:
        raise NotYet(f"{name} should be a number, not a {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result) or not low <= result <= high:
        raise NotYet(f"{name} should be a number between {low:g} and {high:g}")
    return result


def mapping(value: Any, name: str, keys: Iterable[Any] | None = None) -> Mapping[Any, Any]:
    """``value`` as a dict (with exactly ``keys`` when given), or NotYet."""
    if not isinstance(value, Mapping):
        raise NotYet(f"{name} should be a dict, not a {type(value).__name__}")
    if keys is not None:
        keys = list(keys)
        if set(value) != set(keys):
            wanted = ", ".join(map(repr, keys))
            raise NotYet(f"{name} should have exactly the keys {wanted}; it has {list(value)!r}")
    return value


def test_counts(test: Any) -> tuple[int, int]:
    """(background, signal) events of a DataFrame, in one aggregation."""
    from pyspark.sql import functions as F

    from mlcourse.higgs import LABEL

    row = test.agg(
        F.sum((F.col(LABEL) == 0).cast("long")), F.sum((F.col(LABEL) == 1).cast("long"))
    ).first()
    return int(row[0] or 0), int(row[1] or 0)


def report_counts(report: Any) -> tuple[int, int] | None:
    """(background, signal) events a report or ROC curve was counted on."""
    roc = getattr(report, "roc", None) or report
    background = getattr(roc, "background_events", None)
    signal = getattr(roc, "signal_events", None)
    if background is None or signal is None:
        return None
    return int(background), int(signal)


def auc_of(model: Any, test: Any) -> float:
    """The AUC of ``model``'s predictions on ``test`` (mlcourse.analysis.metrics.roc_curve)."""
    from mlcourse.analysis.metrics import roc_curve

    return roc_curve(model.transform(test)).auc


def same_auc(value: Any, name: str, model: Any, test: Any, what: str) -> str:
    """Pass when ``value`` is the AUC of ``model`` on ``test`` and better than a coin."""
    auc = number(value, name, low=0.0, high=1.0)
    if abs(auc - auc_of(model, test)) > AUC_TOLERANCE:
        raise NotYet(
            f"{name} is not the AUC of {what} on these test events: transform the test "
            "set (not the training set) and take the AUC of the predictions"
        )
    if auc <= 0.5:
        raise NotYet(f"{name} is no better than a coin toss (0.5): did the model train?")
    return f"{name} {auc:.3f} is the test AUC of {what}"


def fingerprints(frame: Any, parts: Any, k: int) -> dict[int, tuple[int, int]]:
    """Per part of ``parts`` (``frame`` with a column ``part``, or a list of k frames):
    (events, a sum of hashes of their values), equal for equal parts."""
    from pyspark.sql import DataFrame, functions as F

    columns = frame.columns
    if isinstance(parts, DataFrame):
        if "part" not in parts.columns:
            raise NotYet("split_into_parts(frame, k) should return frame with a column `part`")
        labelled = parts
    elif isinstance(parts, (list, tuple)) and len(parts) == k:
        pieces = [
            piece.select(*columns).withColumn("part", F.lit(index))
            for index, piece in enumerate(parts)
        ]
        labelled = pieces[0]
        for piece in pieces[1:]:
            labelled = labelled.unionByName(piece)
    else:
        raise NotYet(f"split_into_parts(frame, k) should return frame with a `part` column "
                     f"(or a list of the {k} parts)")  # fmt: skip
    digest = F.sum(F.xxhash64(*[F.col(c) for c in columns]).cast("decimal(38,0)"))
    rows = labelled.groupBy("part").agg(F.count(F.lit(1)), digest).collect()
    return {int(r[0]): (int(r[1]), int(r[2] or 0)) for r in rows if r[0] is not None}


def partitioned_otherwise(df: Any) -> Any:
    """The same events in another number of partitions (3 more than now in a classic
    session; 7 over Spark Connect, which cannot say how many there are): what a student's
    split must not depend on."""
    from mlcourse.runtime.flavour import is_connect

    if is_connect(df.sparkSession):
        return df.repartition(7)
    return df.repartition(df.rdd.getNumPartitions() + 3)
