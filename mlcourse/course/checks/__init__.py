"""Exercise checks: one line of feedback as the student works, computed from their own data.

Each checkable exercise of the notebooks ends with a cell such as::

    mlcourse.check("day1.ex1")

that prints ``day1.ex1: passed: ...`` or ``day1.ex1: not yet: ...`` with what is wrong and a
hint. A check never prints the expected value: where the answer depends on the data (the
number of events, real or synthetic, the seed) it recomputes what it needs from the
student's own DataFrames, models and reports, in Spark, and compares; elsewhere it checks
properties (the right keys, values in range, consistency between answers).

The answer is the variable the exercise names; what the check recomputes from is found among
the notebook's variables, by the name the exercise gives it or, when the student chose
another name, by its kind (the notebook's ``CrossValidatorModel``, its figures, its reports).
Either can be passed explicitly: ``mlcourse.check("day2_gbt.ex2", cv_auc, model=my_cv)``.

:func:`hint` gives an exercise's hints one at a time, from a nudge to the method, never the
value; :func:`mlcourse.solution` shows a solution once the instructor's policy releases it.
A check's line counts the attempts and hints after the first (``[attempt 3, 1 hint]``), which
``mlcourse grade`` reads from the submitted notebook into the gradebook.

Grades are not taken from these lines: ``mlcourse grade`` runs every check again itself after
the student's last cell, with ``mlcourse`` imported afresh (:mod:`mlcourse.course.gradekernel`).

Why not otter-grader or nbgrader: their checks compare an answer with expected values or
outputs written into the assignment (otter's OK test files, nbgrader's hidden test cells),
and the values here change with the data; their graders run each submission in a Docker
container (otter) or from a course database and exchange folder (nbgrader), neither of which
a student's hub or CI has, and neither bounds the memory of a notebook's Spark JVM.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from mlcourse.course.checking import (
    GRADE_MIME,
    CheckResult,
    evaluate_in,
    exercise_spec,
    registry,
    run_check,
)
from mlcourse.course.checks import day1, day2, day3, day4, final  # noqa: F401

__all__ = ["EXERCISES", "GRADE_MIME", "CheckResult", "check", "evaluate", "hint"]

#: Attempts (checks run) and hints given, per exercise, in this kernel.
_ATTEMPTS: dict[str, int] = {}
_HINTS: dict[str, int] = {}


class _Titles(Mapping[str, str]):
    def __getitem__(self, name: str) -> str:
        return registry()[name].title

    def __iter__(self) -> Any:
        return iter(registry())

    def __len__(self) -> int:
        return len(registry())


#: Every exercise with a check, and what it asks (read-only).
EXERCISES: Mapping[str, str] = _Titles()


def evaluate(exercise: str, answer: Any = None, /, **context: Any) -> CheckResult:
    """Check an answer on the values given (nothing is looked up) and return the result.

    Parameters
    ----------
    exercise : str
        The exercise's name, as the notebook's check cell gives it (see ``EXERCISES``).
    answer : object
        The student's answer.
    **context
        What the check recomputes from, by the check's keywords: the student's DataFrame,
        model, test events... Optional ones left out are None.

    Returns
    -------
    CheckResult

    Raises
    ------
    KeyError
        For an unknown exercise (a typo in the check cell, not a wrong answer).
    """
    spec = exercise_spec(exercise)
    full = {key: None for key, need in spec.context.items() if need.optional} | context
    return run_check(exercise, answer, full)


def _counts_suffix(exercise: str) -> str:
    attempts, hints = _ATTEMPTS.get(exercise, 0), _HINTS.get(exercise, 0)
    if attempts <= 1 and not hints:
        return ""
    return f" [attempt {attempts}, {hints} hint{'' if hints == 1 else 's'}]"


def check(exercise: str, *answer: Any, **context: Any) -> None:
    """Check an exercise's answer and print one line: passed, or what is wrong and a hint.

    In a notebook, ``mlcourse.check("day1.ex1")`` takes the answer and what the check needs
    from the notebook's variables (``signal_fraction`` and ``df`` here), as otter-grader's
    ``grader.check`` does: before the exercise is done the cell says what is missing, and
    Run All goes on. The answer and any of the context may also be passed explicitly;
    the rest is still found in the notebook.

    Parameters
    ----------
    exercise : str
        The exercise's name, such as ``"day1.ex1"``.
    *answer : object
        The student's answer; default the notebook's variable of that exercise.
    **context
        What the check recomputes from (by the check's keywords, such as ``model=``,
        ``test=``); default what the notebook holds.

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(spark, 1_000, seed=1)
    >>> mlcourse.check("final.q1", 0.5, df=df)
    final.q1: not yet: signal_fraction is not the fraction of label-1 events in df: count both classes over the whole DataFrame
    """  # noqa: E501
    variables = sys._getframe(1).f_globals
    result = evaluate_in(exercise, variables, answer[:1], context)
    _ATTEMPTS[exercise] = _ATTEMPTS.get(exercise, 0) + 1
    print(f"{result}{_counts_suffix(exercise)}")


def hint(exercise: str) -> None:
    """Print the next hint of an exercise: up to three, from a nudge to the method.

    Parameters
    ----------
    exercise : str
        The exercise's name, such as ``"day1.ex1"``.

    Examples
    --------
    >>> import mlcourse
    >>> mlcourse.hint("day1.ex3")
    day1.ex3, hint 1 of 3: mlcourse.correlation_matrix(df) gives the names and the matrix of coefficients.
    """  # noqa: E501
    spec = exercise_spec(exercise)
    hints = spec.hints or ("Read the exercise's text again: it names what to compute.",)
    given = _HINTS.get(exercise, 0)
    if given >= len(hints):
        print(
            f"{exercise}: all {len(hints)} hints given; the last was: {hints[-1]} "
            "(mlcourse.solution shows the solution once your instructor releases it)"
        )
        return
    _HINTS[exercise] = given + 1
    print(f"{exercise}, hint {given + 1} of {len(hints)}: {hints[given]}")


def report_to_grader(
    nonce: str,
    exercises: Sequence[str],
    namespace: Mapping[str, Any],
    arguments: Mapping[str, Any],
) -> None:
    """Check every exercise on the notebook's final variables and publish each result as
    one output of type :data:`GRADE_MIME` with ``nonce`` (the grader's last cell calls this;
    see :mod:`mlcourse.course.gradekernel`).

    Parameters
    ----------
    nonce : str
        This grading run's random token.
    exercises : sequence of str
        The notebook's exercises.
    namespace : mapping
        The notebook's variables.
    arguments : mapping
        Per exercise, the ``(args, kwargs)`` of the student's own explicit check call, or
        the exception its arguments raised.
    """
    import json

    # from its own module, reloaded by the grader's reset (IPython.display's copy is not)
    from IPython.core.display_functions import publish_display_data

    for exercise in exercises:
        given = arguments.get(exercise, ((), {}))
        if isinstance(given, BaseException):
            message = f"the arguments of your check cell raised {type(given).__name__}: {given}"
            result = CheckResult(exercise, False, message.splitlines()[0][:300])
        else:
            try:
                result = evaluate_in(exercise, namespace, tuple(given[0])[:1], dict(given[1]))
            except Exception as error:  # an unknown exercise name, a broken argument
                result = CheckResult(exercise, False, f"{type(error).__name__}: {error}"[:300])
        record = {
            "nonce": nonce,
            "exercise": result.exercise,
            "passed": result.passed,
            "message": result.message,
        }
        publish_display_data({GRADE_MIME: json.dumps(record), "text/plain": str(result)})
