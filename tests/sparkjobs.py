"""Count the Spark jobs a block of code submits, with Spark's own status tracker.

For tests that mean "refused before any work": a refusal that is checked by a stopwatch
fails on a busy machine; one checked by the jobs it started does not.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

_groups = itertools.count()


@contextmanager
def jobs_submitted(spark) -> Iterator[list[int]]:
    """Put the jobs started inside the block in a job group of their own; the list it
    yields is filled, on leaving the block, with the ids of the jobs that group ran."""
    sc = spark.sparkContext
    group = f"mlcourse-tests-{next(_groups)}"
    jobs: list[int] = []
    sc.setJobGroup(group, "counted by tests/sparkjobs.py")
    try:
        yield jobs
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
        jobs.extend(sc.statusTracker().getJobIdsForGroup(group))
