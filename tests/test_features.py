"""Feature vectors, reproducible splits and the Arrow export, on real Spark."""

from __future__ import annotations

import numpy as np
import pytest

from mlcourse import DataError
from mlcourse.analysis.features import (
    assemble_features,
    feature_columns,
    to_numpy,
    train_test_split,
)
from mlcourse.higgs import FEATURES, HIGH_LEVEL, LOW_LEVEL


@pytest.mark.parametrize(
    ("features", "names"),
    [("all", FEATURES), ("low", LOW_LEVEL), ("high", HIGH_LEVEL), (["m_bb", "lepton_pT"], None)],
)
def test_vector_holds_the_chosen_columns_in_order(higgs, features, names):
    df, _ = higgs
    names = list(names or features)
    out = assemble_features(df.limit(50), features)
    rows = out.select("features", *names).collect()
    for row in rows:
        np.testing.assert_array_equal(row["features"].toArray(), [row[c] for c in names])
    assert len(rows) == 50
    # the names travel with the vector as ML attributes
    attrs = out.schema["features"].metadata["ml_attr"]["attrs"]["numeric"]
    assert [a["name"] for a in sorted(attrs, key=lambda a: a["idx"])] == names


def test_historical_and_spaced_names_are_accepted(higgs):
    df, _ = higgs
    names = feature_columns(df, ["je4_eta", "lepton pT", "M_BB"])
    assert names == ["jet4_eta", "lepton_pT", "m_bb"]
    renamed = df.withColumnRenamed("jet4_eta", "je4_eta")
    assert feature_columns(renamed, ["jet4_eta"]) == ["je4_eta"]


def test_unknown_names_are_an_error_naming_them(higgs):
    df, _ = higgs
    with pytest.raises(DataError) as err:
        assemble_features(df, ["m_bb", "mbb_x", "lepton_ptt"])
    message = str(err.value)
    assert "'mbb_x'" in message and "'lepton_ptt'" in message
    assert "closest: m_bb" in message and "lepton_pT" in message
    assert "'m_bb' (" not in message  # the known one is not blamed


def test_existing_output_column_is_replaced(higgs):
    df, _ = higgs
    once = assemble_features(df.limit(5), "high")
    twice = assemble_features(once, "low")
    assert twice.columns.count("features") == 1
    assert twice.first()["features"].size == len(LOW_LEVEL)


def test_scaling_is_fitted_on_train_and_applied_to_test(higgs):
    df, _ = higgs
    train, test = train_test_split(df, 0.25, seed=3)
    scaled, model = assemble_features(train, "high", scale=True)
    x, _ = to_numpy(scaled, "features", label=None)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(x.std(axis=0, ddof=1), 1.0, rtol=1e-9)
    raw, _ = to_numpy(train, "high", label=None)
    np.testing.assert_allclose(x * raw.std(axis=0, ddof=1) + raw.mean(axis=0), raw, rtol=1e-9)
    # the test set gets the training set's mean and deviation, not its own
    test_x, _ = to_numpy(model.transform(test), "features", label=None)
    test_raw, _ = to_numpy(test, "high", label=None)
    np.testing.assert_allclose(test_x, (test_raw - raw.mean(axis=0)) / raw.std(axis=0, ddof=1))
    assert "features_raw" in scaled.columns


def test_split_is_reproducible_disjoint_and_complete(higgs):
    df, frame = higgs
    train, test = train_test_split(df, 0.2, seed=11)
    n_train, n_test = train.count(), test.count()
    assert n_train + n_test == len(frame)
    assert abs(n_test / len(frame) - 0.2) < 0.015
    assert train.intersect(test).count() == 0
    _, again_test = train_test_split(df, 0.2, seed=11)
    assert again_test.exceptAll(test).count() == 0 and test.exceptAll(again_test).count() == 0
    other = train_test_split(df, 0.2, seed=12)[1]
    assert other.exceptAll(test).count() > 0


def test_split_does_not_depend_on_partitioning(higgs):
    df, _ = higgs
    test = train_test_split(df, 0.3, seed=5)[1]
    shuffled = train_test_split(df.repartition(7), 0.3, seed=5)[1]
    assert shuffled.count() == test.count()
    assert shuffled.exceptAll(test).count() == 0


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_bad_fractions(higgs, bad):
    with pytest.raises(ValueError, match="between 0 and 1"):
        train_test_split(higgs[0], bad)


def test_to_numpy_equals_the_data(higgs):
    df, _ = higgs
    small = df.limit(300)
    x, y = to_numpy(small, "high")
    rows = small.toPandas()
    np.testing.assert_array_equal(x, rows[list(HIGH_LEVEL)].to_numpy())
    np.testing.assert_array_equal(y, rows["label"].to_numpy())
    assert x.dtype == np.float64 and x.shape == (300, 7)
    vx, vy = to_numpy(assemble_features(small), "features")
    np.testing.assert_array_equal(vx, rows[list(FEATURES)].to_numpy())
    np.testing.assert_array_equal(vy, y)
    only, none = to_numpy(small, ["m_bb"], label=None)
    assert none is None and only.shape == (300, 1)
    # the session's Arrow setting is left as it was
    assert df.sparkSession.conf.get("spark.sql.execution.arrow.pyspark.enabled") == "false"


def test_to_numpy_unknown_label_is_an_error(higgs):
    with pytest.raises(DataError, match="closest: label"):
        to_numpy(higgs[0].limit(5), "high", label="labels")
