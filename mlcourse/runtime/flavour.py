"""Which kind of Spark session a function was handed: classic (a driver JVM in this
process, reached through Py4J) or Spark Connect (a thin gRPC client without SparkContext).

Steps that need the JVM (Hadoop's FileSystem, RDDs, listeners, xgboost.spark) ask
:func:`classic_only` or :func:`jvm` first, so that over Spark Connect the student reads one
line that says what to use instead, not a Py4J stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["classic_only", "is_connect", "jvm"]


def is_connect(spark: Any) -> bool:
    """Whether ``spark`` is a Spark Connect session (a thin client: no SparkContext, no JVM)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def classic_only(spark: Any, what: str, instead: str) -> None:
    """Refuse, in one line, a step that needs the classic driver when ``spark`` is a Spark
    Connect session.

    Raises
    ------
    ConfigError
        Saying what cannot run over Spark Connect and what to use instead.
    """
    if is_connect(spark):
        from mlcourse.errors import ConfigError

        raise ConfigError(
            f"{what} needs the classic Spark driver (a JVM in this kernel), which a Spark "
            f"Connect session does not have: {instead}"
        )


def jvm(spark: SparkSession, what: str = "this step") -> Any:
    """The driver's Py4J view of the JVM; a one-line refusal under Spark Connect."""
    classic_only(spark, what, "run it with a classic profile (local, binder, k8s)")
    view = spark.sparkContext._jvm
    if view is None:
        raise RuntimeError(f"{what} needs a running Spark driver; start one with get_spark()")
    return view
