"""The synthetic generator: reproducible, distributed, and faithful to real HIGGS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcourse.higgs import DISCRETE, FEATURES, LABEL, canonical_name
from mlcourse.synthetic import (
    BLOCK_SIZE,
    PARAMETER_FILE,
    fit_synthetic,
    ks_statistic,
    load_parameters,
    synthesize_higgs,
    to_json,
)

from .conftest import REAL_SAMPLE


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    df = pd.read_csv(REAL_SAMPLE)
    df.columns = [canonical_name(c) for c in df.columns]
    return df


@pytest.fixture(scope="module")
def halves(real):
    """Fit on even rows; judge on odd rows the model never saw."""
    fit = real.iloc[::2].reset_index(drop=True)
    held_out = real.iloc[1::2].reset_index(drop=True)
    return fit, held_out, fit_synthetic(fit)


def test_shipped_parameters_are_the_fit_of_the_committed_sample(real):
    """The committed JSON is exactly what the committed fitting code makes of the sample."""
    from importlib import resources

    params = fit_synthetic(real, source="higgs_real_5k.csv.gz (5,000 events)")
    shipped = resources.files("mlcourse").joinpath(PARAMETER_FILE).read_text()
    assert to_json(params) == shipped
    assert "CC BY 4.0" in load_parameters()["attribution"]


def test_same_seed_same_events_other_seed_other_events():
    a = synthesize_higgs(3000, seed=5)
    b = synthesize_higgs(3000, seed=5)
    c = synthesize_higgs(3000, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())
    assert a.attrs["mlcourse.source"] == "synthetic"
    assert list(a.columns) == [LABEL, *FEATURES]


def test_spark_generation_equals_local_and_spans_partitions(spark):
    n = BLOCK_SIZE + 20_000  # two blocks, the second one partial
    df = synthesize_higgs(n, seed=9, spark=spark)
    assert df.rdd.getNumPartitions() == 2
    assert df.schema[LABEL].metadata["mlcourse.source"] == "synthetic"
    got = df.toPandas()
    want = synthesize_higgs(n, seed=9)
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())


@pytest.mark.parametrize("cls", [0, 1])
def test_marginals_match_unseen_real_events(halves, cls):
    _, held_out, params = halves
    synth = synthesize_higgs(20_000, seed=1, params=params)
    r = held_out[held_out[LABEL] == cls]
    s = synth[synth[LABEL] == cls]
    ks = [ks_statistic(r[f].to_numpy(), s[f].to_numpy()) for f in FEATURES]
    assert np.mean(ks) <= 0.05, dict(zip(FEATURES, np.round(ks, 3), strict=True))
    for f in DISCRETE:  # b-tags keep their few discrete values
        assert set(np.unique(s[f])) <= set(np.unique(r[f])) | set(np.unique(halves[0][f]))
    fit = halves[0][halves[0][LABEL] == cls]
    for f in FEATURES:  # bounded ranges (eta, phi) are never left
        assert fit[f].min() <= s[f].min() and s[f].max() <= fit[f].max()


def test_signal_fraction(halves):
    _, held_out, params = halves
    synth = synthesize_higgs(50_000, seed=2, params=params)
    assert abs(synth[LABEL].mean() - held_out[LABEL].mean()) <= 0.02


def test_dependence_between_features(halves):
    """Rank correlations of synthetic events follow the real ones (e.g. m_wbb with m_wwbb)."""
    fit, held_out, params = halves
    synth = synthesize_higgs(20_000, seed=3, params=params)

    def spearman(df: pd.DataFrame, cls: int) -> np.ndarray:
        return df[df[LABEL] == cls][list(FEATURES)].rank().corr().to_numpy()

    off = ~np.eye(len(FEATURES), dtype=bool)
    for cls in (0, 1):
        r, s = spearman(held_out, cls), spearman(synth, cls)
        # Two halves of the real sample differ by sampling noise alone; the synthetic events
        # may differ from the unseen half by little more than that.
        noise = np.abs(r - spearman(fit, cls))[off].mean()
        assert np.abs(r - s)[off].mean() <= 1.25 * noise
        assert np.abs(r - s)[off].max() < 0.15
        strong = (np.abs(r) > 0.3) & off  # e.g. the masses among themselves
        assert strong.sum() >= 10 and np.all(np.sign(r[strong]) == np.sign(s[strong]))


def test_gbt_auc_close_to_real(spark, halves):
    """GBTClassifier(maxIter=20, maxDepth=5): synthetic AUC within 0.03 of the real one."""
    from pyspark.ml.classification import GBTClassifier
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.feature import VectorAssembler

    fit, held_out, params = halves
    assembler = VectorAssembler(inputCols=list(FEATURES), outputCol="features")
    evaluator = BinaryClassificationEvaluator(labelCol=LABEL)

    def auc(train: pd.DataFrame, test: pd.DataFrame) -> float:
        model = GBTClassifier(maxIter=20, maxDepth=5, seed=1).fit(
            assembler.transform(spark.createDataFrame(train))
        )
        return evaluator.evaluate(model.transform(assembler.transform(spark.createDataFrame(test))))

    real_auc = auc(fit, held_out)
    synth_auc = auc(
        synthesize_higgs(len(fit), seed=11, params=params),
        synthesize_higgs(20_000, seed=12, params=params),
    )
    assert 0.65 < real_auc < 0.8
    assert abs(synth_auc - real_auc) <= 0.03, (real_auc, synth_auc)
