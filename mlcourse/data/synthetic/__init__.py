"""Synthetic HIGGS events made as the real ones were, for offline machines and tests.

Each event is a decay chain, then a detector, then the file's 28 features computed from
what the detector saw (:mod:`mlcourse.data.synthetic.chains`): signal gg -> H0 -> W H+-,
H+- -> W h0, h0 -> b b-bar, against t t-bar -> W b W b, with production spectra, widths, radiation
jets, jet response and resolution, b-tags at two levels (never more than two), the
acceptance and the neutrino from the W-mass constraint. So the masses are functions of
the four-vectors, as in the real file (:mod:`mlcourse.physics` recomputes them).

Its two dozen physical parameters (``higgs_synthetic.json``: numbers, no events) were
calibrated (:mod:`mlcourse.data.synthetic.calibration`) on the odd rows of the 5,000 real
HIGGS events committed in ``data/``; the even rows judge the result. To redo it:

    mlcourse data calibrate data/higgs_real_5k.csv.gz

HIGGS: P. Baldi, P. Sadowski, D. Whiteson, Nature Communications 5, 4308 (2014),
arXiv:1402.4735; UCI Machine Learning Repository, CC BY 4.0.

Events are made in fixed blocks of :data:`BLOCK_SIZE`, each from its own random stream
``(seed, block)``, so the same seed gives the same events whether they are made here or
across a cluster's partitions.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.data.sizes import parse_events
from mlcourse.data.synthetic.calibration import calibrate, ks_statistic, loss_terms
from mlcourse.data.synthetic.chains import ChainParameters
from mlcourse.data.synthetic.detector import generate_events
from mlcourse.higgs import COLUMNS, LABEL

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "BLOCK_SIZE",
    "calibrate_on_csv",
    "fit_synthetic",
    "generate_block",
    "ks_statistic",
    "load_parameters",
    "synthesize_higgs",
    "synthetic_events",
]

#: Events per random block (and per Spark task when generating on a cluster).
BLOCK_SIZE = 100_000

PARAMETER_FILE = "higgs_synthetic.json"

ATTRIBUTION = (
    "Fitted on real events of the HIGGS data set: P. Baldi, P. Sadowski, D. Whiteson, "
    "'Searching for Exotic Particles in High-Energy Physics with Deep Learning', Nature "
    "Communications 5, 4308 (2014), arXiv:1402.4735; UCI Machine Learning Repository, "
    "https://archive.ics.uci.edu/dataset/280/higgs, CC BY 4.0. Holds the physical "
    "parameters of a decay-chain generator (spectra, widths, resolutions, b-tag rates), no "
    "events."
)


def fit_synthetic(
    events: pd.DataFrame,
    *,
    source: str = "",
    evaluations: int = 400,
    parameters: list[str] | None = None,
    step: float = 0.3,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Calibrate the generator's physical parameters on real events.

    Parameters
    ----------
    events : pandas.DataFrame
        Real events with the canonical HIGGS columns (label and 28 features).
    source : str, optional
        A description of where the events came from, stored in the result.
    evaluations : int, default 400
        At most this many trial parameter sets (about a second each).
    parameters : list of str, optional
        Fit only these (default: all of :data:`mlcourse.data.synthetic.calibration.FITTED`).
    step : float, default 0.3
        The first step of the search (in the log or logit of each parameter).
    log : callable, optional
        Called with a line for each improvement.

    Returns
    -------
    dict
        JSON-serialisable: the model, attribution, source, the physical parameters
        (:class:`mlcourse.data.synthetic.chains.ChainParameters`) and the fit's record (loss
        before and after). No events.
    """
    fitted, record = calibrate(
        events, parameters=parameters, evaluations=evaluations, step=step, log=log
    )
    return {
        "model": "decay chains and a detector (mlcourse.data.synthetic.chains)",
        "attribution": ATTRIBUTION,
        "source": source,
        "parameters": fitted.to_dict(),
        "fit": {
            "evaluations": record["evaluations"],
            "events": record["events"],
            "before": {k: round(v, 4) for k, v in record["before"].items()},
            "after": {k: round(v, 4) for k, v in record["after"].items()},
        },
    }


@lru_cache(maxsize=1)
def load_parameters() -> dict[str, Any]:
    """The calibrated parameters shipped with the package."""
    text = resources.files(__name__).joinpath(PARAMETER_FILE).read_text()
    return json.loads(text)


@lru_cache(maxsize=8)
def _chain_parameters(params_json: str) -> ChainParameters:
    values = json.loads(params_json)
    known = {f.name for f in fields(ChainParameters)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"unknown generator parameters {unknown}: the parameter file was written by "
            "another version of mlcourse; refit it with mlcourse data calibrate"
        )
    return ChainParameters(**values)


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
    chain = _chain_parameters(json.dumps(params["parameters"], sort_keys=True))
    return generate_events(np.random.default_rng([seed, block]), n, chain)


def _blocks(events: int) -> list[tuple[int, int]]:
    return [
        (b, min(BLOCK_SIZE, events - b * BLOCK_SIZE)) for b in range(math.ceil(events / BLOCK_SIZE))
    ]


