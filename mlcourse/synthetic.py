"""Synthetic HIGGS events that behave like the real ones, for offline machines and tests.

The model is a Gaussian copula per class: each feature keeps its own marginal distribution
(the empirical quantile function for continuous features, the exact value table for the
discrete b-tag scores; the bounded eta and phi ranges follow from the quantiles), and the
dependence between features is the correlation of their normal scores. Its parameters
(``higgs_synthetic.json``: quantiles and correlations, no events) were fitted with
:func:`fit_synthetic` on 5,000 real HIGGS events:

    python -m mlcourse.synthetic data/higgs_real_5k.csv.gz

HIGGS: P. Baldi, P. Sadowski, D. Whiteson, Nature Communications 5, 4308 (2014),
arXiv:1402.4735; UCI Machine Learning Repository, CC BY 4.0.

Events are made in fixed blocks of :data:`BLOCK_SIZE`, each from its own random stream
``(seed, block)``, so the same seed gives the same events whether they are made here or
across a cluster's partitions.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from collections.abc import Iterator, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .datasets import parse_events
from .higgs import COLUMNS, DISCRETE, FEATURES, LABEL

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "BLOCK_SIZE",
    "fit_synthetic",
    "generate_block",
    "ks_statistic",
    "load_parameters",
    "synthesize_higgs",
]

#: Events per random block (and per Spark task when generating on a cluster).
BLOCK_SIZE = 100_000

PARAMETER_FILE = "higgs_synthetic.json"

ATTRIBUTION = (
    "Fitted on real events of the HIGGS data set: P. Baldi, P. Sadowski, D. Whiteson, "
    "'Searching for Exotic Particles in High-Energy Physics with Deep Learning', Nature "
    "Communications 5, 4308 (2014), arXiv:1402.4735; UCI Machine Learning Repository, "
    "https://archive.ics.uci.edu/dataset/280/higgs, CC BY 4.0. Holds summary statistics "
    "(quantiles, value frequencies, correlations), no events."
)

#: Probability levels at which continuous quantiles are stored: finer in the tails.
PROBABILITIES = np.round(
    np.concatenate(
        [
            [0.0, 0.001, 0.0025, 0.005, 0.0075],
            np.arange(1, 100) / 100,
            [0.9925, 0.995, 0.9975, 0.999, 1.0],
        ]
    ),
    6,
)

# Standard normal CDF by table lookup: numpy has no erf, and scipy is not a dependency.
_Z_TABLE = np.linspace(-9.0, 9.0, 36_001)
_PHI_TABLE = np.array([0.5 * math.erfc(-z / math.sqrt(2.0)) for z in _Z_TABLE])


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    return np.interp(z, _Z_TABLE, _PHI_TABLE)


def _normal_scores(column: np.ndarray) -> np.ndarray:
    """Normal scores of mid-ranks (ties, as in the b-tags, share their average rank)."""
    n = len(column)
    order = np.argsort(column, kind="mergesort")
    ranks = np.empty(n)
    ranks[order] = np.arange(1, n + 1)
    values, inverse = np.unique(column, return_inverse=True)
    if len(values) < n:  # average the ranks of tied values
        sums = np.bincount(inverse, weights=ranks)
        counts = np.bincount(inverse)
        ranks = (sums / counts)[inverse]
    inv = np.vectorize(statistics.NormalDist().inv_cdf)
    return inv((ranks - 0.5) / n)


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic ``sup |F_a - F_b|``, exact with ties.

    Used to judge the generator against real events (scipy is not a dependency).
    """
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def fit_synthetic(events: pd.DataFrame, *, source: str = "") -> dict[str, Any]:
    """Fit the per-class Gaussian copula to real events.

    Parameters
    ----------
    events : pandas.DataFrame
        Real events with the canonical HIGGS columns (label and 28 features).
    source : str, optional
        A description of where the events came from, stored in the result.

    Returns
    -------
    dict
        The parameters, JSON-serialisable: signal fraction, and per class the quantiles
        of each continuous feature, the value table of each discrete feature and the
        normal-score correlation matrix.
    """
    labels = events[LABEL].to_numpy()
    classes = {}
    for cls in (0, 1):
        sample = events.loc[labels == cls, list(FEATURES)].to_numpy(dtype=float)
        quantiles, discrete = {}, {}
        for j, name in enumerate(FEATURES):
            column = sample[:, j]
            if name in DISCRETE:
                values, counts = np.unique(column, return_counts=True)
                discrete[name] = {
                    "values": [float(v) for v in values],
                    "probabilities": [round(float(c) / len(column), 6) for c in counts],
                }
            else:
                quantiles[name] = [float(f"{q:.7g}") for q in np.quantile(column, PROBABILITIES)]
        scores = np.column_stack([_normal_scores(sample[:, j]) for j in range(len(FEATURES))])
        correlation = np.corrcoef(scores, rowvar=False)
        classes[str(cls)] = {
            "events": len(sample),
            "quantiles": quantiles,
            "discrete": discrete,
            "correlation": [[round(float(c), 5) for c in row] for row in correlation],
        }
    return {
        "model": "per-class Gaussian copula",
        "attribution": ATTRIBUTION,
        "source": source,
        "features": list(FEATURES),
        "probabilities": [float(p) for p in PROBABILITIES],
        "signal_fraction": round(float(labels.mean()), 6),
        "classes": classes,
    }


