"""Shared fixtures: one real local[2] Spark session, and HIGGS files, for the whole run.

Every input a test reads is in the repository or generated here: synthetic events from the
package's own generator, and the 5,000 real events committed in ``data/``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import mlcourse
from mlcourse.higgs import COLUMNS, canonical_name

matplotlib.use("Agg")  # tests draw into figures, never onto a screen

ROOT = Path(__file__).resolve().parents[1]

#: The first 5,000 real UCI events, course form, committed with their attribution.
REAL_SAMPLE = ROOT / "data" / "higgs_real_5k.csv.gz"

#: SHA-256 of the first 5,000 lines of UCI's HIGGS.csv (decompressed), as UCI writes them.
REAL_UCI_SHA256 = "e996a57d1dec14eba41872d97a677aba667f82367f8557746d831b4eedf2a6d5"

#: The header of the course's CSV files, with its historical ``je4_eta``.
COURSE_HEADER = ",".join("je4_eta" if c == "jet4_eta" else c for c in COLUMNS)

_ISOLATED_ENV = (
    "MLCOURSE_PROFILE",
    "MLCOURSE_MASTER",
    "MLCOURSE_CONFIG",
    "MLCOURSE_DATA_DIR",
    "MLCOURSE_EVENTS",
    "MLCOURSE_SOURCE",
    "JUPYTERHUB_USER",
    "JUPYTERHUB_SERVICE_PREFIX",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "SPARKMONITOR_KERNEL_PORT",
    "MLCOURSE_UI_PROXY",
    "SPARK_REMOTE",
    "SPARK_CONNECT_MODE_ENABLED",
    "SPARK_CONNECT_AUTHENTICATE_TOKEN",
    "JPY_PARENT_PID",
)

#: Options of every JVM the tests start: the shared session's driver and, through the
#: environment they inherit, the notebook kernels' drivers, ``mlcourse demo`` and the cluster
#: jobs' drivers, the Spark Connect server (``SPARK_SUBMIT_OPTS``, read by spark-submit) and
#: the standalone master and workers (``SPARK_DAEMON_JAVA_OPTS``). The client compiler only:
#: a test's JVM lives seconds to minutes on small data, where C2's optimising compiles cost
#: more CPU than they win back (a GBT on 7k events on 2 cores: 40% less CPU, the same wall
#: time), and the two pytest-xdist workers share two cores. A developer's own setting wins.
TEST_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1"
for _variable in ("SPARK_SUBMIT_OPTS", "SPARK_DAEMON_JAVA_OPTS"):
    os.environ.setdefault(_variable, TEST_JAVA_OPTIONS)

# Settings of the shared test session: two cores, small memory, no UI port.
TEST_CONF = {
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
}


#: Markers of the slow tiers, left out of a plain ``pytest`` run.
SLOW_TIERS = ("notebooks", "binder", "cluster", "browser", "processes", "fidelity", "connect")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all-tiers",
        action="store_true",
        help=f"also run the slow tiers ({', '.join(SLOW_TIERS)}), as CI does",
    )


def _runs_every_tier(config: pytest.Config) -> bool:
    # An explicit -m expression (say -m cluster) chooses for itself.
    return bool(config.getoption("--all-tiers") or config.getoption("markexpr"))


def pytest_report_header(config: pytest.Config) -> str:
    if _runs_every_tier(config):
        return "mlcourse tiers: as selected (all tiers unless -m says otherwise)"
    return f"mlcourse tiers: fast only; --all-tiers adds {', '.join(SLOW_TIERS)}"


def _tiers(item: pytest.Item) -> list[pytest.Mark]:
    return [m for m in item.iter_markers() if m.name in SLOW_TIERS]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    fast: list[pytest.Item] = []
    slow: list[pytest.Item] = []
    for item in items:
        (slow if _tiers(item) else fast).append(item)
    if _runs_every_tier(config):
        # The long ones first, the longest tiers first (SLOW_TIERS's order; a stable sort
        # keeps the files' order within a tier): with two pytest-xdist workers, a long
        # file started last would leave the other worker idle while it runs.
        # pyproject.toml's --no-loadscope-reorder keeps this order; xdist's default puts
        # the files with the most tests first, which is the notebooks' last.
        slow.sort(key=lambda item: min(SLOW_TIERS.index(m.name) for m in _tiers(item)))
        items[:] = slow + fast
    elif slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = fast


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """Keep the developer's own mlcourse configuration and hub variables out of tests."""
    for name in _ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture(scope="session")
