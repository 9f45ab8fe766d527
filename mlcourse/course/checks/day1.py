"""The checks of Day 1 (input data) and Day 1b (Spark internals)."""

from __future__ import annotations

import contextlib
import io
import math
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from mlcourse.course.checking import Need, NotYet, exercise, figures, mapping, number
from mlcourse.higgs import LABEL

__all__: list[str] = []  # the checks register themselves; mlcourse.course.checks is their face

# --------------------------------------------------------------------------- Day 1


def signal_fraction_of(value: Any, df: Any, name: str = "signal_fraction") -> str:
    """Pass when ``value`` is the fraction of label-1 events in ``df``."""
    from pyspark.sql import functions as F

    fraction = number(value, name, low=0.0, high=1.0)
    truth = df.agg(F.avg(F.col(LABEL).cast("double"))).first()[0]
    if math.isclose(fraction, 1 - truth, abs_tol=1e-9) and not math.isclose(truth, 0.5):
        raise NotYet(f"{name} is the fraction of background: signal events have label 1")
    if not math.isclose(fraction, truth, abs_tol=1e-9):
        raise NotYet(
            f"{name} is not the fraction of label-1 events in df: count both classes over "
            "the whole DataFrame"
        )
    return f"{name} is the fraction of signal events in df"


@exercise(
    "day1.ex1",
    "signal and background counts, signal_fraction",
    "signal_fraction",
    df="df",
    hints=(
        "Signal events have label 1, background events label 0: count each class in `df`.",
        "One aggregation counts both classes: df.groupBy('label').count().",
        "The fraction is the signal count over the count of all events (both classes).",
    ),
)
def _day1_ex1(signal_fraction: Any, *, df: Any) -> str:
    return signal_fraction_of(signal_fraction, df)


def _areas(ax: Any) -> list[float]:
    """The area under each histogram drawn in ``ax``: steps (``stairs``, mlcourse's plots),
    step outlines (``hist(histtype="step")``) and bars (``hist``), one area per histogram."""
    import numpy as np
    from matplotlib.patches import Polygon, StepPatch

    areas = []
    for patch in ax.patches:
        if isinstance(patch, StepPatch):
            values, edges, _ = patch.get_data()
            areas.append(float((np.asarray(values) * np.diff(edges)).sum()))
        elif isinstance(patch, Polygon):
            x, y = np.asarray(patch.get_xy(), dtype=float).T
            areas.append(float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2))
    for container in ax.containers:
        bars = [p for p in container if hasattr(p, "get_width")]
        if bars:
            areas.append(float(sum(abs(p.get_width() * p.get_height()) for p in bars)))
    return areas


@exercise(
    "day1.ex2",
    "lepton_pT and m_wbb side by side, normalised",
    Need("fig", find=figures),
    hints=(
        "One figure, two Axes: fig, axes = plt.subplots(1, 2); keep the figure in a variable.",
        "Draw each feature into its own Axes: plot_signal_vs_background(df, name, ax=ax, ...).",
        "Unit area for each class: density=True.",
    ),
)
def _day1_ex2(fig: Any, *, names: tuple[str, ...] = ("lepton_pT", "m_wbb")) -> str:
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise NotYet(f"keep the figure (fig, axes = plt.subplots(1, 2)), not a {type(fig)}")
    by_name = {ax.get_xlabel(): ax for ax in fig.axes}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise NotYet(
            f"no plot of {', '.join(missing)} in this figure: one Axes per feature, its "
            "x axis labelled with the feature's name"
        )
    for name in names:
        areas = _areas(by_name[name])
        if len(areas) < 2:
            raise NotYet(f"the {name} plot should show two histograms, signal and background")
        if not all(math.isclose(a, 1, rel_tol=1e-3) for a in areas):
            raise NotYet(f"the {name} histograms do not have unit area: density=True")
    return f"{' and '.join(names)} side by side, each class normalised to unit area"


@exercise(
    "day1.ex3",
    "the most correlated pair of features",
    "most_correlated",
    df="df",
    hints=(
        "mlcourse.correlation_matrix(df) gives the names and the matrix of coefficients.",
        "The diagonal is 1 for every feature: leave it out. A coefficient of -0.9 is a "
        "strong correlation too.",
        "np.argmax of the absolute off-diagonal matrix, and np.unravel_index for its row "
        "and column.",
    ),
)
def _day1_ex3(most_correlated: Any, *, df: Any) -> str:
    import numpy as np

    from mlcourse.analysis.aggregate import correlation_matrix

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


