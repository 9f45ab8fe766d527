"""Readable names for the Spark jobs mlcourse starts.

The Spark UI and the sparkmonitor panel name a job after its description when it has one,
else after a call site such as ``$anonfun$withThreadLocalCaptured$1 at
CompletableFuture.java:1768``. Each step of mlcourse describes its jobs
(``mlcourse: histogram of m_bb``) for as long as it runs, then restores what was there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DESCRIPTION = "spark.job.description"


@contextmanager
def described(source: Any, text: str) -> Iterator[None]:
    """Describe the jobs started inside the block as ``mlcourse: <text>``.

    ``source`` is a SparkSession or a DataFrame. Without a classic SparkContext (Spark
    Connect) nothing is described.
    """
    session = getattr(source, "sparkSession", source)
    try:
        sc = session.sparkContext
    except Exception:  # Spark Connect has none
        yield
        return
    previous = sc.getLocalProperty(DESCRIPTION)
    sc.setJobDescription(f"mlcourse: {text}")
    try:
        yield
    finally:
        sc.setLocalProperty(DESCRIPTION, previous)  # None unsets it


def columns_text(names: list[str] | tuple[str, ...]) -> str:
    """``m_bb`` for one column, ``m_bb, m_wbb`` for two, ``28 columns`` for more."""
    return ", ".join(names) if len(names) <= 2 else f"{len(names)} columns"
