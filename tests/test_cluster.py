"""mlcourse on a real Spark standalone cluster: the same answers as numpy and local mode, faults.

A master and two workers (one core each) are started from the installed pyspark; the driver
is a separate Python process (``tests/cluster_job.py``), as a notebook kernel would be. Its
one reference job runs on the events of the session's ``higgs`` fixture, so the answers
are checked against numpy on those events and against the ``gbt`` fixture that local-mode
tests have already fitted, with nothing computed twice. A slow tier: ``pytest -m cluster``.
"""

from __future__ import annotations

import json
import math
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlcourse
from mlcourse import classification_report
from mlcourse.data.synthetic import synthetic_events
from mlcourse.higgs import FEATURES
from mlcourse.runtime.standalone import StandaloneCluster

from .cluster_job import RANGES, XGB_PARAMS, xgb_split
from .conftest import HIGGS_SEED, numpy_hist

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
def network(spark):
    """A Day 3 network for the executors to score with (random weights score as well).

    After the session: starting Spark's JVM forks (pyspark's preexec_fn), and JAX warns
    about a fork once its threads run.
    """
    return mlcourse.build_network(28, units=16, seed=3)


@pytest.fixture(scope="module")
def on_cluster(cluster, network, tmp_path_factory) -> dict:
    """The reference job on the cluster, on the ``higgs`` fixture's events as UCI CSV."""
    root = tmp_path_factory.mktemp("cluster-inputs")
    csv, _ = mlcourse.higgs_csv("20k", source="synthetic", seed=HIGGS_SEED, data_dir=str(root))
    network.save(root / "model.keras")
    args = [str(csv), str(root / "events.parquet"), str(root), str(root / "model.keras")]
    return {**run_driver(cluster, "analysis", *args), "root": root}


def sums(frame) -> dict[str, float]:
    return {f"sum({c})": float(frame[c].sum()) for c in frame.columns}


def close(a: dict, b: dict) -> bool:
    """Equal sums of the same values added in another order: within 1e-12 relative, or
    1e-9 absolute for a sum near zero (20k angles add up to about -0.07)."""
    return a.keys() == b.keys() and all(
        math.isclose(a[k], b[k], rel_tol=1e-12, abs_tol=1e-9) for k in a
    )


def numpy_counts(frame, name: str, edges: np.ndarray) -> list[list[int]]:
    return [counts.tolist() for counts in numpy_hist(frame, name, edges)]


def test_cluster_has_two_workers_and_the_job_used_both(cluster, on_cluster):
    assert cluster.alive_workers() == 2
    assert on_cluster["executors"] == 2
    apps = cluster.state()["completedapps"]
    assert apps and all(app["state"] == "FINISHED" for app in apps)


def test_conversion_and_loading(on_cluster, higgs):
    _, frame = higgs
    assert on_cluster["convert_rows"] == 20_000
    assert close(on_cluster["converted_sum"], sums(frame))  # the very events, converted
    assert on_cluster["load_rows"] == 5_000
    assert on_cluster["load_source"] == "synthetic"


def test_distributed_generation_gives_the_same_events(on_cluster):
    assert close(on_cluster["synth"], sums(synthetic_events(30_000, seed=9)))


def test_histograms_equal_numpy(on_cluster, higgs):
    _, frame = higgs
    assert on_cluster["hist"] == numpy_counts(frame, "m_bb", np.linspace(0.0, 3.0, 41))
    for name, (lo, hi) in RANGES.items():
        edges = np.linspace(lo, hi, 21)
        assert on_cluster["grid"][name] == numpy_counts(frame, name, edges), name
    assert sum(map(sum, on_cluster["hist"])) > 0


def test_classifier_metrics_match_local(on_cluster, gbt):
    local = classification_report(gbt[1]).to_dict()
    got = on_cluster["report"]
    assert got["events"] == local["events"]  # the hash split is the same on any cluster
    assert abs(got["auc"] - local["auc"]) < 0.01
    assert got["auc"] > 0.6


def test_keras_scores_on_the_cluster_equal_model_predict(on_cluster, network):
    """Day 3's scoring in the executors of a real cluster: each worker loads the model."""
    assert on_cluster["keras_rows"] == 20_000
    scored = pd.read_parquet(on_cluster["root"] / "scored.parquet")
    expected = network.predict(scored[list(FEATURES)].to_numpy(), verbose=0)[:, 0]
    np.testing.assert_allclose(scored["p"].to_numpy(), expected, atol=1e-6)
    np.testing.assert_array_equal(scored["prediction"], (scored["p"] >= 0.5) * 1.0)


