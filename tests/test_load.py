"""load_higgs and the `mlcourse data` commands, with real Spark and a loopback server."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

import mlcourse
from mlcourse import DownloadError, higgs_csv, load_higgs, source_of
from mlcourse.cli import main
from mlcourse.data.sizes import parse_events

from .httpserver import FaultServer


@pytest.fixture
def server(higgs_files):
    files = {"HIGGS.csv.gz": higgs_files.uci_gz}
    with FaultServer(files) as srv:
        yield srv


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100k", 100_000),
        ("1M", 1_000_000),
        ("10M", 10_000_000),
        ("20k", 20_000),
        ("2.5k", 2_500),
        (1234, 1234),
        ("full", None),
        (None, None),
    ],
)
def test_parse_events(text, value):
    assert parse_events(text) == value


@pytest.mark.parametrize("bad", ["lots", "-5", 0, "1G", True])
def test_parse_events_rejects(bad):
    with pytest.raises(ValueError, match="events"):
        parse_events(bad)


def test_real_data_fetched_converted_then_reused(spark, server, tmp_path):
    url = server.url("ok", "HIGGS.csv.gz")
    df = load_higgs(spark, "2k", source="uci", data_dir=str(tmp_path), url=url)
    assert df.count() == 2000 and source_of(df) == "real"
    assert (tmp_path / "higgs-2k.csv").is_file() and (tmp_path / "higgs-2k.parquet").is_dir()
    again = load_higgs(spark, "2k", source="auto", data_dir=str(tmp_path), url=url)
    assert again.count() == 2000 and source_of(again) == "real"
    assert len(server.requests) == 1  # the second call used the Parquet dataset


def test_uci_source_raises_when_offline(spark, server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        load_higgs(spark, "1k", source="uci", data_dir=str(tmp_path), url=server.base + "/missing")


def test_auto_falls_back_to_synthetic_with_a_notice(spark, server, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="mlcourse")
    df = load_higgs(spark, "3k", data_dir=str(tmp_path), url=server.base + "/missing")
    assert source_of(df) == "synthetic" and df.count() == 3000
    notices = [r.getMessage() for r in caplog.records if "SYNTHETIC" in r.getMessage()]
    assert len(notices) == 1 and "HTTP 404" in notices[0]
    # the generated events were kept and are the seed-0 events
    assert (tmp_path / "higgs-synthetic-3k-seed0.parquet").is_dir()
    expected = mlcourse.synthetic_events(3000, seed=0)
    got = df.toPandas().sort_values(list(expected.columns)).to_numpy()
    assert (got == expected.sort_values(list(expected.columns)).to_numpy()).all()


def test_synthetic_source_kept_per_seed(spark, tmp_path):
    a = load_higgs(spark, "1k", source="synthetic", seed=1, data_dir=str(tmp_path))
    b = load_higgs(spark, "1k", source="synthetic", seed=2, data_dir=str(tmp_path))
    assert source_of(a) == source_of(b) == "synthetic"
    assert a.exceptAll(b).count() == 1000


def test_cli_data_commands(spark, real_files, tmp_path, capsys):
    dest = tmp_path / "real.parquet"
    src = str(real_files.course)
    assert main(["data", "convert", src, str(dest)]) == 0
    assert "5,000 events" in capsys.readouterr().out
    assert main(["data", "convert", src, str(dest)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["data", "convert", src, str(dest), "--overwrite"]) == 0
    capsys.readouterr()
    assert main(["data", "info", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "5,000" in out and "ok (label + 28 numeric features)" in out and "0.5340" in out
    synth = tmp_path / "synth.parquet"
    assert main(["data", "synth", "--events", "20k", "--seed", "3", "--dest", str(synth)]) == 0
    assert "20,000 synthetic events" in capsys.readouterr().out
    assert main(["data", "info", str(synth)]) == 0
    assert "synthetic" in capsys.readouterr().out


def test_cli_data_fetch(server, tmp_path, capsys):
    dest = tmp_path / "h.csv"
    url = server.url("ok", "HIGGS.csv.gz")
    assert main(["data", "fetch", "--events", "1k", "--dest", str(dest), "--url", url, "-q"]) == 0
    assert capsys.readouterr().out.strip() == str(dest)
    assert len(dest.read_text().splitlines()) == 1000


def test_higgs_csv_synthetic_is_the_generator_in_uci_form(tmp_path):
    import numpy as np
    import pandas as pd

    from mlcourse import higgs_csv
    from mlcourse.data.synthetic import synthetic_events
    from mlcourse.higgs import COLUMNS

    path, kind = higgs_csv("2k", source="synthetic", seed=3, data_dir=str(tmp_path))
    assert kind == "synthetic" and path.parent == tmp_path
    got = pd.read_csv(path, header=None, names=list(COLUMNS), float_precision="round_trip")
    np.testing.assert_array_equal(got.to_numpy(), synthetic_events(2000, seed=3).to_numpy())
    stamp = path.stat().st_mtime_ns
    assert higgs_csv("2k", source="synthetic", seed=3, data_dir=str(tmp_path))[0] == path
    assert path.stat().st_mtime_ns == stamp  # reused, not written again
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left


def test_higgs_csv_real_from_a_mirror_else_synthetic(server, tmp_path, caplog):
    from mlcourse import higgs_csv

    url = server.url("ok", "HIGGS.csv.gz")
    path, kind = higgs_csv("1k", source="uci", data_dir=str(tmp_path / "a"), url=url)
    assert kind == "real" and len(path.read_text().splitlines()) == 1000
    path, kind = higgs_csv("1k", data_dir=str(tmp_path / "b"), url=server.url("ok", "nothing"))
    assert kind == "synthetic" and "SYNTHETIC" in caplog.text
    with pytest.raises(DownloadError):
        higgs_csv("1k", source="uci", data_dir=str(tmp_path / "c"), url=server.url("ok", "x"))


def test_auto_uses_what_data_prepare_made_without_the_network(spark, server, tmp_path):
    """Binder's postBuild runs `mlcourse data prepare`; the notebooks then ask for
    source="auto" and must take the prepared set, not go to the network again."""
    url = server.url("ok", "HIGGS.csv.gz")
    store = str(tmp_path)
    prepared = f"{store}/higgs-synthetic-2k-seed0.parquet"
    assert main(["data", "synth", "--events", "2k", "--dest", prepared]) == 0
    df = load_higgs(spark, "2k", source="auto", data_dir=store, url=url)
    path, kind = higgs_csv("2k", source="auto", data_dir=store, url=url)
    assert server.requests == []  # nothing downloaded, nothing even asked
    assert source_of(df) == kind == "synthetic"
    # the CSV holds the prepared events (same generator, same seed)
    frame = pd.read_csv(path, header=None, float_precision="round_trip")
    np.testing.assert_array_equal(frame.to_numpy(), df.toPandas().to_numpy())
    # a prepared real set wins over a synthetic one, again offline
    real = load_higgs(spark, "2k", source="real", data_dir=store, url=url)
    assert len(server.requests) == 1
    assert source_of(load_higgs(spark, "2k", data_dir=store, url=url)) == "real"
    assert higgs_csv("2k", data_dir=store, url=url) == (tmp_path / "higgs-2k.csv", "real")
    assert len(server.requests) == 1 and real.count() == 2000


def test_two_processes_making_the_same_csv_at_once_both_succeed(tmp_path):
    """Two notebooks (or two demos into one folder) asking for the same synthetic CSV at
    the same moment: each writes a file of its own and renames it; both get the events,
    and no temporary file is left."""
    import subprocess
    import sys

    script = (
        "import sys, mlcourse\n"
        "path, origin = mlcourse.higgs_csv(30_000, source='synthetic', data_dir=sys.argv[1])\n"
        "print(path, origin)\n"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [child.communicate(timeout=300) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err for _, err in results]
    (path,) = {out.split()[0] for out, _ in results}
    got = np.loadtxt(path, delimiter=",")
    np.testing.assert_array_equal(got, mlcourse.synthetic_events(30_000, seed=0).to_numpy())
    assert [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")] == []
