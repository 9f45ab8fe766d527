"""Readable names for the Spark jobs mlcourse starts.

The Spark UI names a job after its description when it has one, the sparkmonitor panel
after its call site, else such as ``$anonfun$withThreadLocalCaptured$1 at
CompletableFuture.java:1768``. Each step of mlcourse sets both (``mlcourse: histogram of
m_bb``) for as long as it runs, then restores what was there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from mlcourse.errors import JavaError, contract_violation
from mlcourse.runtime.driver import require_live_driver

DESCRIPTION = "spark.job.description"
#: The short call site: what the sparkmonitor panel shows as a job's name. PySpark sets it
#: itself around ``collect()`` ("collect at file.py:line"), not around ``count()`` or
#: writes, whose jobs would otherwise be named after JVM internals
#: (``$anonfun$withThreadLocalCaptured$1 at CompletableFuture.java:1768``).
CALL_SITE = "callSite.short"


@contextmanager
def described(source: Any, text: str) -> Iterator[None]:
    """Describe the jobs started inside the block as ``mlcourse: <text>``.

    ``source`` is a SparkSession or a DataFrame. Over Spark Connect, which has no job
    descriptions, the queries of the block carry the tag ``mlcourse:<text>`` (the server's
    UI lists it with each job) and :func:`current_step` names them for the progress
    display.
    """
    from mlcourse.runtime.flavour import is_connect

    session = getattr(source, "sparkSession", source)
    if is_connect(session):
        with _connect_step(session, text), job_errors():
            yield
        return
    sc = session.sparkContext
    from pyspark.traceback_utils import SCCallSiteSync

    previous = {key: sc.getLocalProperty(key) for key in (DESCRIPTION, CALL_SITE)}
    sc.setLocalProperty(DESCRIPTION, f"mlcourse: {text}")
    # the panel shows a name up to its first space: mlcourse:histogram_of_m_bb_by_label
    sc.setLocalProperty(CALL_SITE, "mlcourse:" + text.replace(", ", ",").replace(" ", "_"))
    # PySpark names the jobs of collect(), toPandas(), ... after their Python call site
    # ("collect at aggregate.py:380") unless an outer call already named them: it keeps a
    # depth count of such calls. Counting this block as one keeps mlcourse's name on them.
    SCCallSiteSync._spark_stack_depth += 1
    try:
        with job_errors():
            yield
    finally:
        SCCallSiteSync._spark_stack_depth -= 1
        for key, value in previous.items():
            sc.setLocalProperty(key, value)  # None unsets it


@contextmanager
def job_errors() -> Iterator[None]:
    """For the jobs of the block (each :func:`described` block; xgboost's training): a data
    check that stopped a job (:mod:`mlcourse.data.contracts`) surfaces as its own
    :class:`~mlcourse.errors.DataError`, not as the Spark failure that carried it; a job
    that failed because the driver's JVM died says so (not "Connection refused")."""
    try:
        yield
    except Exception as exc:
        violation = contract_violation(exc)
        if violation is not None:
            raise violation from None
        try:
            require_live_driver()
        except JavaError as dead:
            raise dead from None
        raise


def columns_text(names: list[str] | tuple[str, ...]) -> str:
    """``m_bb`` for one column, ``m_bb, m_wbb`` for two, ``28 columns`` for more."""
    return ", ".join(names) if len(names) <= 2 else f"{len(names)} columns"


_STEP: ContextVar[str | None] = ContextVar("mlcourse_step", default=None)


def current_step() -> str | None:
    """The mlcourse step running now in this thread (``mlcourse: histogram of m_bb``), if
    any: what the Spark Connect progress display names a query after."""
    return _STEP.get()


@contextmanager
def _connect_step(session: Any, text: str) -> Iterator[None]:
    # a tag may hold no comma; Spark Connect adds it to each job of the block's queries
    tag = "mlcourse:" + text.replace(", ", ";").replace(",", ";").replace(" ", "_")
    token = _STEP.set(f"mlcourse: {text}")
    session.addTag(tag)
    try:
        yield
    finally:
        session.removeTag(tag)
        _STEP.reset(token)