@lru_cache(maxsize=1)
def load_parameters() -> dict[str, Any]:
    """The fitted parameters shipped with the package."""
    text = resources.files("mlcourse").joinpath(PARAMETER_FILE).read_text()
    return json.loads(text)


def _correlate(x: np.ndarray, cholesky: np.ndarray) -> np.ndarray:
    """``x @ cholesky.T``, summed in a fixed order so the result is the same bit for bit anywhere.

    A BLAS matrix product may round differently with the number of threads and the memory
    alignment (seen: 36 of 3.5 million values 1 ULP apart between the driver and a Spark
    worker), which would break "same seed, same events". Here every output column is a sum
    of elementwise products over the lower triangle, in order, with no BLAS call.
    """
    xt = np.ascontiguousarray(x.T)
    zt = np.empty_like(xt)
    term = np.empty(xt.shape[1])
    for j in range(xt.shape[0]):
        np.multiply(xt[0], cholesky[j, 0], out=zt[j])
        for k in range(1, j + 1):
            np.multiply(xt[k], cholesky[j, k], out=term)
            zt[j] += term
    return zt.T


class _ClassModel:
    def __init__(self, params: dict[str, Any], probabilities: np.ndarray) -> None:
        corr = np.asarray(params["correlation"], dtype=float)
        # Nearest positive-definite: rounding can leave a tiny negative eigenvalue.
        w, v = np.linalg.eigh(corr)
        corr = (v * np.clip(w, 1e-6, None)) @ v.T
        d = np.sqrt(np.diag(corr))
        self.cholesky = np.linalg.cholesky(corr / np.outer(d, d))
        self.probabilities = probabilities
        self.quantiles = {k: np.asarray(q) for k, q in params["quantiles"].items()}
        self.discrete = {
            k: (np.asarray(t["values"]), np.cumsum(t["probabilities"]) / sum(t["probabilities"]))
            for k, t in params["discrete"].items()
        }

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        z = _correlate(rng.standard_normal((n, len(FEATURES))), self.cholesky)
        u = _norm_cdf(z)
        out = np.empty((n, len(FEATURES)))
        for j, name in enumerate(FEATURES):
            if name in self.discrete:
                values, cumulative = self.discrete[name]
                index = np.searchsorted(cumulative, u[:, j], side="right")
                out[:, j] = values[np.minimum(index, len(values) - 1)]
            else:
                out[:, j] = np.interp(u[:, j], self.probabilities, self.quantiles[name])
        return out


@lru_cache(maxsize=4)
def _models(params_json: str) -> tuple[float, dict[int, _ClassModel]]:
    params = json.loads(params_json)
    probabilities = np.asarray(params["probabilities"])
    models = {int(c): _ClassModel(p, probabilities) for c, p in params["classes"].items()}
    return float(params["signal_fraction"]), models


def generate_block(
    seed: int, block: int, n: int, params: dict[str, Any] | None = None
) -> np.ndarray:
    """Events of one block: an ``(n, 29)`` array, label first, columns as in HIGGS files.

    Parameters
    ----------
    seed : int
        The data set's seed.
    block : int
        Block index; block ``b`` holds events ``b * BLOCK_SIZE`` onwards.
    n : int
        Number of events in this block (``BLOCK_SIZE`` except for the last).
    params : dict, optional
        Parameters from :func:`fit_synthetic`; default the shipped ones.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(n, 29)``.
    """
    params = params if params is not None else load_parameters()
    fraction, models = _models(json.dumps(params, sort_keys=True))
    rng = np.random.default_rng([seed, block])
    labels = (rng.random(n) < fraction).astype(float)
    out = np.empty((n, len(COLUMNS)))
    out[:, 0] = labels
    for cls, model in models.items():
        mask = labels == cls
        out[mask, 1:] = model.sample(rng, int(mask.sum()))
    return out


