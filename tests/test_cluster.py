"""mlcourse on a real Spark standalone cluster: the same answers as local mode, and faults.

A master and two workers (one core each) are started from the installed pyspark; the driver
is a separate Python process (``tests/cluster_job.py``), as a notebook kernel would be.
Select these tests alone with ``pytest -m cluster``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlcourse
from mlcourse.standalone import StandaloneCluster
from mlcourse.synthetic import synthesize_higgs

from .cluster_job import analysis

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two workers registered with the master; everything stopped at the end, pass or fail."""
    cluster = StandaloneCluster(tmp_path_factory.mktemp("cluster"), workers=2)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def result_of(stdout: str) -> dict:
    line = next(ln for ln in stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def run_driver(cluster: StandaloneCluster, *args: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-m", "tests.cluster_job", *args],
        cwd=ROOT,
        env=cluster.driver_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return result_of(run.stdout)


@pytest.fixture(scope="module")
def inputs(spark, tmp_path_factory):
    """A 20k-event CSV and Parquet dataset that both runs read."""
    root = tmp_path_factory.mktemp("cluster-inputs")
    csv, _ = mlcourse.higgs_csv("20k", source="synthetic", seed=2, data_dir=str(root))
    parquet = str(root / "events.parquet")
    mlcourse.csv_to_parquet(spark, str(csv), parquet)
    return root, str(csv), parquet


@pytest.fixture(scope="module")
def both(cluster, inputs, spark):
    """The same analysis on the cluster (separate driver) and here in local mode."""
    root, csv, parquet = inputs
    on_cluster = run_driver(
        cluster, "analysis", parquet, csv, str(root / "cluster.parquet"), str(root / "c")
    )
    local = json.loads(
        json.dumps(analysis(spark, parquet, csv, str(root / "local.parquet"), str(root / "l")))
    )
    return on_cluster, local


def close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-12) for k in a)


def test_cluster_has_two_workers_and_the_job_used_both(cluster, both):
    assert cluster.alive_workers() == 2
    assert both[0]["executors"] == 2
    apps = cluster.state()["completedapps"]
    assert apps and all(app["state"] == "FINISHED" for app in apps)


def test_conversion_and_loading_match_local(both):
    on_cluster, local = both
    assert on_cluster["convert_rows"] == local["convert_rows"] == 20_000
    assert close(on_cluster["converted_sum"], local["converted_sum"])
    assert on_cluster["load_rows"] == local["load_rows"] == 5_000
    assert on_cluster["load_source"] == local["load_source"] == "synthetic"


def test_distributed_generation_gives_the_same_events(both):
    on_cluster, local = both
    assert close(on_cluster["synth"], local["synth"])
    frame = synthesize_higgs(30_000, seed=9)  # and the same as without Spark at all
    assert math.isclose(on_cluster["synth"]["sum(m_bb)"], frame["m_bb"].sum(), rel_tol=1e-12)


def test_histograms_match_local_exactly(both):
    on_cluster, local = both
    assert on_cluster["hist"] == local["hist"]
    assert on_cluster["grid"] == local["grid"]
    assert sum(map(sum, on_cluster["hist"])) > 0


def test_classifier_metrics_match_local(both):
    on_cluster, local = both
    a, b = on_cluster["report"], local["report"]
    assert a["events"] == b["events"]  # the hash split is the same on any cluster
    assert abs(a["auc"] - b["auc"]) < 0.01
    assert a["auc"] > 0.6


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """Enough events for a conversion that lasts several seconds on two one-core workers."""
    root = tmp_path_factory.mktemp("fault")
    csv, _ = mlcourse.higgs_csv("250k", source="synthetic", seed=0, data_dir=str(root))
    return root, str(csv)


def start_conversion(cluster, src: str, dest: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cluster_job", "convert", src, dest],
        cwd=ROOT,
        env=cluster.driver_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "STARTED"
    return proc


def wait_for_write(dest: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until tasks are writing into the hidden temporary dataset beside ``dest``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(dest.parent.glob(f".{dest.name}.mlcourse-tmp-*/_temporary/*/*")):
            return
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        time.sleep(0.2)
    raise AssertionError("the conversion never started writing")


def test_worker_killed_mid_job_exact_rows(cluster, big_csv, spark):
    root, csv = big_csv
    dest = root / "survived.parquet"
    proc = start_conversion(cluster, csv, str(dest))
    try:
        wait_for_write(dest, proc)
        time.sleep(1.0)
        assert proc.poll() is None and not dest.exists()  # caught in flight
        cluster.kill_worker(1)
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        cluster.start_worker(1, wait=True)
    assert result_of(out)["rows"] == 250_000
    df = spark.read.parquet(str(dest))
    assert df.count() == 250_000
    assert df.distinct().count() == 250_000  # no task's rows written twice
    expected = synthesize_higgs(250_000, seed=0)
    got = df.groupBy().sum("m_bb", "label").first()
    assert math.isclose(got[0], expected["m_bb"].sum(), rel_tol=1e-9)  # none missing
    assert got[1] == expected["label"].sum()


def test_driver_killed_mid_write_leaves_no_dataset(cluster, big_csv):
    root, csv = big_csv
    dest = root / "interrupted.parquet"
    proc = start_conversion(cluster, csv, str(dest))
    try:
        wait_for_write(dest, proc)
    finally:
        proc.kill()
        proc.wait()
    time.sleep(2.0)
    assert not dest.exists()  # nothing half-written at the destination
    # and the cluster is free again for the next student
    deadline = time.monotonic() + 60
    while cluster.state()["activeapps"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cluster.state()["activeapps"] == []
