"""How faithful is the synthetic generator? Fit on half of the real sample, test on the other.

Prints, per class, the mean two-sample KS statistic between synthetic events and real events
the generator was NOT fitted on, the signal fractions, and the AUC of
GBTClassifier(maxIter=20, maxDepth=5) trained and tested on real events and on synthetic ones.

    python benchmarks/synthetic_fidelity.py [data/higgs_real_5k.csv.gz]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mlcourse.higgs import FEATURES, LABEL, canonical_name
from mlcourse.synthetic import fit_synthetic, ks_statistic, synthesize_higgs

#: The real sample committed with the repository (see data/README.md).
DEFAULT = Path(__file__).resolve().parents[1] / "data" / "higgs_real_5k.csv.gz"


def gbt_auc(spark, train: pd.DataFrame, test: pd.DataFrame, seed: int = 1) -> float:
    from pyspark.ml.classification import GBTClassifier
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.feature import VectorAssembler

    assembler = VectorAssembler(inputCols=list(FEATURES), outputCol="features")
    tr = assembler.transform(spark.createDataFrame(train))
    te = assembler.transform(spark.createDataFrame(test))
    model = GBTClassifier(maxIter=20, maxDepth=5, seed=seed).fit(tr)
    return BinaryClassificationEvaluator(labelCol=LABEL).evaluate(model.transform(te))


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    real = pd.read_csv(path)
    real.columns = [canonical_name(c) or c for c in real.columns]
    fit_half, held_out = (
        real.iloc[::2].reset_index(drop=True),
        real.iloc[1::2].reset_index(drop=True),
    )
    params = fit_synthetic(fit_half, source="even rows")
    synth = synthesize_higgs(20_000, seed=7, params=params)

    print(f"fitted on {len(fit_half)} real events, compared with {len(held_out)} others")
    for cls in (1, 0):
        r = held_out[held_out[LABEL] == cls]
        s = synth[synth[LABEL] == cls]
        ks = {f: ks_statistic(r[f].to_numpy(), s[f].to_numpy()) for f in FEATURES}
        worst = max(ks, key=ks.get)
        print(
            f"class {cls}: mean KS {np.mean(list(ks.values())):.4f} (target <= 0.05), "
            f"worst {worst} {ks[worst]:.3f}"
        )
    print(
        f"signal fraction: real held-out {held_out[LABEL].mean():.4f}, synthetic "
        f"{synth[LABEL].mean():.4f} (target within 0.02)"
    )

    import mlcourse

    spark = mlcourse.get_spark(**{"spark.ui.enabled": "false"})
    real_auc = gbt_auc(spark, fit_half, held_out)
    synth_train = synthesize_higgs(len(fit_half), seed=11, params=params)
    synth_test = synthesize_higgs(len(held_out), seed=12, params=params)
    synth_auc = gbt_auc(spark, synth_train, synth_test)
    print(
        f"GBT(maxIter=20, maxDepth=5) AUC: real {real_auc:.4f}, synthetic {synth_auc:.4f}, "
        f"difference {synth_auc - real_auc:+.4f} (target within 0.03)"
    )


if __name__ == "__main__":
    main()
