"""mlcourse: the "Big Data Science and Machine Learning" hands-on course as a package.

Spark sessions that work on a laptop, on Binder and on Spark on Kubernetes, the HIGGS
data set, plots and metrics computed inside Spark, and IPython magics::

    %load_ext mlcourse
    spark = %spark
"""

import os as _os

# Day 3 runs Keras 3 on JAX: choose that backend for a later `import keras`, unless the user
# chose one. Nothing is imported here; Keras reads the variable when it is first imported.
_os.environ.setdefault("KERAS_BACKEND", "jax")

from ._version import __version__
from .boosting import with_validation, xgb_classifier
from .config import SparkProfile, data_dir, login_user, resolve_profile
from .convert import ConversionResult, csv_to_parquet
from .data import data_info, higgs_csv, load_higgs, source_of
from .doctor import doctor
from .errors import (
    ConfigError,
    DataError,
    DownloadError,
    JavaError,
    MlcourseError,
    SessionConflictError,
)
from .features import assemble_features, to_numpy, train_test_split
from .fetch import fetch_higgs
from .magics import load_ipython_extension
from .metrics import ClassificationReport, RocCurve, classification_report, roc_curve
from .neural import build_network, score_with_keras, to_arrays
from .plots import (
    Histogram,
    correlation_matrix,
    feature_histograms,
    plot_correlation,
    plot_feature_importance,
    plot_features,
    plot_history,
    plot_roc,
    plot_signal_vs_background,
    signal_background_hist,
)
from .session import check_java, get_spark, stop_spark
from .synthetic import synthesize_higgs

__all__ = [
    "ClassificationReport",
    "ConfigError",
    "ConversionResult",
    "DataError",
    "DownloadError",
    "Histogram",
    "JavaError",
    "MlcourseError",
    "RocCurve",
    "SessionConflictError",
    "SparkProfile",
    "__version__",
    "assemble_features",
    "build_network",
    "check_java",
    "classification_report",
    "correlation_matrix",
    "csv_to_parquet",
    "data_dir",
    "data_info",
    "doctor",
    "feature_histograms",
    "fetch_higgs",
    "get_spark",
    "higgs_csv",
    "load_higgs",
    "load_ipython_extension",
    "login_user",
    "plot_correlation",
    "plot_feature_importance",
    "plot_features",
    "plot_history",
    "plot_roc",
    "plot_signal_vs_background",
    "resolve_profile",
    "roc_curve",
    "score_with_keras",
    "signal_background_hist",
    "source_of",
    "stop_spark",
    "synthesize_higgs",
    "to_arrays",
    "to_numpy",
    "train_test_split",
    "with_validation",
    "xgb_classifier",
]