def spark():
    """A real local[2] SparkSession shared by every test, stopped at the end."""
    for name in _ISOLATED_ENV:
        os.environ.pop(name, None)
    session = mlcourse.get_spark("local", workers=2, app_name="mlcourse-tests", **TEST_CONF)
    yield session
    mlcourse.stop_spark()


@dataclass(frozen=True)
class HiggsFiles:
    """The same events as two gzipped CSV files and as a pandas frame (canonical names)."""

    course: Path  # header row (je4_eta), shortest round-trip decimals
    uci: Path  # no header, every value as %.18e, as UCI's HIGGS.csv.gz writes them
    frame: pd.DataFrame

    @property
    def course_lines(self) -> list[str]:
        return gzip.open(self.course, "rt").read().splitlines()

    @property
    def uci_gz(self) -> bytes:
        return self.uci.read_bytes()


def numpy_hist(frame: pd.DataFrame, column: str, edges, label_col: str = "label"):
    """numpy's own histogram of ``column`` for signal, then for background: the reference."""
    values = frame[column].to_numpy()
    labels = frame[label_col].to_numpy()
    return (
        np.histogram(values[labels == 1], bins=edges)[0],
        np.histogram(values[labels == 0], bins=edges)[0],
    )


def best_round(aucs, patience):
    """Early stopping's rule as a student writes it (Day 4, Exercise 2): the round of the
    highest AUC, looking no further than ``patience`` rounds past it."""
    best, at = float("-inf"), 0
    for i, value in enumerate(aucs):
        if value > best:
            best, at = value, i
        elif i - at >= patience:
            break
    return at


def uci_text(frame: pd.DataFrame) -> str:
    """Rows in the UCI file's own form: no header, ``%.18e`` values."""
    rows = frame[list(COLUMNS)].to_numpy()
    return "".join(",".join(f"{v:.18e}" for v in row) + "\n" for row in rows)


def _write_gz(path: Path, text: str) -> Path:
    # mtime=0: the same events give the same bytes in every run
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    return path


@pytest.fixture(scope="session")
def higgs_files(tmp_path_factory) -> HiggsFiles:
    """5,000 synthetic events (seed 5) in both CSV forms, written once per run."""
    folder = tmp_path_factory.mktemp("higgs-files")
    frame = mlcourse.synthetic_events(5000, seed=5)
    rows = frame[list(COLUMNS)].to_numpy()
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows)
    return HiggsFiles(
        _write_gz(folder / "synthetic_course.csv.gz", COURSE_HEADER + "\n" + body),
        _write_gz(folder / "synthetic_uci.csv.gz", uci_text(frame)),
        frame,
    )


@pytest.fixture(scope="session")
def real_files(tmp_path_factory) -> HiggsFiles:
    """The committed real sample, and its UCI form derived byte for byte."""
    assert REAL_SAMPLE.is_file(), f"{REAL_SAMPLE} is missing: it is part of the repository"
    frame = pd.read_csv(REAL_SAMPLE, float_precision="round_trip")
    frame.columns = [canonical_name(c) for c in frame.columns]
    folder = tmp_path_factory.mktemp("real-files")
    return HiggsFiles(REAL_SAMPLE, _write_gz(folder / "real_uci.csv.gz", uci_text(frame)), frame)


#: Seed of the ``higgs`` fixture's events (the cluster tests convert the same events).
HIGGS_SEED = 7


@pytest.fixture(scope="session")
def higgs(spark):
    """20,000 synthetic HIGGS events as a cached Spark DataFrame and the same rows in pandas."""
    from mlcourse.data.synthetic import synthesize_higgs

    df = synthesize_higgs(spark, 20_000, seed=HIGGS_SEED).cache()
    frame = df.toPandas()
    yield df, frame
    df.unpersist()


@pytest.fixture(scope="session")
def gbt(spark, higgs):
    """A small GBT (5 trees of depth 3) fitted on 70 % of ``higgs``; its predictions on the
    other 30 %, cached. The cluster tests fit the same on the cluster."""
    from pyspark.ml.classification import GBTClassifier

    from mlcourse.analysis.features import assemble_features, train_test_split

    df, _ = higgs
    train, test = train_test_split(df, 0.3, seed=1)
    model = GBTClassifier(maxIter=5, maxDepth=3, seed=1).fit(assemble_features(train))
    predictions = model.transform(assemble_features(test)).cache()
    yield model, predictions
    predictions.unpersist()
