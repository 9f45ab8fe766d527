"""mlcourse: the "Big Data Science and Machine Learning" hands-on course as a package.

Spark sessions that work on a laptop, on Binder and on Spark on Kubernetes, the HIGGS
data set, plots and metrics computed inside Spark, and IPython magics::

    %load_ext mlcourse
    spark = %spark
"""

from ._version import __version__
from .config import SparkProfile, data_dir, login_user, resolve_profile
from .doctor import doctor
from .errors import (
    ConfigError,
    DataError,
    DownloadError,
    JavaError,
    MlcourseError,
    SessionConflictError,
)
from .magics import load_ipython_extension
from .session import check_java, get_spark, stop_spark

__all__ = [
    "ConfigError",
    "DataError",
    "DownloadError",
    "JavaError",
    "MlcourseError",
    "SessionConflictError",
    "SparkProfile",
    "__version__",
    "check_java",
    "data_dir",
    "doctor",
    "get_spark",
    "load_ipython_extension",
    "login_user",
    "resolve_profile",
    "stop_spark",
]
