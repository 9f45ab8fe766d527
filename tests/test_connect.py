"""mlcourse over Spark Connect: a real server from the installed pyspark, a thin client.

``mlcourse connect-server start`` runs Spark's own Connect server on 127.0.0.1 (with a
token, so that a wrong one can be refused); the client is a separate Python process
(``tests/connect_job.py``), as a student's kernel would be, and its answers are checked
against numpy and against classic mode in this test session on the very same events.
The server is stopped by its pid at the end, pass or fail. A slow tier:
``pytest -m connect``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mlcourse
from mlcourse.errors import JavaError
from mlcourse.higgs import FEATURES
from mlcourse.runtime import connect

from .conftest import HIGGS_SEED, numpy_hist
from .connect_job import GBT, RANGES, SESSION_TIMEOUT, SYNTH, digest

pytestmark = pytest.mark.connect

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "mlcourse-test-token-1234567890"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A token-protected Spark Connect server on 127.0.0.1, stopped at the end by its pid."""
    cache = tmp_path_factory.mktemp("connect-cache")
    saved = {k: os.environ.get(k) for k in ("MLCOURSE_CACHE_DIR", connect.TOKEN_VARIABLE)}
    os.environ["MLCOURSE_CACHE_DIR"] = str(cache)
    os.environ[connect.TOKEN_VARIABLE] = TOKEN
    started = None
    try:
        started = connect.start_server(
            port=free_port(), memory="1g", master="local[2]", conf={SESSION_TIMEOUT: "45m"}
        )
        yield started
    finally:
        stopped = connect.stop_server()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if started is not None:
            assert stopped == started
            assert not Path(f"/proc/{started.pid}").exists() or not connect._is_server(started.pid)


def client_env(server, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "MLCOURSE_"))}
    return {**env, "SPARK_REMOTE": server.address, connect.TOKEN_VARIABLE: TOKEN, **extra}


