"""mlcourse: the "Big Data Science and Machine Learning" hands-on course as a package.

Spark sessions that work on a laptop, on Binder and on Spark on Kubernetes, the HIGGS
data set, plots and metrics computed inside Spark, and IPython magics::

    %load_ext mlcourse
    spark = %spark
"""

from __future__ import annotations

import importlib
import os as _os
from typing import TYPE_CHECKING, Any

# Day 3 runs Keras 3 on JAX: choose that backend for a later `import keras`, unless the user
# chose one. Nothing is imported here; Keras reads the variable when it is first imported.
_os.environ.setdefault("KERAS_BACKEND", "jax")

from ._version import __version__

#: The public API by what a student does, and the module each name lives in. Nothing is
#: imported until a name is first used: `import mlcourse` loads neither pyspark nor
#: IPython nor matplotlib.
_API: dict[str, tuple[str, ...]] = {
    "session": ("get_spark", "stop_spark", "check_java"),
    "config": ("SparkProfile", "data_dir", "login_user", "resolve_profile", "cpu_count"),
    "doctor": ("doctor", "DoctorReport"),
    "data": ("load_higgs", "higgs_csv", "data_info", "source_of", "DataInfo"),
    "fetch": ("fetch_higgs",),
    "convert": ("csv_to_parquet", "ConversionResult"),
    "synthetic": ("synthesize_higgs",),
    "features": ("assemble_features", "train_test_split", "to_numpy"),
    "aggregate": (
        "Histogram",
        "signal_background_hist",
        "feature_histograms",
        "correlation_matrix",
    ),
    "plots": (
        "draw_histogram",
        "draw_correlation",
        "plot_signal_vs_background",
        "plot_features",
        "plot_correlation",
        "plot_roc",
        "plot_feature_importance",
        "plot_history",
        "plot_efficiency",
        "plot_significance",
        "plot_overtraining",
    ),
    "metrics": ("ClassificationReport", "RocCurve", "classification_report", "roc_curve"),
    "evaluation": (
        "EfficiencyCurve",
        "SignificanceScan",
        "OvertrainingCheck",
        "asimov_significance",
        "efficiency_curve",
        "significance_scan",
        "overtraining_check",
    ),
    "paired": ("paired_auc_difference",),
    "yields": ("benchmark_yields", "Yields"),
    "neural": ("to_arrays", "build_network"),
    "scoring": ("score_with_keras",),
    "boosting": ("with_validation", "xgb_classifier"),
    "checks": ("check", "hint", "CheckResult"),
    "solutions": ("solution",),
    "magics": ("load_ipython_extension",),
    "errors": (
        "MlcourseError",
        "ConfigError",
        "DataError",
        "DownloadError",
        "JavaError",
        "SessionConflictError",
    ),
}
_WHERE = {name: module for module, names in _API.items() for name in names}

__all__ = ["__version__", *_WHERE]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mlcourse' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


if TYPE_CHECKING:  # the same names, for type checkers and editors (`X as X`: re-exported)
    from .aggregate import (
        Histogram as Histogram,
        correlation_matrix as correlation_matrix,
        feature_histograms as feature_histograms,
        signal_background_hist as signal_background_hist,
    )
    from .boosting import (
        with_validation as with_validation,
        xgb_classifier as xgb_classifier,
    )
    from .checks import (
        CheckResult as CheckResult,
        check as check,
        hint as hint,
    )
    from .config import (
        SparkProfile as SparkProfile,
        cpu_count as cpu_count,
        data_dir as data_dir,
        login_user as login_user,
        resolve_profile as resolve_profile,
    )
    from .convert import (
        ConversionResult as ConversionResult,
        csv_to_parquet as csv_to_parquet,
    )
    from .data import (
        DataInfo as DataInfo,
        data_info as data_info,
        higgs_csv as higgs_csv,
        load_higgs as load_higgs,
        source_of as source_of,
    )
    from .doctor import (
        DoctorReport as DoctorReport,
        doctor as doctor,
    )
    from .errors import (
        ConfigError as ConfigError,
        DataError as DataError,
        DownloadError as DownloadError,
        JavaError as JavaError,
        MlcourseError as MlcourseError,
        SessionConflictError as SessionConflictError,
    )
    from .evaluation import (
        EfficiencyCurve as EfficiencyCurve,
        OvertrainingCheck as OvertrainingCheck,
        SignificanceScan as SignificanceScan,
        asimov_significance as asimov_significance,
        efficiency_curve as efficiency_curve,
        overtraining_check as overtraining_check,
        significance_scan as significance_scan,
    )
    from .features import (
        assemble_features as assemble_features,
        to_numpy as to_numpy,
        train_test_split as train_test_split,
    )
    from .fetch import (
        fetch_higgs as fetch_higgs,
    )
    from .magics import (
        load_ipython_extension as load_ipython_extension,
    )
    from .metrics import (
        ClassificationReport as ClassificationReport,
        RocCurve as RocCurve,
        classification_report as classification_report,
        roc_curve as roc_curve,
    )
    from .neural import (
        build_network as build_network,
        to_arrays as to_arrays,
    )
    from .paired import (
        paired_auc_difference as paired_auc_difference,
    )
    from .plots import (
        draw_correlation as draw_correlation,
        draw_histogram as draw_histogram,
        plot_correlation as plot_correlation,
        plot_efficiency as plot_efficiency,
        plot_feature_importance as plot_feature_importance,
        plot_features as plot_features,
        plot_history as plot_history,
        plot_overtraining as plot_overtraining,
        plot_roc as plot_roc,
        plot_signal_vs_background as plot_signal_vs_background,
        plot_significance as plot_significance,
    )
    from .scoring import (
        score_with_keras as score_with_keras,
    )
    from .session import (
        check_java as check_java,
        get_spark as get_spark,
        stop_spark as stop_spark,
    )
    from .solutions import (
        solution as solution,
    )
    from .synthetic import (
        synthesize_higgs as synthesize_higgs,
    )
    from .yields import (
        Yields as Yields,
        benchmark_yields as benchmark_yields,
    )
