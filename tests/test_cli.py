"""Every value of the command line checked before any work: a usage message (exit 2) for a
value argparse can judge, one line for a size the machine cannot hold, and nothing
started or written either way."""

from __future__ import annotations

import pytest

from mlcourse.cli import main
from mlcourse.config.validation import master_problem
from mlcourse.runtime.connect import log_tail


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_a_port_outside_1_to_65535_is_a_usage_message(capsys, port):
    line = _usage_error(capsys, ["connect-server", "start", "--port", port])
    assert line.endswith(f"argument --port: {port!r}: give a port between 1 and 65535")


@pytest.mark.parametrize("master", ["local[two]", "local[2", "spark://host", "mesos://x:5050"])
def test_a_master_spark_cannot_read_is_refused_before_launch(capsys, master):
    line = _usage_error(capsys, ["connect-server", "start", "--master", master])
    assert f"argument --master: {master!r} is not a master Spark understands" in line
    assert "local[N]" in line and "spark://HOST:PORT" in line


@pytest.mark.parametrize(
    "master",
    ["local", "local[4]", "local[*]", "local[2, 3]", "spark://10.0.0.5:7077", "yarn",
     "spark://a:7077,b:7077", "k8s://https://kubernetes.default.svc:443"],
)  # fmt: skip
def test_the_masters_spark_reads_pass(master):
    assert master_problem(master) is None


def test_data_synth_checks_the_disk_before_spark_starts(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dest = tmp_path / "big.parquet"
    assert main(["data", "synth", "--events", "1000M", "--dest", str(dest)]) == 2  # as demo
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("mlcourse data: error: 1,000,000,000 events need about")
    assert "nothing was started" in line and "--events" in line
    assert list(tmp_path.iterdir()) == []


def test_a_server_log_tail_starts_at_a_line_and_leads_with_sparks_error():
    frames = "".join(f"\tat org.apache.spark.Frame{i}.run(Frame.java:{i})\n" for i in range(80))
    log = (
        "WARNING: Using incubator modules: jdk.incubator.vector\n"
        'Exception in thread "main" org.apache.spark.SparkException: Could not parse '
        "Master URL: 'local[two]'\n" + frames
    )
    tail = log_tail(log, "server.log")
    first, second, *rest = tail.splitlines()
    assert first == (
        'Spark said: Exception in thread "main" org.apache.spark.SparkException: Could not '
        "parse Master URL: 'local[two]'"
    )
    assert second == "Its log server.log ends with:"
    assert all(line.startswith("\tat org.apache.spark.Frame") for line in rest)  # whole lines
    assert rest[-1] == "\tat org.apache.spark.Frame79.run(Frame.java:79)"
    assert sum(len(line) + 1 for line in rest) <= 1500
