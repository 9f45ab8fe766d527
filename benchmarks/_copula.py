"""The generator that issue 22 replaced, kept as the benchmarks' reference: a Gaussian
copula per class (each feature's quantiles and the correlation of normal scores), fitted in
the run on the same real events. It reproduces each column's histogram but no physics."""

from __future__ import annotations

import statistics

import numpy as np
import pandas as pd

from mlcourse.higgs import DISCRETE, FEATURES, LABEL

PROBABILITIES = np.concatenate(
    [
        [0.0, 0.001, 0.0025, 0.005, 0.0075],
        np.arange(1, 100) / 100,
        [0.9925, 0.995, 0.9975, 0.999, 1.0],
    ]
)
_Z = np.linspace(-9.0, 9.0, 36_001)
_PHI = np.array([statistics.NormalDist().cdf(z) for z in _Z])


def _normal_scores(column: np.ndarray) -> np.ndarray:
    ranks = pd.Series(column).rank(method="average").to_numpy()
    inv = np.vectorize(statistics.NormalDist().inv_cdf)
    return inv((ranks - 0.5) / len(column))


class Copula:
    """Fit on real events (label and 28 features); :meth:`sample` makes new ones."""

    def __init__(self, events: pd.DataFrame) -> None:
        labels = events[LABEL].to_numpy()
        self.fraction = float(labels.mean())
        self.classes = {}
        for cls in (0, 1):
            sample = events.loc[labels == cls, list(FEATURES)].to_numpy(dtype=float)
            scores = np.column_stack([_normal_scores(c) for c in sample.T])
            corr = np.corrcoef(scores, rowvar=False)
            w, v = np.linalg.eigh(corr)
            corr = (v * np.clip(w, 1e-6, None)) @ v.T
            d = np.sqrt(np.diag(corr))
            table = {}
            for j, name in enumerate(FEATURES):
                if name in DISCRETE:
                    values, counts = np.unique(sample[:, j], return_counts=True)
                    table[name] = (values, np.cumsum(counts) / counts.sum())
                else:
                    table[name] = np.quantile(sample[:, j], PROBABILITIES)
            self.classes[cls] = (np.linalg.cholesky(corr / np.outer(d, d)), table)

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        labels = (rng.random(n) < self.fraction).astype(float)
        out = np.empty((n, len(FEATURES)))
        for cls, (chol, table) in self.classes.items():
            mask = labels == cls
            u = np.interp(rng.standard_normal((int(mask.sum()), len(FEATURES))) @ chol.T, _Z, _PHI)
            for j, name in enumerate(FEATURES):
                if name in DISCRETE:
                    values, cumulative = table[name]
                    index = np.searchsorted(cumulative, u[:, j], side="right")
                    out[mask, j] = values[np.minimum(index, len(values) - 1)]
                else:
                    out[mask, j] = np.interp(u[:, j], PROBABILITIES, table[name])
        frame = pd.DataFrame(out, columns=list(FEATURES))
        frame.insert(0, LABEL, labels)
        return frame
