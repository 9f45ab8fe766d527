"""``mlcourse demo``: the course's analysis end to end, in one command.

Data (synthetic by default, so it runs offline; or the real events from UCI) as a CSV file,
CSV to Parquet, the feature grid, signal against background of m_bb, the correlation
matrix, feature vectors, a gradient-boosted-tree classifier, its ROC curve, metrics and
feature importance, and the predicted classes over m_bb. Everything is written into one
folder: PNG figures, ``metrics.json`` and a ``report.html`` that shows them.
"""

from __future__ import annotations

import html
import json
import logging
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcourse._version import __version__
from mlcourse.data import higgs_csv
from mlcourse.data.sizes import check_source, parquet_name, parse_events
from mlcourse.data.storage import check_destination, is_local, local_path
from mlcourse.higgs import FEATURES, LABEL

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from pyspark.sql import DataFrame, SparkSession

    from mlcourse.analysis.metrics import ClassificationReport
    from mlcourse.data.convert import ConversionResult

__all__ = ["DEMO_MODEL", "DemoResult", "run_demo"]

log = logging.getLogger(__name__)

#: The part of the events the classifier is tested on (the rest trains it).
TEST_FRACTION = 0.2

#: The classifier of the demo: GBTClassifier settings (about AUC 0.75 on real HIGGS 100k).
DEMO_MODEL: dict[str, Any] = {"maxIter": 20, "maxDepth": 5, "stepSize": 0.2}

#: The figures, in the order the report shows them: file stem -> caption.
FIGURES: dict[str, str] = {
    "features": "All 28 features, signal against background (one Spark aggregation).",
    "m_bb": "The invariant mass of the two b-jets, m_bb, signal against background.",
    "correlation": "Pearson correlation of the 28 features.",
    "roc": "ROC curve of the gradient-boosted trees on the test set.",
    "importance": "Feature importance of the gradient-boosted trees.",
    "m_bb_prediction": "m_bb of the test set: true classes filled, predicted classes dashed.",
}


@dataclass
class DemoResult:
    """What :func:`run_demo` did and where it put it.

    Attributes
    ----------
    out : pathlib.Path
        The output folder; ``report`` is ``out / "report.html"``.
    events : int
        Events converted and analysed.
    source : {"real", "synthetic"}
    train_events, test_events : int
    report : ClassificationReport
        Metrics of the classifier on the test set.
    conversion : ConversionResult
        The CSV to Parquet step.
    figures : dict of str -> pathlib.Path
        Every PNG written.
    timings : dict of str -> float
        Seconds per step.
    seed : int
        Seed of the synthetic events, the split and the classifier.
    started : str
        When the run began (ISO 8601, UTC).
    command : str
        The command line (or call) that made it.
    profile : str
        The mlcourse profile of the Spark session.
    """

    out: Path
    events: int
    source: str
    train_events: int
    test_events: int
    report: ClassificationReport
    conversion: ConversionResult
    figures: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    started: str = ""
    command: str = ""
    profile: str = ""

    @property
    def html(self) -> Path:
        """The report page."""
        return self.out / "report.html"

    @property
    def metrics_json(self) -> Path:
        """The metrics file."""
        return self.out / "metrics.json"

    def __str__(self) -> str:
        r = self.report
        return "\n".join(
            [
                f"mlcourse demo: {self.events:,} {self.source} HIGGS events "
                f"({self.train_events:,} to train, {self.test_events:,} to test) "
                f"in {sum(self.timings.values()):.0f} s",
                f"  GBT classifier: AUC {r.auc:.3f}, accuracy {r.accuracy:.3f}, "
                f"precision {r.precision:.3f}, recall {r.recall:.3f}, F1 {r.f1:.3f}",
                f"  {len(self.figures)} figures, metrics.json and report.html in {self.out}",
                f"  open {self.html}",
            ]
        )


