"""mlcourse: the "Big Data Science and Machine Learning" hands-on course as a package.

Spark sessions that work on a laptop, on Binder and on Spark on Kubernetes, the HIGGS
data set, plots and metrics computed inside Spark, and IPython magics::

    %load_ext mlcourse
    spark = %spark
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os as _os
import sys as _sys
import warnings as _warnings
from typing import TYPE_CHECKING, Any

# Day 3 runs Keras 3 on JAX: choose that backend for a later `import keras`, unless the user
# chose one. Nothing is imported here; Keras reads the variable when it is first imported.
_os.environ.setdefault("KERAS_BACKEND", "jax")

from mlcourse._version import __version__

#: The public API by what a student does, and the module each name lives in. Nothing is
#: imported until a name is first used: `import mlcourse` loads neither pyspark nor
#: IPython nor matplotlib.
_API: dict[str, tuple[str, ...]] = {
    "runtime.session": ("get_spark", "stop_spark", "check_java"),
    "config": ("SparkProfile", "data_dir", "login_user", "resolve_profile", "cpu_count"),
    "runtime.doctor": ("doctor", "DoctorReport"),
    "runtime.standalone": ("StandaloneCluster",),
    "data": ("load_higgs", "higgs_csv", "data_info", "source_of", "DataInfo"),
    "data.fetch": ("fetch_higgs",),
    "data.convert": ("csv_to_parquet", "ConversionResult"),
    "data.synthetic": ("synthesize_higgs", "synthetic_events"),
    "analysis.features": ("assemble_features", "train_test_split", "to_numpy"),
    "analysis.aggregate": (
        "Histogram",
        "signal_background_hist",
        "feature_histograms",
        "correlation_matrix",
    ),
    "analysis.plots": (
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
    "analysis.metrics": ("ClassificationReport", "RocCurve", "classification_report", "roc_curve"),
    "analysis.evaluation": (
        "EfficiencyCurve",
        "SignificanceScan",
        "OvertrainingCheck",
        "asimov_significance",
        "efficiency_curve",
        "significance_scan",
        "overtraining_check",
    ),
    "analysis.paired": ("paired_auc_difference",),
    "analysis.yields": ("benchmark_yields", "Yields"),
    "models.neural": ("to_arrays", "build_network"),
    "models.scoring": ("score_with_keras",),
    "models.boosting": ("with_validation", "xgb_classifier", "task_slots"),
    "course.checks": ("check", "hint", "CheckResult"),
    "course.solutions": ("solution",),
    "course.magics": ("load_ipython_extension",),
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


#: Where the modules of the flat layout (mlcourse 0.x) live now. ``import
#: mlcourse.standalone`` and ``from mlcourse.boosting import task_slots`` keep working for
#: one release, with a DeprecationWarning that names the new place; the module is the same
#: object under both names. ``mlcourse.config`` and ``mlcourse.data`` kept their names.
_MOVED = {
    "aggregate": "analysis.aggregate",
    "boosting": "models.boosting",
    "checking": "course.checking",
    "checks": "course.checks",
    "connect": "runtime.connect",
    "convert": "data.convert",
    "datasets": "data.sizes",
    "demo": "course.demo",
    "doctor": "runtime.doctor",
    "evaluation": "analysis.evaluation",
    "features": "analysis.features",
    "fetch": "data.fetch",
    "grading": "course.grading",
    "magics": "course.magics",
    "metrics": "analysis.metrics",
    "neural": "models.neural",
    "notebooks": "course.notebooks",
    "plots": "analysis.plots",
    "progress": "runtime.progress",
    "session": "runtime.session",
    "solutions": "course.solutions",
    "standalone": "runtime.standalone",
    "synthetic": "data.synthetic",
    "webui": "runtime.webui",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``mlcourse.<old name>`` and hands back the module at its new place."""

    def find_spec(
        self,
        fullname: str,
        path: Any = None,  # noqa: ARG002 (importlib's finder protocol)
        target: Any = None,  # noqa: ARG002
    ) -> importlib.machinery.ModuleSpec | None:
        prefix, _, old = fullname.partition(".")
        if prefix != __name__ or old not in _MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        new = f"{__name__}.{_MOVED[spec.name.partition('.')[2]]}"
        frame: Any = _sys._getframe(1)
        level = 2
        while frame is not None and "importlib" in frame.f_code.co_filename:
            frame, level = frame.f_back, level + 1  # the warning names the importing line
        _warnings.warn(
            f"{spec.name} is now {new}: import it from there, or the name from mlcourse "
            "itself; the old path goes in the next release",
            DeprecationWarning,
            stacklevel=level,
        )
        return importlib.import_module(new)

    def exec_module(self, module: Any) -> None:
        """The module ran at its new place already."""


