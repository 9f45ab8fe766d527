"""The examples in the public API's docstrings run, on the shared Spark session.

Each docstring with examples is one test. The examples see their module's names and
``spark``, as a notebook would; they build their own small DataFrame.
"""

from __future__ import annotations

import doctest
import importlib
import io

import pytest

MODULES = [
    "mlcourse.analysis.aggregate",
    "mlcourse.models.boosting",
    "mlcourse.course.checks",
    "mlcourse.config",
    "mlcourse.data.sizes",
    "mlcourse.errors",
    "mlcourse.analysis.evaluation",
    "mlcourse.analysis.evaluation_plots",
    "mlcourse.analysis.features",
    "mlcourse.higgs",
    "mlcourse.analysis.metrics",
    "mlcourse.models.neural",
    "mlcourse.physics",
    "mlcourse.analysis.plots",
    "mlcourse.models.scoring",
    "mlcourse.runtime.session",
    "mlcourse.data.synthetic",
    "mlcourse.analysis.yields",
]

#: Public functions whose docstrings must keep a running example.
REQUIRED = {
    "assemble_features",
    "check",
    "build_network",
    "canonical_name",
    "classification_report",
    "efficiency_curve",
    "overtraining_check",
    "significance_scan",
    "feature_histograms",
    "get_spark",
    "invariant_mass",
    "roc_curve",
    "roc_curve_arrays",
    "signal_background_hist",
    "synthesize_higgs",
    "to_arrays",
    "to_numpy",
    "train_test_split",
    "with_validation",
    "xgb_classifier",
}

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _collect() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for name in MODULES:
        module = importlib.import_module(name)
        tests += [t for t in finder.find(module, name) if t.examples]
    return sorted(tests, key=lambda t: t.name)


DOCTESTS = _collect()


def test_public_api_keeps_its_examples():
    documented = {t.name.rsplit(".", 1)[-1] for t in DOCTESTS}
    missing = REQUIRED - documented
    assert not missing, sorted(missing)
    skipped = [t.name for t in DOCTESTS for ex in t.examples if ex.options.get(doctest.SKIP)]
    assert skipped == [], "examples must run, not be skipped"


@pytest.mark.parametrize("test", DOCTESTS, ids=lambda t: t.name.removeprefix("mlcourse."))
def test_docstring_examples(test: doctest.DocTest, spark):
    test.globs = {**test.globs, "spark": spark}
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    result = runner.run(test, out=report.write, clear_globs=True)
    assert result.attempted == len(test.examples)
    assert result.failed == 0, report.getvalue()
