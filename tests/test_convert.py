"""CSV to Parquet with real Spark: both file forms, exact values, bad input, atomicity."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlcourse import DataError, csv_to_parquet
from mlcourse.higgs import COLUMNS, FEATURES

from .conftest import REAL_UCI_SHA256, HiggsFiles


@pytest.fixture(scope="module")
def course_lines(higgs_files) -> list[str]:
    return higgs_files.course_lines


@pytest.fixture(scope="module")
def events(higgs_files) -> pd.DataFrame:
    return higgs_files.frame


def write_lines(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def leftovers(folder: Path, name: str) -> list[str]:
    """Anything the conversion may have left: the destination or hidden siblings."""
    return [p.name for p in folder.iterdir() if p.name == name or ".mlcourse-" in p.name]


ENGINES = pytest.mark.parametrize("engine", ["arrow", "spark"])


def assert_converts_exactly(spark, files: HiggsFiles, form: str, folder: Path, engine: str):
    src = files.course if form == "course" else files.uci
    result = csv_to_parquet(spark, str(src), str(folder / "out.parquet"), engine=engine)
    assert result.rows == 5000
    assert result.form == form
    assert result.bytes_in == src.stat().st_size
    assert 0 < result.bytes_out < result.bytes_in
    df = spark.read.parquet(str(folder / "out.parquet"))
    assert tuple(df.columns) == COLUMNS  # je4_eta became jet4_eta
    got, want = df.toPandas(), files.frame
    order = np.lexsort([got[c] for c in FEATURES[:3]])
    expected = np.lexsort([want[c] for c in FEATURES[:3]])
    np.testing.assert_array_equal(
        got[list(COLUMNS)].to_numpy()[order], want[list(COLUMNS)].to_numpy()[expected]
    )
    assert leftovers(folder, "") == []


@ENGINES
@pytest.mark.parametrize("form", ["course", "uci"])
def test_both_forms_convert_exactly(spark, higgs_files, tmp_path, form, engine):
    assert_converts_exactly(spark, higgs_files, form, tmp_path, engine)


@pytest.mark.parametrize("form", ["course", "uci"])
def test_real_events_convert_exactly(spark, real_files, tmp_path, form):
    """The committed real sample, and its UCI form byte for byte as UCI serves it."""
    uci = gzip.decompress(real_files.uci_gz)
    assert hashlib.sha256(uci).hexdigest() == REAL_UCI_SHA256
    assert_converts_exactly(spark, real_files, form, tmp_path, "auto")


def test_hadoop_file_uris(spark, higgs_files, tmp_path):
    src = higgs_files.uci.as_uri()
    dest = (tmp_path / "out.parquet").as_uri()
    assert csv_to_parquet(spark, src, dest).rows == 5000
    assert spark.read.parquet(dest).count() == 5000


def test_plain_csv_with_uci_spaced_header(spark, course_lines, tmp_path):
    header = course_lines[0].replace("lepton_pT", "lepton pT").replace("m_bb", "M_BB")
    src = write_lines(tmp_path / "spaced.csv", [header, *course_lines[1:101]])
    result = csv_to_parquet(spark, src, str(tmp_path / "o"))
    assert result.rows == 100 and result.form == "course"
    assert "lepton_pT" in spark.read.parquet(str(tmp_path / "o")).columns


def bad_case(course_lines, kind):
    """(lines, expected message regex, line, column) for each kind of malformed input."""
    head, rows = course_lines[0], list(course_lines[1:40])
    if kind == "28 fields":
        rows[9] = rows[9].rsplit(",", 1)[0]
        return [head, *rows], "line 11, column m_wwbb: 28 fields", 11, "m_wwbb"
    if kind == "30 fields":
        rows[4] = rows[4] + ",1.5"
        return [head, *rows], "line 6, column field 30: 30 fields", 6, "field 30"
    if kind == "non-numeric":
        fields = rows[19].split(",")
        fields[27] = "oops"
        rows[19] = ",".join(fields)
        return [head, *rows], "line 21, column m_wbb: not a number: 'oops'", 21, "m_wbb"
    if kind == "label 2":
        rows[0] = "2.0" + rows[0][3:]
        return [head, *rows], "line 2, column label: label must be 0 or 1", 2, "label"
    if kind == "empty value":
        fields = rows[29].split(",")
        fields[5] = ""
        rows[29] = ",".join(fields)
        return (
            [head, *rows],
            "line 31, column missing_energy_phi: empty value",
            31,
            ("missing_energy_phi"),
        )
    raise AssertionError(kind)


@ENGINES
@pytest.mark.parametrize(
    "kind", ["28 fields", "30 fields", "non-numeric", "label 2", "empty value"]
)
@pytest.mark.parametrize("compress", [False, True])
def test_bad_row_names_file_line_column(spark, course_lines, tmp_path, kind, compress, engine):
    lines, message, line, column = bad_case(course_lines, kind)
    name = "bad.csv.gz" if compress else "bad.csv"
    if compress:
        (tmp_path / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
        src = str(tmp_path / name)
    else:
        src = write_lines(tmp_path / name, lines)
    with pytest.raises(DataError, match=message) as err:
        csv_to_parquet(spark, src, str(tmp_path / "out"), engine=engine)
    assert (err.value.path, err.value.line, err.value.column) == (src, line, column)
    assert src in str(err.value)
    assert leftovers(tmp_path, "out") == []


@pytest.fixture
def small_splits(spark, monkeypatch):
    """Split files every 256 kB so that a few MB make many tasks (both reader paths)."""
    monkeypatch.setattr("mlcourse.data.reading.SPLIT_BYTES", 256 << 10)
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "256k")
    yield
    spark.conf.set("spark.sql.files.maxPartitionBytes", previous)


@ENGINES
@pytest.mark.parametrize("uri", [False, True])
def test_split_boundaries_lose_and_repeat_nothing(
    spark, course_lines, events, tmp_path, small_splits, uri, engine
):
    src = Path(write_lines(tmp_path / "multi.csv", course_lines * 1))
    assert src.stat().st_size > 4 * (256 << 10)
    result = csv_to_parquet(
        spark, src.as_uri() if uri else str(src), str(tmp_path / "o"), engine=engine
    )
    assert result.rows == 5000
    got = spark.read.parquet(str(tmp_path / "o")).toPandas()
    key = list(COLUMNS)
    merged = got.merge(events, on=key, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == 5000


@ENGINES
@pytest.mark.parametrize("uri", [False, True])
def test_bad_row_late_in_a_multi_task_job_leaves_nothing(
    spark, course_lines, tmp_path, small_splits, uri, engine
):
    """Other tasks have already written files when the bad row fails its task."""
    rows = course_lines[1:] * 2
    rows[-3] = rows[-3].replace(",", ",x", 1)
    src = Path(write_lines(tmp_path / "big.csv", rows))
    with pytest.raises(DataError, match=f"line {len(rows) - 2}, column lepton_pT"):
        csv_to_parquet(
            spark, src.as_uri() if uri else str(src), str(tmp_path / "out"), engine=engine
        )
    assert leftovers(tmp_path, "out") == []


def test_bad_row_found_through_hadoop_uri(spark, course_lines, tmp_path):
    lines, message, *_ = bad_case(course_lines, "non-numeric")
    src = Path(write_lines(tmp_path / "bad.csv", lines)).as_uri()
    with pytest.raises(DataError, match=message):
        csv_to_parquet(spark, src, str(tmp_path / "out"))


def test_missing_empty_and_header_only(spark, course_lines, tmp_path):
    with pytest.raises(DataError, match="no such file"):
        csv_to_parquet(spark, str(tmp_path / "absent.csv"), str(tmp_path / "o"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        csv_to_parquet(spark, str(tmp_path / "empty.csv"), str(tmp_path / "o"))
    (tmp_path / "empty.csv.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match="is empty"):
        csv_to_parquet(spark, str(tmp_path / "empty.csv.gz"), str(tmp_path / "o"))
    src = write_lines(tmp_path / "header.csv", [course_lines[0]])
    with pytest.raises(DataError, match="a header but no events"):
        csv_to_parquet(spark, src, str(tmp_path / "o"))
    assert leftovers(tmp_path, "o") == []


@ENGINES
def test_truncated_and_non_gzip(spark, higgs_files, tmp_path, engine):
    data = higgs_files.uci_gz
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match="truncated gzip"):
        csv_to_parquet(spark, str(tmp_path / "cut.csv.gz"), str(tmp_path / "o"), engine=engine)
    (tmp_path / "page.csv.gz").write_text("<!DOCTYPE html><html>Not found</html>\n")
    with pytest.raises(DataError, match="not a gzip file"):
        csv_to_parquet(spark, str(tmp_path / "page.csv.gz"), str(tmp_path / "o"))
    assert leftovers(tmp_path, "o") == []


def test_unknown_column_names(spark, course_lines, tmp_path):
    header = course_lines[0].replace("m_bb", "m_bbb").replace("lepton_eta", "lep_eta")
    src = write_lines(tmp_path / "h.csv", [header, *course_lines[1:5]])
    with pytest.raises(DataError, match="unknown column name.*'lep_eta', 'm_bbb'") as err:
        csv_to_parquet(spark, src, str(tmp_path / "o"))
    assert err.value.line == 1


def test_destination_rules(spark, higgs_files, tmp_path):
    src = str(higgs_files.uci)
    dest = tmp_path / "out.parquet"
    csv_to_parquet(spark, src, str(dest))
    before = sorted(p.name for p in dest.iterdir())
    with pytest.raises(DataError, match="already exists.*overwrite=True"):
        csv_to_parquet(spark, src, str(dest))
    assert sorted(p.name for p in dest.iterdir()) == before
    with pytest.raises(DataError, match="does not exist; create it first"):
        csv_to_parquet(spark, src, str(tmp_path / "no" / "such" / "out.parquet"))
    assert not (tmp_path / "no").exists()


def test_overwrite_replaces_only_when_complete(spark, higgs_files, course_lines, tmp_path):
    dest = tmp_path / "out.parquet"
    small = write_lines(tmp_path / "small.csv", course_lines[:11])
    csv_to_parquet(spark, small, str(dest))
    lines, *_ = bad_case(course_lines, "label 2")
    bad = write_lines(tmp_path / "bad.csv", lines)
    with pytest.raises(DataError):
        csv_to_parquet(spark, bad, str(dest), overwrite=True)
    assert spark.read.parquet(str(dest)).count() == 10  # the old dataset, untouched
    result = csv_to_parquet(spark, str(higgs_files.course), str(dest), overwrite=True)
    assert result.rows == 5000 == spark.read.parquet(str(dest)).count()
    assert leftovers(tmp_path, "out.parquet") == ["out.parquet"]


def test_relative_paths_follow_pythons_working_directory(spark, higgs_files, tmp_path, monkeypatch):
    """After os.chdir (or %cd), Spark's JVM still has its old directory: paths must not."""
    import shutil

    shutil.copy(higgs_files.uci, tmp_path / "in.csv.gz")
    monkeypatch.chdir(tmp_path)
    result = csv_to_parquet(spark, "in.csv.gz", "out.parquet")
    assert result.rows == 5000
    assert result.dest == str(tmp_path / "out.parquet")
    assert spark.read.parquet(str(tmp_path / "out.parquet")).count() == 5000
