"""The Spark Connect progress display, fed the reports pyspark's client hands a handler, and
the connect-server commands where no server runs."""

from __future__ import annotations

import pytest
from pyspark.sql.connect.shell.progress import StageInfo

from mlcourse.cli import main
from mlcourse.runtime.jobs import _STEP
from mlcourse.runtime.progress import CSS_CLASS, ProgressDisplay


def report(display: ProgressDisplay, op: str, stages: list[tuple], done: bool = False) -> None:
    infos = [StageInfo(i, n, c, b, n == c) for i, n, c, b in stages]
    display(stages=infos, inflight_tasks=0, operation_id=op, done=done)


def test_queries_are_named_after_the_running_mlcourse_step():
    display = ProgressDisplay()
    token = _STEP.set("mlcourse: histogram of m_bb by label")
    try:
        report(display, "op1", [(0, 4, 1, 2048)])
    finally:
        _STEP.reset(token)
    report(display, "op2", [(1, 2, 0, 0)])
    names = [q.name for q in display.queries.values()]
    assert names == ["mlcourse: histogram of m_bb by label", "Spark query 1"]


def test_a_running_query_shows_its_fraction_and_a_finished_one_its_totals():
    display = ProgressDisplay()
    report(display, "op", [(0, 4, 1, 2048), (1, 200, 50, 0)])
    (query,) = display.queries.values()
    assert query.totals() == (2, 204, 51, 2048)
    assert query.text().startswith("▶ Spark query 1: 2 stages, 51/204 tasks, 2.0 KiB read, ")
    # the last report can predate the end: done means every task of its stages ran
    report(display, "op", [], done=True)
    assert query.done and query.totals() == (2, 204, 204, 2048)
    assert query.text().startswith("✓ Spark query 1: 2 stages, 204 tasks, 2.0 KiB read, ")


def test_a_query_done_before_any_report_says_so():
    display = ProgressDisplay()
    report(display, "op", [], done=True)
    (query,) = display.queries.values()
    assert "done before the server's first progress report" in query.text()


def test_finished_queries_fold_under_a_summary_and_running_ones_stay_open():
    display = ProgressDisplay()
    report(display, "a", [(0, 1, 1, 0)], done=True)
    report(display, "b", [(1, 3, 1, 0)])
    plain, rich = display.render(list(display.queries.values()))
    assert plain.splitlines()[0].startswith("✓ Spark query 1") and "1/3 tasks" in plain
    assert rich.startswith(f'<div class="{CSS_CLASS}"')
    running, folded = rich.split("<details>")
    assert "Spark query 2" in running and "Spark query 1" not in running
    assert "<summary>Spark Connect: 1 query done, 1 running</summary>" in folded
    assert "Spark query 1" in folded


def test_connect_server_commands_without_a_server(monkeypatch, tmp_path, capsys):
    """status and stop with no server of this user's: no pid to touch, and a plain answer."""
    monkeypatch.setenv("MLCOURSE_CACHE_DIR", str(tmp_path))
    assert main(["connect-server", "status"]) == 1
    assert capsys.readouterr().out == "not running\n"
    assert main(["connect-server", "stop"]) == 0
    assert capsys.readouterr().out == "no Spark Connect server of yours runs\n"
    with pytest.raises(SystemExit, match="--conf takes spark.KEY=VALUE, not 'memory=2g'"):
        main(["connect-server", "start", "--conf", "memory=2g"])
    assert not (tmp_path / "connect").exists()  # nothing started, nothing written