# once per interpreter: a fresh import of the package (the grader's reset, a reload) finds
# the finder of the first one there already
if not any(type(finder).__name__ == "_MovedModules" for finder in _sys.meta_path):
    _sys.meta_path.append(_MovedModules())


if TYPE_CHECKING:  # the same names, for type checkers and editors (`X as X`: re-exported)
    from mlcourse.analysis.aggregate import (
        Histogram as Histogram,
        correlation_matrix as correlation_matrix,
        feature_histograms as feature_histograms,
        signal_background_hist as signal_background_hist,
    )
    from mlcourse.analysis.evaluation import (
        EfficiencyCurve as EfficiencyCurve,
        OvertrainingCheck as OvertrainingCheck,
        SignificanceScan as SignificanceScan,
        asimov_significance as asimov_significance,
        efficiency_curve as efficiency_curve,
        overtraining_check as overtraining_check,
        significance_scan as significance_scan,
    )
    from mlcourse.analysis.features import (
        assemble_features as assemble_features,
        to_numpy as to_numpy,
        train_test_split as train_test_split,
    )
    from mlcourse.analysis.metrics import (
        ClassificationReport as ClassificationReport,
        RocCurve as RocCurve,
        classification_report as classification_report,
        roc_curve as roc_curve,
    )
    from mlcourse.analysis.paired import (
        paired_auc_difference as paired_auc_difference,
    )
    from mlcourse.analysis.plots import (
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
    from mlcourse.analysis.yields import (
        Yields as Yields,
        benchmark_yields as benchmark_yields,
    )
    from mlcourse.config import (
        SparkProfile as SparkProfile,
        cpu_count as cpu_count,
        data_dir as data_dir,
        login_user as login_user,
        resolve_profile as resolve_profile,
    )
    from mlcourse.course.checks import (
        CheckResult as CheckResult,
        check as check,
        hint as hint,
    )
    from mlcourse.course.magics import (
        load_ipython_extension as load_ipython_extension,
    )
    from mlcourse.course.solutions import (
        solution as solution,
    )
    from mlcourse.data import (
        DataInfo as DataInfo,
        data_info as data_info,
        higgs_csv as higgs_csv,
        load_higgs as load_higgs,
        source_of as source_of,
    )
    from mlcourse.data.convert import (
        ConversionResult as ConversionResult,
        csv_to_parquet as csv_to_parquet,
    )
    from mlcourse.data.fetch import (
        fetch_higgs as fetch_higgs,
    )
    from mlcourse.data.synthetic import (
        synthesize_higgs as synthesize_higgs,
        synthetic_events as synthetic_events,
    )
    from mlcourse.errors import (
        ConfigError as ConfigError,
        DataError as DataError,
        DownloadError as DownloadError,
        JavaError as JavaError,
        MlcourseError as MlcourseError,
        SessionConflictError as SessionConflictError,
    )
    from mlcourse.models.boosting import (
        task_slots as task_slots,
        with_validation as with_validation,
        xgb_classifier as xgb_classifier,
    )
    from mlcourse.models.neural import (
        build_network as build_network,
        to_arrays as to_arrays,
    )
    from mlcourse.models.scoring import (
        score_with_keras as score_with_keras,
    )
    from mlcourse.runtime.doctor import (
        DoctorReport as DoctorReport,
        doctor as doctor,
    )
    from mlcourse.runtime.session import (
        check_java as check_java,
        get_spark as get_spark,
        stop_spark as stop_spark,
    )
    from mlcourse.runtime.standalone import (
        StandaloneCluster as StandaloneCluster,
    )