class _Steps:
    """Times each step of the demo and logs it."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        log.info("%s ...", name)
        start = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - start
        log.info("%s done in %.1f s", name, self.timings[name])


def _figure(**kwargs: Any) -> Figure:
    """A matplotlib Figure outside pyplot: no GUI backend, nothing kept alive after saving."""
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **kwargs)


def _save(fig: Any, out: Path, name: str, figures: dict[str, Path], source: str) -> None:
    if source == "synthetic":  # on every figure, so that none is taken for real data
        # a figure-level footer: constrained layout makes room for it under the x labels
        fig.supxlabel(
            "SYNTHETIC events (mlcourse generator), not the real HIGGS data",
            fontsize="small",
            color="tab:orange",
            weight="bold",
        )
    path = out / f"{name}.png"
    fig.savefig(path, dpi=110)
    figures[name] = path


def run_demo(
    spark: SparkSession,
    events: int | str = "100k",
    *,
    source: str = "synthetic",
    out: str | Path = "mlcourse-demo",
    seed: int = 0,
    url: str | None = None,
    command: str | None = None,
) -> DemoResult:
    """Run the course's analysis end to end and write figures, metrics and a report.

    Parameters
    ----------
    spark : SparkSession
        The session that does the work.
    events : int or str, default "100k"
        Number of events (``"20k"``, ``"100k"``, ``"1M"``, ...).
    source : {"synthetic", "real", "auto"}, default "synthetic"
        ``synthetic`` generates the events (offline); ``real`` downloads the UCI ones (kept
        in the data directory for next time); ``auto`` takes what is there, else tries UCI.
    out : str or pathlib.Path, default "mlcourse-demo"
        Output folder, created if needed; the CSV and Parquet data go into ``out/data``.
    seed : int, default 0
        Seed of the synthetic events, the split and the classifier.
    url : str, optional
        Mirror of the UCI file (see :func:`mlcourse.fetch_higgs`).

    Returns
    -------
    DemoResult
        Prints as a short summary; ``.html`` is the report page.
    """
    from pyspark.ml.classification import GBTClassifier

    from mlcourse.analysis.features import assemble_features, train_test_split
    from mlcourse.data.convert import csv_to_parquet
    from mlcourse.data.synthetic import mark_source

    n, out = _checked_input(events, source, out, url)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    step, figures = _Steps(), dict[str, Path]()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")

    with step("data"):
        csv, origin = higgs_csv(n, source=source, seed=seed, data_dir=str(data), url=url)
    with step("CSV to Parquet"):
        parquet = data / parquet_name(n, origin, seed)
        conversion = csv_to_parquet(spark, str(csv), str(parquet), overwrite=True)
        df = mark_source(spark.read.parquet(str(parquet)), origin).cache()
    try:
        with step("feature plots"):
            _feature_figures(df, out, figures, origin)
        with step("train GBT"):
            train, test = train_test_split(df, TEST_FRACTION, seed=seed)
            gbt = GBTClassifier(labelCol=LABEL, seed=seed, **DEMO_MODEL)
            model = gbt.fit(assemble_features(train))
        with step("evaluate"):
            report = _evaluate(model, test, out, figures, origin)
            test_events = report.events
    finally:
        df.unpersist()

    result = DemoResult(
        out=out, events=conversion.rows, source=origin,
        train_events=conversion.rows - test_events, test_events=test_events,
        report=report, conversion=conversion, figures=figures, timings=step.timings,
        seed=seed, started=started,
        command=command or f"run_demo(events={events!r}, source={source!r}, seed={seed})",
        profile=spark.conf.get("spark.mlcourse.profile", None) or "(not made by mlcourse)",
    )  # fmt: skip
    result.metrics_json.write_text(json.dumps(_metrics(result, spark), indent=2) + "\n")
    result.html.write_text(_html(result, spark), encoding="utf-8")
    return result


def _checked_input(
    events: int | str, source: str, out: str | Path, url: str | None
) -> tuple[int, Path]:
    """The number of events and the output folder (absolute: Spark resolves relative paths
    from its own directory), once the source is known and the output is not the input."""
    check_source(source)
    n = parse_events(events)
    if n is None:
        raise ValueError("the demo needs a number of events, such as '100k' or '1M'")
    if url is not None and is_local(url):  # written into, never replaced: only the input
        check_destination(out, [local_path(url)], replaces=False, what="the demo's data")
    return n, Path(out).resolve()


def _feature_figures(df: DataFrame, out: Path, figures: dict[str, Path], origin: str) -> None:
    """Every feature for signal and background, m_bb alone, and the correlations."""
    from mlcourse.analysis.plots import plot_correlation, plot_features, plot_signal_vs_background

    fig = _figure(figsize=(13, 15))
    plot_features(df, axes=fig.subplots(7, 4), density=True)
    fig.suptitle(f"HIGGS features, {origin} events: signal vs background (normalised)")
    _save(fig, out, "features", figures, origin)
    fig = _figure(figsize=(6, 4.5))
    plot_signal_vs_background(df, "m_bb", ax=fig.subplots())
    _save(fig, out, "m_bb", figures, origin)
    fig = _figure(figsize=(10, 8.5))
    plot_correlation(df, ax=fig.subplots())
    _save(fig, out, "correlation", figures, origin)


def _evaluate(
    model: Any, test: DataFrame, out: Path, figures: dict[str, Path], origin: str
) -> ClassificationReport:
    """The test events' classification report, and its figures: ROC, feature importance,
    m_bb of the events the model calls signal."""
    from mlcourse.analysis.features import assemble_features
    from mlcourse.analysis.metrics import classification_report
    from mlcourse.analysis.plots import (
        plot_feature_importance,
        plot_roc,
        plot_signal_vs_background,
    )

    predictions = model.transform(assemble_features(test)).cache()
    try:
        report = classification_report(predictions)
        fig = _figure(figsize=(5.5, 5))
        plot_roc(report, ax=fig.subplots(), label="GBT")
        _save(fig, out, "roc", figures, origin)
        fig = _figure(figsize=(6, 8))
        plot_feature_importance(model, FEATURES, ax=fig.subplots())
        _save(fig, out, "importance", figures, origin)
        fig = _figure(figsize=(6, 4.5))
        plot_signal_vs_background(test, "m_bb", ax=fig.subplots(), predictions=predictions)
        _save(fig, out, "m_bb_prediction", figures, origin)
    finally:
        predictions.unpersist()
    return report


def _environment(spark: SparkSession) -> dict[str, str]:
    return {
        "mlcourse": __version__,
        "spark": spark.version,
        "master": spark.conf.get("spark.master", None) or "Spark Connect",
        "python": platform.python_version(),
    }


def _run(result: DemoResult) -> dict[str, Any]:
    return {
        "date": result.started,
        "command": result.command,
        "seed": result.seed,
        "profile": result.profile,
        "train_fraction": 1 - TEST_FRACTION,
        "test_fraction": TEST_FRACTION,
    }


def _metrics(result: DemoResult, spark: SparkSession) -> dict[str, Any]:
    return {
        "run": _run(result),
        "events": result.events,
        "source": result.source,
        "train_events": result.train_events,
        "test_events": result.test_events,
        "model": {"type": "GBTClassifier", **DEMO_MODEL},
        "test": result.report.to_dict(),
        "seconds": {k: round(v, 2) for k, v in result.timings.items()},
        "figures": [p.name for p in result.figures.values()],
        "environment": _environment(spark),
    }


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.8em; text-align: right; }
th { background: #f4f4f4; text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
.notice { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.6em 1em; }
"""


