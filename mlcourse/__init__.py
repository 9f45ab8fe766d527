"""mlcourse: the "Big Data Science and Machine Learning" hands-on course as a package.

Spark sessions that work on a laptop, on Binder and on Spark on Kubernetes, the HIGGS
data set, plots and metrics computed inside Spark, and IPython magics::

    %load_ext mlcourse
    spark = %spark
"""

from ._version import __version__
from .config import SparkProfile, data_dir, login_user, resolve_profile
from .convert import ConversionResult, csv_to_parquet
from .data import data_info, load_higgs, source_of
from .doctor import doctor
from .errors import (
    ConfigError,
    DataError,
    DownloadError,
    JavaError,
    MlcourseError,
    SessionConflictError,
)
from .fetch import fetch_higgs
from .magics import load_ipython_extension
from .session import check_java, get_spark, stop_spark
from .synthetic import synthesize_higgs

__all__ = [
    "ConfigError",
    "ConversionResult",
    "DataError",
    "DownloadError",
    "JavaError",
    "MlcourseError",
    "SessionConflictError",
    "SparkProfile",
    "__version__",
    "check_java",
    "csv_to_parquet",
    "data_dir",
    "data_info",
    "doctor",
    "fetch_higgs",
    "get_spark",
    "load_higgs",
    "load_ipython_extension",
    "login_user",
    "resolve_profile",
    "source_of",
    "stop_spark",
    "synthesize_higgs",
]
