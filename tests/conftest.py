"""Shared fixtures: one real local[2] Spark session for the whole test run."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

import mlcourse

matplotlib.use("Agg")  # tests draw into figures, never onto a screen

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

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
)

# Settings of the shared test session: two cores, small memory, no UI port.
TEST_CONF = {
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
}


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


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real HIGGS sample beside the project (../shared/data); skipped when absent."""
    if not (SHARED_DATA / "higgs_real_5k_a.csv.gz").is_file():
        pytest.skip(f"real HIGGS sample not found in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def higgs(spark):
    """20,000 synthetic HIGGS events as a cached Spark DataFrame and the same rows in pandas."""
    from mlcourse.synthetic import synthesize_higgs

    df = synthesize_higgs(20_000, seed=7, spark=spark).cache()
    frame = df.toPandas()
    yield df, frame
    df.unpersist()


@pytest.fixture(scope="session")
def gbt(spark, higgs):
    """A small GBT fitted on 70 % of ``higgs``; its predictions on the other 30 %, cached."""
    from pyspark.ml.classification import GBTClassifier

    from mlcourse.features import assemble_features, train_test_split

    df, _ = higgs
    train, test = train_test_split(df, 0.3, seed=1)
    model = GBTClassifier(maxIter=10, maxDepth=3, seed=1).fit(assemble_features(train))
    predictions = model.transform(assemble_features(test)).cache()
    yield model, predictions
    predictions.unpersist()