def _html(result: DemoResult, spark: SparkSession) -> str:
    """The report page: data, metrics, figures (by relative path) and timings."""
    conv, env = result.conversion, _environment(spark)
    notice = (
        '<p class="notice">These are <b>synthetic</b> events, made as the real ones were '
        "(decay chains, then a detector) and calibrated on real events; run "
        "<code>mlcourse demo --source real</code> for the real data set.</p>"
        if result.source == "synthetic"
        else ""
    )
    run = _run(result)
    about_run = _table(
        [
            ("date", run["date"]),
            ("command", run["command"]),
            ("seed", str(run["seed"])),
            ("profile", f"{run['profile']} ({env['master']})"),
            ("split", f"{run['train_fraction']:.0%} training / {run['test_fraction']:.0%} test"),
        ]
    )
    data = _table(
        [
            ("events", f"{result.events:,} ({result.source})"),
            ("training / test events", f"{result.train_events:,} / {result.test_events:,}"),
            ("CSV", f"{conv.src} ({conv.bytes_in / 1e6:.1f} MB)"),
            ("Parquet", f"{conv.dest} ({conv.bytes_out / 1e6:.1f} MB)"),
        ]
    )
    model = ", ".join(f"{k}={v}" for k, v in DEMO_MODEL.items())
    figures = "".join(
        f'<figure><img src="{html.escape(path.name)}" alt="{html.escape(name)}">'
        f"<figcaption>{html.escape(FIGURES[name])}</figcaption></figure>"
        for name, path in result.figures.items()
    )
    timings = _table([(k, f"{v:.1f} s") for k, v in result.timings.items()])
    about = _table(list(env.items()))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>mlcourse demo: HIGGS signal vs background</title><style>{_STYLE}</style></head>
<body>
<h1>HIGGS: signal against background with Spark</h1>
{notice}
<h2>Run</h2>{about_run}
<h2>Data</h2>{data}
<h2>Gradient-boosted trees ({html.escape(model)}) on the test set</h2>
{result.report._repr_html_()}
<h2>Figures</h2>{figures}
<h2>Time per step</h2>{timings}
<h2>Environment</h2>{about}
<p>Made by <code>mlcourse demo</code>. Data: Baldi, Sadowski, Whiteson, Nature Communications 5,
4308 (2014); UCI Machine Learning Repository, CC BY 4.0.</p>
</body></html>
"""