def _blocks(events: int) -> list[tuple[int, int]]:
    return [
        (b, min(BLOCK_SIZE, events - b * BLOCK_SIZE)) for b in range(math.ceil(events / BLOCK_SIZE))
    ]


def synthesize_higgs(
    events: int | str,
    *,
    seed: int = 0,
    spark: SparkSession | None = None,
    params: dict[str, Any] | None = None,
) -> pd.DataFrame | DataFrame:
    """Generate synthetic HIGGS events, statistically faithful to the real data per class.

    Parameters
    ----------
    events : int or str
        Number of events, or a named size such as ``"100k"`` or ``"1M"``.
    seed : int, default 0
        The same seed gives the same events, with or without Spark.
    spark : SparkSession, optional
        When given, events are generated inside Spark, one task per block of
        :data:`BLOCK_SIZE` events with its own random stream, so that millions of events
        never pass through the driver; a Spark DataFrame is returned. Without it a
        pandas DataFrame is returned.
    params : dict, optional
        Model parameters from :func:`fit_synthetic`; default the shipped ones.

    Returns
    -------
    pandas.DataFrame or pyspark.sql.DataFrame
        Label and 28 features, canonical names. The Spark DataFrame carries
        ``{"mlcourse.source": "synthetic"}`` in the label column's metadata, and the pandas
        one ``attrs["mlcourse.source"] = "synthetic"``.

    Examples
    --------
    >>> events = synthesize_higgs(1_000, seed=3)  # pandas, no Spark needed
    >>> events.shape
    (1000, 29)
    >>> df = synthesize_higgs(1_000, seed=3, spark=spark)  # generated in the executors
    >>> df.toPandas().equals(events)  # the same events bit for bit
    True
    """
    n = parse_events(events)
    if n is None or n <= 0:
        raise ValueError(f"events must be a positive number of events, got {events!r}")
    params = params if params is not None else load_parameters()
    blocks = _blocks(n)
    if spark is None:
        import pandas as pd

        array = np.concatenate([generate_block(seed, b, m, params) for b, m in blocks])
        frame = pd.DataFrame(array, columns=list(COLUMNS))
        frame.attrs["mlcourse.source"] = "synthetic"
        frame.attrs["mlcourse.seed"] = seed
        return frame

    from .higgs import SCHEMA

    params_json = json.dumps(params, sort_keys=True)
    sizes = dict(blocks)
    names = list(COLUMNS)

    def make(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        local = json.loads(params_json)
        for batch in batches:
            for block in batch.column(0).to_pylist():
                array = generate_block(seed, block, sizes[block], local)
                yield pa.RecordBatch.from_arrays([pa.array(array[:, j]) for j in range(29)], names)

    ids = spark.range(0, len(blocks), numPartitions=len(blocks))
    df = ids.mapInArrow(make, SCHEMA)
    return mark_source(df, "synthetic", seed=seed)


def mark_source(df: DataFrame, source: str, **extra: Any) -> DataFrame:
    """Record in the label column's metadata whether events are real or synthetic."""
    metadata = {"mlcourse.source": source, **{f"mlcourse.{k}": v for k, v in extra.items()}}
    return df.withMetadata(LABEL, metadata)


def to_json(params: dict[str, Any]) -> str:
    """Parameters as JSON text, one array per line (readable diffs when refitted)."""
    text = json.dumps(params, indent=1)
    innermost = re.compile(r"\[\s+([^\[\]{}]*?)\s+\]")
    return innermost.sub(lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Fit the parameters on a real HIGGS CSV and write ``higgs_synthetic.json``."""
    import pandas as pd

    from .higgs import canonical_name

    parser = argparse.ArgumentParser(prog="python -m mlcourse.synthetic", description=main.__doc__)
    parser.add_argument("csv", help="real HIGGS events, course form (header row), .csv or .gz")
    parser.add_argument(
        "-o", "--output", default=str(Path(__file__).with_name(PARAMETER_FILE)), help="JSON file"
    )
    args = parser.parse_args(argv)
    events = pd.read_csv(args.csv)
    events.columns = [canonical_name(c) or c for c in events.columns]
    params = fit_synthetic(events, source=f"{Path(args.csv).name} ({len(events):,} events)")
    Path(args.output).write_text(to_json(params))
    print(f"wrote {args.output} from {len(events):,} events")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