def synthetic_events(
    events: int | str, *, seed: int = 0, params: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Generate synthetic HIGGS events in this process, as a pandas DataFrame (no Spark).

    Parameters
    ----------
    events : int or str
        Number of events, or a named size such as ``"100k"``.
    seed : int, default 0
        The same seed gives the same events here and in :func:`synthesize_higgs`.
    params : dict, optional
        Model parameters from :func:`fit_synthetic`; default the shipped ones.

    Returns
    -------
    pandas.DataFrame
        Label and 28 features, canonical names, with ``attrs["mlcourse.source"] =
        "synthetic"`` and ``attrs["mlcourse.seed"]``.

    Examples
    --------
    >>> events = synthetic_events(1_000, seed=3)
    >>> events.shape
    (1000, 29)
    """
    import pandas as pd

    n = _positive(events)
    params = params if params is not None else load_parameters()
    array = np.concatenate([generate_block(seed, b, m, params) for b, m in _blocks(n)])
    frame = pd.DataFrame(array, columns=list(COLUMNS))
    frame.attrs["mlcourse.source"] = "synthetic"
    frame.attrs["mlcourse.seed"] = seed
    return frame


def synthesize_higgs(
    spark: SparkSession | int | str,
    /,
    events: int | str | None = None,
    *,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    **old: Any,
) -> DataFrame:
    """Generate synthetic HIGGS events inside Spark: decay chains, a detector, the file's
    features.

    One task per block of :data:`BLOCK_SIZE` events, each with its own random stream, so
    that millions of events never pass through the driver.

    Parameters
    ----------
    spark : SparkSession
        The session whose executors generate the events.
    events : int or str
        Number of events, or a named size such as ``"100k"`` or ``"1M"``.
    seed : int, default 0
        The same seed gives the same events, here and in :func:`synthetic_events`.
    params : dict, optional
        Model parameters from :func:`fit_synthetic`; default the shipped ones.

    Returns
    -------
    pyspark.sql.DataFrame
        Label and 28 features, canonical names, with ``{"mlcourse.source": "synthetic"}``
        in the label column's metadata.

    Examples
    --------
    >>> df = synthesize_higgs(spark, 1_000, seed=3)  # generated in the executors
    >>> df.toPandas().equals(synthetic_events(1_000, seed=3))  # the same events bit for bit
    True
    """
    if isinstance(spark, (int, str)):  # the 0.x form: synthesize_higgs(events, spark=...)
        session = old.pop("spark", None)
        warnings.warn(
            "synthesize_higgs(events, spark=spark) is now synthesize_higgs(spark, events), and "
            "synthesize_higgs(events) without Spark is synthetic_events(events); the old "
            "forms go in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        count: int | str = spark
        if session is None and not old:
            frame: Any = synthetic_events(count, seed=seed, params=params)
            return frame
        spark, events = session, count
    if old:
        raise TypeError(f"synthesize_higgs() got unexpected arguments {sorted(old)}")
    if events is None:
        raise TypeError("synthesize_higgs(spark, events): say how many events, e.g. 100_000")
    n = _positive(events)
    params = params if params is not None else load_parameters()
    blocks = _blocks(n)

    from mlcourse.higgs import SCHEMA

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

    assert not isinstance(spark, (int, str))
    ids = spark.range(0, len(blocks), numPartitions=len(blocks))
    df = ids.mapInArrow(make, SCHEMA)
    return mark_source(df, "synthetic", seed=seed)


def _positive(events: int | str) -> int:
    n = parse_events(events)
    if n is None or n <= 0:
        raise ValueError(f"events must be a positive number of events, got {events!r}")
    return n


def mark_source(df: DataFrame, source: str, **extra: Any) -> DataFrame:
    """Record in the label column's metadata whether events are real or synthetic."""
    metadata = {"mlcourse.source": source, **{f"mlcourse.{k}": v for k, v in extra.items()}}
    return df.withMetadata(LABEL, metadata)


def to_json(params: dict[str, Any]) -> str:
    """Parameters as JSON text, one array per line (readable diffs when refitted)."""
    text = json.dumps(params, indent=1)
    innermost = re.compile(r"\[\s+([^\[\]{}]*?)\s+\]")
    return innermost.sub(lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text) + "\n"


def calibrate_on_csv(
    csv: str | Path,
    *,
    output: str | Path | None = None,
    evaluations: int = 400,
    parameters: Sequence[str] | None = None,
    step: float = 0.3,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Calibrate the generator on a real HIGGS CSV's odd rows, write its parameters, and
    judge them on the even rows (``mlcourse data calibrate``).

    Parameters
    ----------
    csv : str or Path
        Real HIGGS events in the course form (a header row), ``.csv`` or ``.gz``.
    output : str or Path, optional
        The JSON file to write; default the ``higgs_synthetic.json`` this installation
        ships (what :func:`synthesize_higgs` reads).
    evaluations, parameters, step
        As :func:`fit_synthetic`'s.
    log : callable, optional
        Where progress lines go (the command line gives ``print``).

    Returns
    -------
    dict
        The parameters written.
    """
    import pandas as pd

    from mlcourse.higgs import canonical_name

    events = pd.read_csv(csv, float_precision="round_trip")  # the exact values
    events.columns = [canonical_name(c) or c for c in events.columns]
    fit, judge = events.iloc[0::2], events.iloc[1::2]
    source = f"{Path(csv).name}: its odd rows ({len(fit):,} of {len(events):,} events)"
    params = fit_synthetic(
        fit,
        source=source,
        evaluations=evaluations,
        parameters=list(parameters) if parameters else None,
        step=step,
        log=log,
    )
    path = Path(output) if output is not None else Path(__file__).with_name(PARAMETER_FILE)
    path.write_text(to_json(params))
    log(f"wrote {path}, fitted on {source}")
    if len(judge):
        terms = loss_terms(_chain_parameters(json.dumps(params["parameters"])), judge)
        log(
            f"on the even rows ({len(judge):,} events, not fitted on): "
            + ", ".join(f"{k} {v:.3f}" for k, v in terms.items())
        )
    return params
