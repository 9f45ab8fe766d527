"""The course notebooks over Spark Connect: each kernel a thin client of one local server.

The sources of Days 1-4 run unchanged, as the notebook tier runs them
(10k synthetic events, a real kernel), with ``SPARK_REMOTE`` pointing at a token-protected
Connect server on 127.0.0.1 (its own, from this file's fixture, stopped by its pid at the
end). What needs the classic driver is in ``%%classic_only`` cells, which say so and are
skipped; everything else must compute what it computes in classic mode, its exercises'
checks passing, with no error and nothing on stderr, and ``%spark``'s progress display in
the outputs. Day 1b, on the classic driver's own internals, is the notebook tier's alone.
"""

from __future__ import annotations

import pytest

import mlcourse
from mlcourse.runtime import connect

from .test_connect import TOKEN, server  # noqa: F401 (the fixture: a server for this file)
from .test_notebooks import (
    EVENTS,
    NOTEBOOKS,
    RESULTS,
    check,
    check_outputs,
    notebook_environment,
    run_for_results,
)

pytestmark = pytest.mark.connect

#: Days 1-4. Day 2's MLP notebook and the final hands-on run over Connect too, in
#: ``benchmarks/connect_notebooks.py`` (all six, timed against classic mode, any stderr
#: reported); here they would add about five minutes to CI.
OVER_CONNECT = [
    NOTEBOOKS / name
    for name in (
        "day1_input_data.ipynb",
        "day2_gbt.ipynb",
        "day3_neural_networks.ipynb",
        "day4_distributed_training.ipynb",
    )
]

#: What Day 4 computes over Connect: its GBT; xgboost.spark's cells are skipped.
DAY4_OVER_CONNECT = ["auc_gbt", "seconds_gbt"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("connect-notebook-data")


def classic_only_cells(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.source.startswith("%%classic_only")]


@pytest.mark.parametrize("path", OVER_CONNECT, ids=lambda p: p.name)
def test_notebook_runs_over_spark_connect(path, server, data_dir, monkeypatch, tmp_path):  # noqa: F811
    for name in ("MLCOURSE_PROFILE", "MLCOURSE_MASTER", "SPARK_CONNECT_MODE_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARK_REMOTE", server.address)  # selects the connect profile
    monkeypatch.setenv(connect.TOKEN_VARIABLE, TOKEN)
    notebook_environment(monkeypatch, data_dir, tmp_path)
    day4 = path.name.startswith("day4")
    names = DAY4_OVER_CONNECT if day4 else RESULTS[path.name]
    # raises on any error, naming the cell
    nb, result = run_for_results(path, names, f"connect-{path.name}")
    skipped = classic_only_cells(nb)
    # Day 4's later exercises train xgboost: their checks are in its classic-only cells; the
    # validation marks (Exercise 1) run over Connect too
    outputs = check_outputs(path, nb, exercises=["day4.ex1"] if day4 else None)
    # the kernel was a Spark Connect client: %spark showed the server's progress reports
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    progress = [h for h in html if 'class="mlcourse-progress"' in h]
    assert progress and all("<summary>Spark Connect: " in h for h in progress)
    # the classic-only cells said why they were skipped, and only they
    said = [
        i
        for i, c in enumerate(nb.cells)
        if any("Skipped over Spark Connect: " in o.get("text", "") for o in c.get("outputs", []))
    ]
    assert said == skipped
    if day4:
        assert skipped
        assert result["auc_gbt"] > 0.7 and result["seconds_gbt"] > 0
        return
    assert skipped == []
    check(path.name, result)  # the same bounds as in classic mode
    if path.name.startswith("day1"):
        # the same events as in classic mode, whatever the server: the generator's own
        frame = mlcourse.synthetic_events(EVENTS, seed=0)
        assert result["signal_fraction"] == pytest.approx(frame["label"].mean(), abs=1e-12)
