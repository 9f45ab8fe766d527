"""What the data checks cost (issue 38): the checked functions against the unchecked ones
of a git ref, timed in the same run on the same events.

The unchecked code is ``mlcourse/analysis/aggregate.py`` and ``mlcourse/data/loading.py``
as they were at ``--ref`` (default ``66ed0a7``, before the checks), loaded from git into
modules of their own beside this checkout's; both read the same Parquet events
(``--events``, 1M by default), not cached, as a notebook reads them:

* ``signal_background_hist(df, "m_bb", bins=50, range=(0, 3))`` (one aggregation in the
  JVM; now also counting bad labels and NaN or null values in it);
* ``feature_histograms`` of the 28 features with given ranges (numpy over Arrow batches;
  now also counting them);
* ``data_info`` (now one aggregation over every column where it read the label alone);
* the Spark jobs each submits, checked and unchecked, which must be equal.

Each timing is the median of ``--repeat`` interleaved runs after one warm-up of each.

    python benchmarks/contracts.py [--events 1M] [--repeat 7] [--ref 66ed0a7]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

from _common import events_and_workdir, events_parquet, parser

import mlcourse
from mlcourse.data.loading import data_info
from mlcourse.higgs import FEATURES

ROOT = Path(__file__).resolve().parent.parent


def old_module(ref: str, path: str, name: str) -> types.ModuleType:
    """The module at ``path`` as it was at ``ref``, loaded under ``name``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType(name)
    module.__file__ = f"{ref}:{path}"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # our own git history
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(module)  # Python workers cannot import it
    return module


def jobs_of(spark, run: Callable[[], object]) -> int:
    sc = spark.sparkContext
    group = f"bench-{time.monotonic_ns()}"
    sc.setJobGroup(group, "benchmarks/contracts.py")
    try:
        run()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return len(sc.statusTracker().getJobIdsForGroup(group))


def timed(contenders: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    for run in contenders.values():  # warm-up: JIT, Python workers, file cache
        run()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--ref", default="66ed0a7", help="the unchecked code's git ref")
    args = p.parse_args()
    n, work = events_and_workdir(args)
    spark = mlcourse.get_spark("local")
    path = events_parquet(spark, work, n)
    df = spark.read.parquet(path)
    old = old_module(args.ref, "mlcourse/analysis/aggregate.py", "old_aggregate")
    old_loading = old_module(args.ref, "mlcourse/data/loading.py", "old_loading")
    ranges = dict.fromkeys(FEATURES, (-3.0, 3.0))
    cases = {
        "signal_background_hist, m_bb (JVM)": (
            lambda: mlcourse.signal_background_hist(df, "m_bb", bins=50, range=(0, 3)),
            lambda: old.signal_background_hist(df, "m_bb", bins=50, range=(0, 3)),
        ),
        "feature_histograms, 28 features (Arrow)": (
            lambda: mlcourse.feature_histograms(df, bins=50, ranges=ranges),
            lambda: old.feature_histograms(df, bins=50, ranges=ranges),
        ),
        "data_info": (lambda: data_info(spark, path), lambda: old_loading.data_info(spark, path)),
    }
    print(f"{n:,} synthetic events, Parquet, median of {args.repeat} (checked vs {args.ref})")
    print(f"{'':42} {'checked':>9} {'unchecked':>10} {'ratio':>7} {'jobs':>9}")
    for name, (checked, unchecked) in cases.items():
        t = timed({"checked": checked, "unchecked": unchecked}, args.repeat)
        jobs = f"{jobs_of(spark, checked)} vs {jobs_of(spark, unchecked)}"
        ratio = t["checked"] / t["unchecked"]
        print(f"{name:42} {t['checked']:8.3f}s {t['unchecked']:9.3f}s {ratio:7.3f} {jobs:>9}")


if __name__ == "__main__":
    main()
