"""`mlcourse demo`, the main job, run in-process on the shared Spark session."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime

import pytest

from mlcourse.cli import main
from mlcourse.course.demo import FIGURES

from .httpserver import FaultServer


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(["demo", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return code, captured.out


def check_output(out, *, events: int, source: str) -> dict:
    """Every promised file is there, and the report and metrics agree with each other."""
    metrics = json.loads((out / "metrics.json").read_text())
    page = (out / "report.html").read_text()
    for name in FIGURES:
        png = out / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f'src="{name}.png"' in page, name
    assert sorted(metrics["figures"]) == sorted(f"{n}.png" for n in FIGURES)
    assert set(re.findall(r'src="([^"]+)"', page)) == {f"{n}.png" for n in FIGURES}
    assert metrics["events"] == events and metrics["source"] == source
    test = metrics["test"]
    confusion = test["confusion"]
    assert sum(confusion.values()) == test["events"] == metrics["test_events"]
    assert metrics["train_events"] + metrics["test_events"] == events
    assert abs(test["accuracy"] - (confusion["tp"] + confusion["tn"]) / test["events"]) < 1e-6
    assert 0.6 < test["auc"] <= 1.0
    assert f"{test['auc']:.4f}" in page
    assert ("synthetic</b> events" in page) == (source == "synthetic")
    return metrics


def test_demo_writes_figures_metrics_and_report(spark, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "demo"
    code, printed = run(capsys, "--events", "10k", "--out", str(out))
    assert code == 0
    metrics = check_output(out, events=10_000, source="synthetic")
    assert f"AUC {metrics['test']['auc']:.3f}" in printed
    assert str(out / "report.html") in printed
    # everything inside --out: the CSV and the Parquet beside the report, nothing in ./data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
    assert (out / "data" / "higgs-synthetic-10k-seed0.csv").is_file()
    assert (out / "data" / "higgs-synthetic-10k-seed0.parquet").is_dir()  # datasets.parquet_name
    assert metrics["model"]["type"] == "GBTClassifier"
    # the run is on record: date, command, seed, profile, split
    run_info = metrics["run"]
    assert run_info["command"] == f"mlcourse demo --events 10k --out {out}"
    assert run_info["seed"] == 0 and run_info["profile"] == "local"
    assert (run_info["train_fraction"], run_info["test_fraction"]) == (0.8, 0.2)
    assert datetime.fromisoformat(run_info["date"]).tzinfo is not None
    page = (out / "report.html").read_text()
    for value in (run_info["date"], "80% training / 20% test", "local (local[2])"):
        assert value in page, value
    assert html.escape(run_info["command"]) in page


def test_demo_on_real_events_from_a_mirror(spark, real_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = {"HIGGS.csv.gz": real_files.uci_gz}
    with FaultServer(files) as server:
        url = server.url("ok", "HIGGS.csv.gz")
        code, _ = run(capsys, "--events", "4k", "--source", "uci", "--url", url, "--out", "o")
    assert code == 0
    check_output(tmp_path / "o", events=4_000, source="real")


def test_demo_uci_without_data_is_an_error(spark, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with FaultServer({}) as server:
        url = server.url("ok", "HIGGS.csv.gz")
        code = main(["demo", "--events", "3k", "--source", "uci", "--url", url, "--out", "o"])
    assert code == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "o" / "report.html").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--source", "kaggle"], "invalid choice"), (["--events", "lots"], "cannot read 'lots'")],
)
def test_demo_bad_arguments_are_usage_messages(capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("source", ["synthetic", "real"])
def test_every_demo_figure_of_synthetic_events_says_so(tmp_path, source):
    from mlcourse.course.demo import _figure, _save

    fig = _figure()
    fig.subplots().plot([0, 1])
    figures: dict = {}
    _save(fig, tmp_path, "roc", figures, source)
    footer = fig._supxlabel.get_text() if fig._supxlabel is not None else ""
    assert ("SYNTHETIC events" in footer) == (source == "synthetic")
    assert figures == {"roc": tmp_path / "roc.png"} and figures["roc"].is_file()
