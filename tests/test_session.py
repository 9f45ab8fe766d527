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

    from mlcourse.session import JvmStderr

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

    from mlcourse.session import JvmStderr

    stderr = JvmStderr()
    stderr.forward(io.BytesIO(b"WARNING: Using incubator modules: jdk.incubator.vector\nhello\n"))
    assert capsys.readouterr().err == "" and stderr.held == ["hello"]
    stderr.release()
    assert capsys.readouterr().err == "hello\n" and stderr.held == []