@exercise(
    "day1.ex4",
    "m_bb recomputed from the two b-tagged jets",
    "mbb_agreement",
    sample="sample",
    hints=(
        "Only events with exactly two tagged jets (b-tag above 0) count, in `sample`.",
        "The mass of two jets is that of the sum of their four-vectors: (jets[a] + jets[b]).mass.",
        "Loop over the six pairs (a, b); keep each pair's mass where both its jets are tagged "
        "(numpy.where); then compare with sample['m_bb'] within 1%.",
    ),
)
def _day1_ex4(mbb_agreement: Any, *, sample: Any) -> str:
    import numpy as np

    from mlcourse.physics import m_bb

    agreement = number(mbb_agreement, "mbb_agreement", low=0.0, high=1.0)
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
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        query.explain()
    return printed.getvalue()


@exercise(
    "day1b.ex1",
    "which queries shuffle: shuffles",
    "shuffles",
    queries="queries",
    hints=(
        "A query shuffles when its physical plan moves rows between partitions.",
        "query.explain() prints the plan; look for 'Exchange'. A 'BroadcastExchange' copies a "
        "small table to every task and is not a shuffle.",
        "Catch what explain() prints with contextlib.redirect_stdout(io.StringIO()) and search "
        "it with re.search(r'(?<!Broadcast)Exchange ', text).",
    ),
)
def _day1b_ex1(shuffles: Any, *, queries: Any) -> str:
    table = mapping(shuffles, "shuffles", list(mapping(queries, "queries")))
    if any(not isinstance(v, bool) for v in table.values()):
        raise NotYet("each value of shuffles should be True or False")
    if any(
        table[name] != bool(_SHUFFLE.search(_plan_text(query))) for name, query in queries.items()
    ):
        # how many are wrong is not said: one boolean at a time is not a method
        raise NotYet(
            "not every answer agrees with what the plans say: print each plan "
            "(query.explain()) and look for an Exchange that is not a BroadcastExchange"
        )
    return f"all {len(table)} queries classified as their plans say"


def _stages_run(df: Any, action: Callable[[], Any]) -> int:
    """The stages that ran tasks (skipped ones not counted) for the jobs of ``action``."""
    from mlcourse.runtime.flavour import classic_only

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


@exercise(
    "day1b.ex2",
    "the stages a sort runs: sort_stages",
    "sort_stages",
    df="df",
    hints=(
        "A sort may run more than one job: count the stages of all of them.",
        "A stage listed as SKIPPED did not run: its output was already there.",
        "Sum the stages whose status is COMPLETE over the sort's jobs (stages_of(jobs)).",
    ),
)
def _day1b_ex2(sort_stages: Any, *, df: Any) -> str:
    count = number(sort_stages, "sort_stages", low=0, high=1000)
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


@exercise(
    "day1b.ex3",
    "partitions after repartition and coalesce",
    "partitions",
    df="df",
    hints=(
        "Predict first: repartition(n) shuffles into exactly n partitions.",
        "coalesce(n) merges partitions without a shuffle: it never makes more than there are.",
        "Check each expression with .rdd.getNumPartitions().",
    ),
)
def _day1b_ex3(partitions: Any, *, df: Any) -> str:
    from mlcourse.runtime.flavour import classic_only

    classic_only(
        df.sparkSession,
        "counting partitions (DataFrame.rdd)",
        "run Day 1b with a classic profile (local, binder)",
    )
    table = mapping(partitions, "partitions", list(_PARTITION_EXPRESSIONS))
    counts = {key: number(table[key], f"partitions[{key!r}]", low=0) for key in table}
    if any(counts[key] != make(df).rdd.getNumPartitions() for key, make in
           _PARTITION_EXPRESSIONS.items()):  # fmt: skip
        raise NotYet(
            "not every count agrees with Spark's: check each with .rdd.getNumPartitions(), "
            "and remember that coalesce never adds partitions"
        )
    return f"all {len(table)} partition counts right"