def run_client(env: dict[str, str], *args: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-m", "tests.connect_job", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


@pytest.fixture(scope="module")
def over_connect(server, tmp_path_factory) -> dict:
    """The course's steps over Spark Connect on the ``higgs`` fixture's events as CSV."""
    root = tmp_path_factory.mktemp("connect-inputs")
    csv, _ = mlcourse.higgs_csv("20k", source="synthetic", seed=HIGGS_SEED, data_dir=str(root))
    lines = Path(csv).read_text().splitlines()
    lines[99] = lines[99].replace(",", ",x", 2)  # line 100: a value that is not a number
    bad = root / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    return run_client(client_env(server), "analysis", str(csv), str(bad), str(root))


def test_the_client_is_a_spark_connect_session(over_connect):
    assert over_connect["session"].startswith("pyspark.sql.connect")
    assert over_connect["session_timeout"] == "45m"  # start_server(conf=...) reached it


def test_conversion_over_connect(over_connect, higgs):
    _, frame = higgs
    assert over_connect["convert_rows"] == 20_000 == over_connect["info_rows"]
    expected = {f"sum({c})": float(frame[c].sum()) for c in frame.columns}
    got = over_connect["converted_sum"]
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key  # sums near 0
    assert "already exists" in over_connect["again"]


def test_a_bad_row_over_connect_names_file_line_and_column_and_writes_nothing(over_connect):
    error = over_connect["bad"]
    assert error.startswith("DataError: ")
    assert "bad.csv, line 100, column " in error and "not a number" in error
    assert over_connect["bad_left"] == ["bad.csv"]  # no bad.parquet, no hidden temporary


def test_histograms_equal_numpy_and_classic_mode(over_connect, higgs):
    df, frame = higgs
    edges = np.linspace(0.0, 3.0, 41)
    expected = [c.tolist() for c in numpy_hist(frame, "m_bb", edges)]
    assert over_connect["hist"] == expected
    classic = mlcourse.signal_background_hist(df, "m_bb", bins=40, range=(0.0, 3.0))
    assert [classic.signal.tolist(), classic.background.tolist()] == expected
    for name, (lo, hi) in RANGES.items():
        counts = numpy_hist(frame, name, np.linspace(lo, hi, 21))
        assert over_connect["grid"][name] == [c.tolist() for c in counts], name
    assert set(over_connect["grid"]) == set(FEATURES)


def test_auc_equals_classic_mode(over_connect, higgs, gbt):
    from pyspark.sql import functions as F

    df, _ = higgs
    classic = mlcourse.roc_curve(df.withColumn("score", -F.col("m_wwbb")), score_col="score")
    assert abs(over_connect["roc_auc"] - classic.auc) < 1e-9
    _, predictions = gbt  # the same split and settings, fitted in classic mode
    assert GBT == {"maxIter": 5, "maxDepth": 3, "seed": 1}
    local = mlcourse.classification_report(predictions).to_dict()
    assert over_connect["gbt"]["events"] == local["events"]  # the hash split is the same
    assert abs(over_connect["gbt"]["auc"] - local["auc"]) < 0.01


def test_synthetic_events_are_classic_modes_bit_for_bit(over_connect, spark):
    classic = mlcourse.synthesize_higgs(spark, SYNTH["events"], seed=SYNTH["seed"])
    pandas = mlcourse.synthetic_events(SYNTH["events"], seed=SYNTH["seed"])
    assert over_connect["synth_digest"] == digest(classic.toPandas()) == digest(pandas)


def test_loading_generates_into_the_data_directory(over_connect):
    assert over_connect["load_rows"] == 5_000
    assert over_connect["load_source"] == "synthetic"


def test_what_connect_cannot_do_is_refused_in_one_line(over_connect):
    for key in ("xgboost", "classic", "classic_unset"):
        assert "\n" not in over_connect[key]
    assert over_connect["xgboost"].startswith("ConfigError: xgboost.spark's SparkXGBClassifier")
    assert "GBTClassifier, which runs over Spark Connect" in over_connect["xgboost"]
    assert "SPARK_REMOTE is set" in over_connect["classic"]
    assert (
        "counting the stages a query ran (the driver's status tracker) needs the classic"
        in (over_connect["day1b_check"])
    )
    assert over_connect["classic_unset"].startswith("SessionConflictError: this Python process")
    assert "Restart the kernel" in over_connect["classic_unset"]


def test_progress_names_mlcourse_steps_with_their_stages(over_connect):
    queries = {name: rest for name, *rest in over_connect["progress"]}
    assert all(done for *_, done in queries.values())
    stages, tasks, completed, _, _ = queries["mlcourse: histogram of m_bb by label"]
    assert stages >= 1 and tasks == completed >= 1
    assert "mlcourse: histogram of 28 columns by label" in queries
    assert any(name.startswith("Spark query") for name in queries)  # the student's own


def test_the_client_starts_no_jvm(over_connect):
    """A thin kernel: no driver JVM among its children, and after the course's steps (GBT,
    30k events to pandas) less memory than a classic kernel's driver JVM alone (about
    1.2 GB; benchmarks/connect.py measures both: 172 MB against 1,380 MB at 100k events)."""
    print(f"client: {over_connect['rss_mb']:.0f} MB now, {over_connect['max_rss_mb']:.0f} peak")
    assert over_connect["java_children"] == []
    assert over_connect["rss_mb"] < 1000


def test_a_wrong_token_is_refused_in_one_line(server):
    got = run_client(client_env(server, **{connect.TOKEN_VARIABLE: "wrong"}), "token")
    assert got["error"].startswith("ConfigError: the Spark Connect server at sc://localhost:")
    assert f"set {connect.TOKEN_VARIABLE} to the server's token" in got["error"]


def test_an_unreachable_address_fails_in_one_line_naming_it(server):
    address = f"sc://localhost:{free_port()}"  # nothing listens there
    got = run_client(client_env(server, SPARK_REMOTE=address), "token")
    assert got["error"].startswith(f"ConfigError: no Spark Connect server answers at {address}")
    assert "\n" not in got["error"] and "mlcourse connect-server start" in got["error"]


def test_doctor_reports_the_server(server, monkeypatch):
    monkeypatch.setenv("SPARK_REMOTE", server.address)
    rows = {row.name: row for row in mlcourse.doctor("connect", run_job=False).checks}
    assert rows["Spark Connect"].status == "ok"
    assert server.address in rows["Spark Connect"].detail


def test_a_second_server_on_a_taken_port_says_why(server, monkeypatch, tmp_path):
    monkeypatch.setenv("MLCOURSE_CACHE_DIR", str(tmp_path))  # no pid file of the first
    with pytest.raises(connect.ConnectServerError, match=f"port {server.port} is taken"):
        connect.start_server(port=server.port)
    assert connect.server_status() is None


def test_a_running_server_is_not_started_twice(server):
    with pytest.raises(connect.ConnectServerError, match="runs already"):
        connect.start_server(port=free_port())
    assert connect.server_status() == server


def test_no_java_says_so_before_anything_starts(monkeypatch, tmp_path):
    monkeypatch.setenv("MLCOURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))  # holds no bin/java
    with pytest.raises(JavaError, match="holds no bin/java"):
        connect.start_server(port=free_port())
    assert not (tmp_path / "connect" / "server.json").exists()


def test_beyond_loopback_a_token_is_required(monkeypatch, tmp_path):
    monkeypatch.setenv("MLCOURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(connect.TOKEN_VARIABLE, raising=False)
    with pytest.raises(connect.ConnectServerError, match="needs a token"):
        connect.start_server(host="0.0.0.0", port=free_port())


def test_a_token_to_a_plain_address_says_to_use_localhost(server):
    """pyspark sends a token to any host but localhost only over TLS, which the server does
    not speak: the handshake would be retried for minutes; it fails at once instead."""
    address = f"sc://127.0.0.1:{server.port}"
    got = run_client(client_env(server, SPARK_REMOTE=address), "token")
    assert got["error"].startswith(f"ConfigError: {address} does not speak TLS")
    assert "sc://localhost:PORT" in got["error"]
