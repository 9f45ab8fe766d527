"""get_spark on a real local[2] session."""

from __future__ import annotations

import pytest

import mlcourse
from mlcourse import SessionConflictError


def test_session_runs_jobs(spark):
    assert spark.sparkContext.master == "local[2]"
    assert spark.range(1000).selectExpr("sum(id) AS s").first()["s"] == 499500
    assert spark.conf.get("spark.app.name") == "mlcourse-tests"


def test_second_call_returns_same_session(spark):
    assert mlcourse.get_spark() is spark
    assert mlcourse.get_spark(workers=2) is spark


def test_different_workers_say_so(spark):
    with pytest.raises(SessionConflictError, match="2 workers is already running.*stop_spark"):
        mlcourse.get_spark(workers=4)


def test_other_profile_says_so(spark):
    with pytest.raises(SessionConflictError, match="profile 'local'.*'binder'"):
        mlcourse.get_spark("binder")


def test_runtime_settings_apply_and_static_ones_refuse(spark):
    before = spark.conf.get("spark.sql.shuffle.partitions")
    try:
        assert mlcourse.get_spark(**{"spark.sql.shuffle.partitions": "3"}) is spark
        assert spark.conf.get("spark.sql.shuffle.partitions") == "3"
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
    with pytest.raises(SessionConflictError, match="spark.driver.memory cannot change"):
        mlcourse.get_spark(spark_driver_memory="5g")


def test_local_uses_this_interpreter(spark):
    import os
    import sys

    assert os.environ["PYSPARK_PYTHON"] == sys.executable
    # a Python UDF runs in a worker started from the same interpreter
    rows = spark.range(2).rdd.map(lambda _: __import__("sys").version_info[:2]).collect()
    assert set(rows) == {tuple(sys.version_info[:2])}


def test_jvm_stderr_keeps_real_warnings_and_drops_the_notices(capsys):
    """What the driver JVM prints passes a filter on its way to the notebook cell."""
    import io

    from mlcourse.runtime.session import JvmStderr

    jvm = io.BytesIO(
        b"WARNING: Using incubator modules: jdk.incubator.vector\n"
        b"netlib-blas: JNI_OnLoad: dlopen(libblas.so.3) failed: libblas.so.3: cannot open\n"
        b"[18:58:38] Task 0 got rank 0[18:58:38] Task 1 got rank 1\n"
        b"\n"
        b"19:02:11 WARN TaskSetManager: Lost task 0.0 in stage 3.0: java.lang.OutOfMemoryError\n"
        b"[18:58:38] Task 0 got rank 0 and a real line\n"
    )
    JvmStderr(released=True).forward(jvm)
    assert capsys.readouterr().err == (
        "19:02:11 WARN TaskSetManager: Lost task 0.0 in stage 3.0: java.lang.OutOfMemoryError\n"
        " and a real line\n"
    )


def test_jvm_stderr_is_held_while_the_jvm_starts(capsys):
    import io

    from mlcourse.runtime.session import JvmStderr

    stderr = JvmStderr()
    stderr.forward(io.BytesIO(b"WARNING: Using incubator modules: jdk.incubator.vector\nhello\n"))
    assert capsys.readouterr().err == "" and stderr.held == ["hello"]
    stderr.release()
    assert capsys.readouterr().err == "hello\n" and stderr.held == []


#: Spark warnings that ask nothing of a student, with the logger that says them; the
#: package's log4j configuration must drop each, and keep other warnings of the same logger.
BENIGN_WARNINGS = [
    (
        "org.apache.spark.storage.BlockManager",
        "Block rdd_12_0 already exists on this machine; not re-adding it",
    ),
    (
        "org.apache.spark.storage.BlockManager",
        "Asked to remove block broadcast_45, which does not exist",
    ),
    ("org.apache.spark.scheduler.DAGScheduler", "Broadcasting large task binary with size 1.2 MiB"),
    (
        "org.apache.spark.util.Utils",
        "Service 'SparkUI' could not bind on port 4040. Attempting port 4041.",
    ),
    (
        "breeze.optimize.LBFGS",
        "Failure! Resetting history: breeze.optimize.FirstOrderException: Line search failed",
    ),
]


@pytest.mark.parametrize(("logger", "message"), BENIGN_WARNINGS)
def test_the_driver_log_drops_notices_and_keeps_real_warnings(spark, logger, message):
    jvm = spark.sparkContext._jvm
    log4j = jvm.org.apache.logging.log4j
    config = log4j.LogManager.getContext(False).getConfiguration().getLoggerConfig(logger)

    def dropped(text: str) -> bool:
        event = (
            log4j.core.impl.Log4jLogEvent.newBuilder()
            .setLoggerName(logger)
            .setLevel(log4j.Level.WARN)
            .setMessage(log4j.message.SimpleMessage(text))
            .build()
        )
        return bool(config.isFiltered(event))

    assert dropped(message)
    assert not dropped("Lost task 0.0 in stage 3.0: java.lang.OutOfMemoryError")