def test_xgboost_trains_on_two_cluster_workers_as_in_local_mode(on_cluster, spark, higgs):
    """Day 4: SparkXGBClassifier's barrier stage on the cluster's two one-core executors."""
    result = on_cluster["xgboost"]
    assert abs(result["report"]["auc"] - result["spark_auc"]) < 1e-3
    train, test = xgb_split(higgs[0])  # the same events, here in local[2]
    local = mlcourse.xgb_classifier(spark, num_workers=2, **XGB_PARAMS).fit(train)
    local_auc = mlcourse.roc_curve(local.transform(test)).auc
    assert abs(result["report"]["auc"] - local_auc) < 0.01
    assert result["report"]["events"] == test.count()
    assert "num_workers=3 but this Spark session can run only 2 task(s)" in result["refused"]
    assert result["refusal_jobs"] == 0  # at once, not a barrier stage waiting for a slot


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """Enough events for a conversion that lasts several seconds on two one-core workers."""
    root = tmp_path_factory.mktemp("fault")
    csv, _ = mlcourse.higgs_csv("250k", source="synthetic", seed=0, data_dir=str(root))
    return root, str(csv)


class FaultDriver:
    """One driver process for both fault tests, converting ``big_csv`` once per "go": the
    worker test kills a worker under its first conversion, the driver test kills the
    driver itself in its second. One driver JVM (and its executors) to start, not two."""

    def __init__(self, cluster: StandaloneCluster, csv: str, root: Path, names: list[str]):
        self.log = root / "fault-driver.log"
        self.dests = [root / name for name in names]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.cluster_job", "convert", csv, *map(str, self.dests)],
                cwd=ROOT,
                env=cluster.driver_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.started = self.finished = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def expect(self, prefix: str, step: str, timeout: float = 600) -> str:
        """The driver's next line, which must start with ``prefix``. 600 s: a conversion
        takes about 20 s on two idle one-core workers."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no word from the driver in {timeout} s {step}") from None
        assert line is not None, f"the driver exited {step}:\n{self.tail()}"
        assert line.startswith(prefix), f"{line!r} {step}"
        return line

    def finish(self, step: str) -> dict:
        """Wait for the running conversion's result line."""
        line = self.expect("CONVERTED ", step)
        self.finished += 1
        return json.loads(line.removeprefix("CONVERTED "))

    def convert(self, dest: Path) -> None:
        """Start the conversion into ``dest`` once those before it have ended (run alone,
        a test still gets its own destination)."""
        target = self.dests.index(dest)
        while True:
            while self.finished < self.started:
                self.finish(f"converting into {self.dests[self.finished].name}")
            if self.started == target:
                break
            self._start(self.dests[self.started])
        self._start(dest)

    def _start(self, dest: Path) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        self.expect(f"STARTED {dest}", f"starting to convert into {dest.name}")
        self.started += 1

    def wait_for_write(self, dest: Path, timeout: float = 120) -> None:
        """Until tasks write into the hidden temporary dataset beside ``dest``: 120 s for
        what takes a few seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(dest.parent.glob(f".{dest.name}.mlcourse-tmp-*/_temporary/*/*")):
                return
            assert self.proc.poll() is None, self.tail()
            time.sleep(0.2)
        raise AssertionError(f"the conversion into {dest.name} never started writing")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def fault_driver(cluster, big_csv):
    root, csv = big_csv
    driver = FaultDriver(cluster, csv, root, ["survived.parquet", "interrupted.parquet"])
    try:
        yield driver
    finally:
        driver.stop()


def test_worker_killed_mid_job_exact_rows(cluster, big_csv, fault_driver, spark):
    root, _ = big_csv
    dest = root / "survived.parquet"
    try:
        fault_driver.convert(dest)
        fault_driver.wait_for_write(dest)
        time.sleep(1.0)
        assert fault_driver.proc.poll() is None and not dest.exists()  # caught in flight
        cluster.kill_worker(1)
        result = fault_driver.finish("after a worker was killed")
    finally:
        cluster.start_worker(1, wait=True)
    assert result["rows"] == 250_000
    df = spark.read.parquet(str(dest))
    assert df.count() == 250_000
    assert df.distinct().count() == 250_000  # no task's rows written twice
    expected = synthetic_events(250_000, seed=0)
    got = df.groupBy().sum("m_bb", "label").first()
    assert math.isclose(got[0], expected["m_bb"].sum(), rel_tol=1e-9)  # none missing
    assert got[1] == expected["label"].sum()


def test_driver_killed_mid_write_leaves_no_dataset(cluster, big_csv, fault_driver):
    root, _ = big_csv
    dest = root / "interrupted.parquet"
    try:
        fault_driver.convert(dest)
        fault_driver.wait_for_write(dest)
    finally:
        fault_driver.stop()  # SIGKILL, as the OOM killer or a closed laptop would
    time.sleep(2.0)
    assert not dest.exists()  # nothing half-written at the destination
    # and the cluster is free again for the next student
    deadline = time.monotonic() + 60
    while cluster.state()["activeapps"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cluster.state()["activeapps"] == []
