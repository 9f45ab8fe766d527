"""The checks of Day 4: xgboost across the cluster, early stopping and the number of workers."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from mlcourse.course.checking import (
    Need,
    NotYet,
    exercise,
    fingerprints,
    fitted_models,
    mapping,
    number,
    partitioned_otherwise,
)

__all__: list[str] = []  # the checks register themselves; mlcourse.course.checks is their face


def _boosted(model: Any) -> bool:
    return callable(getattr(model, "get_booster", None))


def _marked(frame: Any, marked: Any) -> Any:
    """``marked`` (what mark_validation returned) as frame with ``part`` = the flag as 0/1."""
    from pyspark.sql import DataFrame
    from pyspark.sql.types import BooleanType

    if not isinstance(marked, DataFrame) or "validation" not in marked.columns:
        raise NotYet(
            "mark_validation(frame, fraction) should return frame with a column `validation`"
        )
    if not isinstance(marked.schema["validation"].dataType, BooleanType):
        raise NotYet("the column `validation` should be True or False (a boolean column)")
    return marked.select(*frame.columns, marked["validation"].cast("int").alias("part"))


@exercise(
    "day4.ex1",
    "the validation events marked by a hash: mark_validation",
    "mark_validation",
    test="test",
    hints=(
        "A row's mark must depend only on the row itself, so that any partitioning of the "
        "events (a laptop, a cluster) marks the same events.",
        "A hash of the event's values does that: F.xxhash64(F.lit(seed), *frame.columns); "
        "rand() and randomSplit do not.",
        "Turn the hash into a number in [0, 1): F.pmod(hash, F.lit(1000)) / 1000, and mark "
        "the rows below the fraction: frame.withColumn('validation', ... < fraction).",
    ),
)
def _day4_ex1(mark_validation: Any, *, test: Any) -> str:
    import math

    if not callable(mark_validation):
        raise NotYet("mark_validation should be your function mark_validation(frame, fraction)")
    frame = test.select(*[c for c in test.columns if c not in ("features", "validation")])
    results = {}
    for fraction in (0.2, 0.5):
        here = fingerprints(frame, _marked(frame, mark_validation(frame, fraction)), 2)
        n = sum(count for count, _ in here.values())
        marked = here.get(1, (0, 0))[0]
        sigma = math.sqrt(n * fraction * (1 - fraction))
        if n != frame.count():
            raise NotYet("mark_validation should keep every event (and add only the column)")
        if abs(marked - n * fraction) > 5 * sigma:
            raise NotYet(
                f"mark_validation(frame, {fraction}) marks {marked:,} of {n:,} events, not "
                f"about {fraction:.0%} of them"
            )
        results[fraction] = here
    shuffled = partitioned_otherwise(frame)
    if fingerprints(shuffled, _marked(shuffled, mark_validation(shuffled, 0.2)), 2) != results[0.2]:
        raise NotYet(
            "mark_validation marks other events when they are partitioned otherwise: let a "
            "hash of each event's values decide, not a random number"
        )
    return "about the fraction asked for, chosen by the events themselves (any partitioning)"


def _reference_round(aucs: list[float], patience: int) -> int:
    best, best_round = -math.inf, 0
    for i, auc in enumerate(aucs):
        if auc > best:
            best, best_round = auc, i
        elif i - best_round >= patience:
            break
    return best_round


#: Validation AUCs by round that tell a right early-stopping rule from the usual slips:
#: a tie (not an improvement), a late rise after the patience ran out, a plateau.
_SEQUENCES = [
    ([0.60, 0.70, 0.80], 3),
    ([0.60, 0.70, 0.70, 0.65, 0.66], 2),
    ([0.50, 0.90, 0.80, 0.80, 0.80, 0.95], 3),
    ([0.50, 0.90, 0.80, 0.80, 0.95], 3),
    ([0.70, 0.60, 0.65, 0.70, 0.71, 0.69], 4),
    ([0.80], 20),
]


@exercise(
    "day4.ex2",
    "early stopping written out: best_round",
    "best_round",
    model=Need("early_model", find=fitted_models(_boosted), optional=True),
    hints=(
        "Go through the rounds in order, remembering the highest AUC so far and its round.",
        "Only a higher AUC is an improvement; once `patience` rounds have passed since the "
        "best one, stop looking.",
        "Return the best round's index (0 for the first round).",
    ),
)
def _day4_ex2(best_round: Any, *, model: Any = None) -> str:
    if not callable(best_round):
        raise NotYet("best_round should be your function best_round(aucs, patience)")
    for aucs, patience in _SEQUENCES:
        want = _reference_round(aucs, patience)
        try:
            got = best_round(list(aucs), patience)
        except Exception as error:
            message = f"best_round({aucs}, {patience}) raised {type(error).__name__}: {error}"
            raise NotYet(message) from None
        if got != want:
            raise NotYet(
                f"best_round({aucs}, patience={patience}) gives {got!r}: early stopping would "
                f"keep round {want}"
            )
    line = "best_round stops where early stopping stops"
    summary = getattr(model, "training_summary", None)
    history = getattr(summary, "validation_objective_history", None) or {}
    if model is not None and "auc" in history:
        booster = model.get_booster()
        rounds = int(model.getOrDefault("early_stopping_rounds") or 0)
        if rounds and best_round(list(history["auc"]), rounds) != booster.best_iteration:
            raise NotYet(
                "on early_model's own validation AUCs best_round disagrees with xgboost's "
                "best_iteration"
            )
        line += f", and agrees with xgboost's best round ({booster.best_iteration})"
    return line


def timings(value: Any, name: str, keys: Iterable[Any]) -> dict[Any, float]:
    """A dict of positive times with exactly ``keys``, not all equal (copied numbers)."""
    table = mapping(value, name, list(keys))
    seconds = {key: number(s, f"{name}[{key!r}]", low=1e-9) for key, s in table.items()}
    if len(seconds) > 1 and len(set(seconds.values())) == 1:
        raise NotYet(f"the times in {name} are all equal: time each run on its own")
    return seconds


@exercise(
    "day4.ex3",
    "times against the number of workers",
    "times_by_workers",
    slots="slots",
    times_by_executors=Need("times_by_executors", optional=True),
    cores=Need("cores", optional=True),
    hints=(
        "Time one fit at a time: start = time.perf_counter(), fit, then the difference.",
        "times_by_workers: the same 20-tree model with num_workers = 1 ... slots, in this session.",
        "times_by_executors: for N = 1 ... cores, mlcourse.stop_spark(), "
        "mlcourse.get_spark(workers=N), load and assemble the data again, and time the fit "
        "with num_workers=N.",
    ),
)
def _day4_ex3(
    times_by_workers: Any, *, slots: int, times_by_executors: Any = None, cores: Any = None
) -> str:
    timings(times_by_workers, "times_by_workers", range(1, int(slots) + 1))
    if times_by_executors is not None and cores is not None:
        timings(times_by_executors, "times_by_executors", range(1, int(cores) + 1))
    return "a time for every number of workers"
