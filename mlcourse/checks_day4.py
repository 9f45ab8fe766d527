"""The checks of Day 4: xgboost across the cluster, early stopping and the number of workers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .checking import Need, NotYet, exercise, fitted_models, mapping, number, same_auc

__all__: list[str] = []  # the checks register themselves; mlcourse.checks is their face


def _boosted(model: Any) -> bool:
    return callable(getattr(model, "get_booster", None))


@exercise(
    "day4.ex1",
    "early stopping: best_iteration and auc_early",
    "best_iteration",
    model=Need("early_model", find=fitted_models(_boosted)),
    auc_early="auc_early",
    test="test",
    hints=(
        "Early stopping needs events the trees are not fitted on: the `validation` column "
        "marks them; xgboost calls it validation_indicator_col.",
        "Allow many trees (n_estimators=1000) and stop when the validation AUC has not "
        "improved for early_stopping_rounds=20 (eval_metric='auc').",
        "best_iteration comes from the fitted model: early_model.get_booster().best_iteration; "
        "auc_early from its report on `test`.",
    ),
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
    same_auc(auc_early, "auc_early", model, test, "the early-stopped model")
    return f"stopped after {grown} trees, best at tree {best_iteration + 1}; auc_early is its AUC"


def timings(value: Any, name: str, keys: Iterable[Any]) -> dict[Any, float]:
    """A dict of positive times with exactly ``keys``, not all equal (copied numbers)."""
    table = mapping(value, name, list(keys))
    seconds = {key: number(s, f"{name}[{key!r}]", low=1e-9) for key, s in table.items()}
    if len(seconds) > 1 and len(set(seconds.values())) == 1:
        raise NotYet(f"the times in {name} are all equal: time each run on its own")
    return seconds


@exercise(
    "day4.ex2",
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
def _day4_ex2(
    times_by_workers: Any, *, slots: int, times_by_executors: Any = None, cores: Any = None
) -> str:
    timings(times_by_workers, "times_by_workers", range(1, int(slots) + 1))
    if times_by_executors is not None and cores is not None:
        timings(times_by_executors, "times_by_executors", range(1, int(cores) + 1))
    return "a time for every number of workers"
