"""Nothing lost, every error clear: the cases of issue 16, each with real Spark and files.

Every data-loss case checks that the input is still there, byte for byte.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from mlcourse import DataError, csv_to_parquet
from mlcourse.cli import main


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def data_folder(higgs_files, tmp_path) -> Path:
    """A student's data folder: the CSV and other files of theirs."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(higgs_files.uci, folder / "higgs.csv.gz")
    (folder / "notes.txt").write_text("my notes\n")
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_overwrite_never_replaces_the_folder_holding_the_input(spark, data_folder, capsys):
    before = snapshot(data_folder)
    src = str(data_folder / "higgs.csv.gz")
    code = main(["data", "convert", src, str(data_folder), "--overwrite"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("mlcourse data: error: the destination") and "holds the input" in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(data_folder) == before
    # not even with --force
    assert main(["data", "convert", src, str(data_folder), "--overwrite", "--force"]) == 2
    assert snapshot(data_folder) == before


def test_overwrite_never_replaces_the_input_itself(spark, data_folder, capsys):
    before = snapshot(data_folder)
    src = str(data_folder / "higgs.csv.gz")
    assert main(["data", "convert", src, src, "--overwrite"]) == 2
    assert "is the input" in capsys.readouterr().err
    assert snapshot(data_folder) == before


def test_overwrite_never_replaces_the_current_or_home_folder(
    spark, data_folder, tmp_path, monkeypatch
):
    before = snapshot(data_folder)
    monkeypatch.chdir(data_folder)
    with pytest.raises(DataError, match="holds the input"):
        csv_to_parquet(spark, "higgs.csv.gz", ".", overwrite=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "thesis.tex").write_text("chapter 1\n")
    monkeypatch.chdir(elsewhere)
    with pytest.raises(DataError, match="is the current folder"):
        csv_to_parquet(spark, str(data_folder / "higgs.csv.gz"), ".", overwrite=True, force=True)
    monkeypatch.setenv("HOME", str(elsewhere))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="your home folder"):
        csv_to_parquet(spark, str(data_folder / "higgs.csv.gz"), str(elsewhere), overwrite=True)
    assert (elsewhere / "thesis.tex").read_text() == "chapter 1\n"
    assert snapshot(data_folder) == before


def test_overwrite_replaces_datasets_only_unless_forced(spark, data_folder, tmp_path):
    src = str(data_folder / "higgs.csv.gz")
    mine = tmp_path / "results"
    mine.mkdir()
    (mine / "plot.png").write_bytes(b"\x89PNG")
    with pytest.raises(DataError, match="not a dataset mlcourse or Spark wrote.*--force"):
        csv_to_parquet(spark, src, str(mine), overwrite=True)
    assert (mine / "plot.png").read_bytes() == b"\x89PNG"
    # a dataset mlcourse wrote carries its marker and is replaced with --overwrite alone
    dataset = tmp_path / "higgs.parquet"
    csv_to_parquet(spark, src, str(dataset))
    assert (dataset / "_MLCOURSE").read_text().startswith("written by mlcourse")
    assert csv_to_parquet(spark, src, str(dataset), overwrite=True).rows == 5000
    # a plain Spark output (no marker) too
    spark.range(3).write.parquet(str(tmp_path / "spark.parquet"))
    assert csv_to_parquet(spark, src, str(tmp_path / "spark.parquet"), overwrite=True).rows == 5000
    # and any folder with force
    assert csv_to_parquet(spark, src, str(mine), overwrite=True, force=True).rows == 5000
    assert not (mine / "plot.png").exists()
