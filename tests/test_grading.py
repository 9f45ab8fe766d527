"""`mlcourse grade`: a folder of submissions, each run in a real kernel of its own, under a
time and a memory limit; the gradebook's rows, and the submissions left untouched.

An assignment of two exercises whose checks need no Spark keeps each kernel to seconds; the
course notebooks' own checks run (and pass) in the notebook tier."""

from __future__ import annotations

import csv
import hashlib
import shutil

import nbformat
import pytest

from mlcourse.cli import main
from mlcourse.grading import MARKER, NOTEBOOK_ROW, GradingError, grade, notebook_exercises

pytestmark = pytest.mark.notebooks

ARCHITECTURES = '{"28-60-2": 0.71, "28-30-30-30-2": 0.70}'
FIT_TABLE = "[(1, 0.70, 0.70), (3, 0.75, 0.74), (9, 0.90, 0.73)]"


def assignment(architectures: str = ARCHITECTURES, fit_table: str = FIT_TABLE, *extra: str):
    cells = [
        "import mlcourse",
        f"architectures = {architectures}",
        'mlcourse.check("day2_mlp.ex1", architectures)',
        *extra,
        f"fit_table = {fit_table}",
        'mlcourse.check("final.q4", fit_table)',
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def digest(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    reference = root / "assignment.ipynb"
    nbformat.write(assignment(), reference)
    submitted = root / "submitted"
    submitted.mkdir()
    nbformat.write(assignment(), submitted / "ada.ipynb")
    swapped = "[(1, 0.70, 0.70), (3, 0.74, 0.75), (9, 0.73, 0.90)]"
    nbformat.write(assignment('{"28-60-2": 0.71}', swapped), submitted / "bob.ipynb")
    nbformat.write(assignment(ARCHITECTURES, FIT_TABLE, "1 / 0"), submitted / "cy.ipynb")
    nbformat.write(
        assignment(ARCHITECTURES, FIT_TABLE, "import time; time.sleep(600)"),
        submitted / "dan.ipynb",
    )
    big = "import time; block = bytearray(3 << 30); time.sleep(30)"  # kept, as a collect()
    nbformat.write(assignment(ARCHITECTURES, FIT_TABLE, big), submitted / "eve.ipynb")
    (submitted / "fay.ipynb").write_text("my answers are in the PDF")
    # a hub's layout: submitted/STUDENT/<the notebook's own name>.ipynb
    (submitted / "gus").mkdir()
    other_kernel = assignment()
    other_kernel.metadata["kernelspec"]["name"] = "course-env"
    nbformat.write(other_kernel, submitted / "gus" / "assignment.ipynb")
    missing = assignment(ARCHITECTURES, FIT_TABLE, "import polars_cuda")
    nbformat.write(missing, submitted / "hal.ipynb")
    reordered = assignment()
    reordered.cells[1], reordered.cells[2] = reordered.cells[2], reordered.cells[1]
    nbformat.write(reordered, submitted / "ivy.ipynb")
    before = digest(submitted)
    out = root / "grades"
    status = main(
        [
            "grade", str(submitted), "--notebook", str(reference), "--out", str(out),
            "--timeout", "40", "--memory", "1536m", "--events", "2000", "--jobs", "2",
        ]
    )  # fmt: skip
    with open(out / "grades.csv", newline="") as f:
        rows = {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}
    return status, rows, out, submitted, before


def outcome(rows, student: str) -> dict[str, tuple[bool, str]]:
    return {e: (r["passed"] == "True", r["message"]) for (s, e), r in rows.items() if s == student}


def test_exercises_come_from_the_check_cells(tmp_path):
    path = tmp_path / "a.ipynb"
    nbformat.write(assignment(), path)
    assert notebook_exercises(path) == ["day2_mlp.ex1", "final.q4"]


def test_a_right_notebook_passes_and_a_wrong_one_says_why(graded):
    status, rows, *_ = graded
    assert status == 0
    ada = outcome(rows, "ada")
    assert ada == {
        "day2_mlp.ex1": (True, "2 architectures, each with its AUC"),
        "final.q4": (True, "3 depths, with their train and test AUC"),
    }
    bob = outcome(rows, "bob")
    assert bob["day2_mlp.ex1"][0] is False and "two networks" in bob["day2_mlp.ex1"][1]
    assert bob["final.q4"][0] is False and "swapped" in bob["final.q4"][1]
    assert NOTEBOOK_ROW not in bob


def test_an_error_is_a_row_and_the_later_checks_still_run(graded):
    _, rows, *_ = graded
    cy = outcome(rows, "cy")
    assert cy[NOTEBOOK_ROW] == (False, "cell 4 raised ZeroDivisionError: division by zero")
    assert cy["day2_mlp.ex1"][0] and cy["final.q4"][0]


def test_the_time_and_memory_limits_stop_a_notebook_and_not_the_batch(graded):
    _, rows, *_ = graded
    dan = outcome(rows, "dan")
    assert dan[NOTEBOOK_ROW] == (False, "stopped at the time limit (40 s)")
    assert dan["day2_mlp.ex1"][0]  # checked before the hang
    assert dan["final.q4"] == (False, "not checked: stopped at the time limit (40 s)")
    eve = outcome(rows, "eve")
    assert eve[NOTEBOOK_ROW] == (False, "stopped at the memory limit (1.5 GiB)")
    assert eve["final.q4"][0] is False


def test_bad_submissions_get_a_row(graded):
    _, rows, *_ = graded
    fay = outcome(rows, "fay")
    assert list(fay) == [NOTEBOOK_ROW]
    assert fay[NOTEBOOK_ROW][1].startswith("not a notebook: ")
    gus = outcome(rows, "gus")  # named after its folder; another kernel name
    assert gus[NOTEBOOK_ROW] == (
        True,
        "ran in this course's Python kernel, not its own 'course-env'",
    )
    assert gus["final.q4"][0]


def test_a_missing_import_and_reordered_cells_get_their_rows(graded):
    _, rows, *_ = graded
    hal = outcome(rows, "hal")
    message = "cell 4 raised ModuleNotFoundError: No module named 'polars_cuda'"
    assert hal[NOTEBOOK_ROW] == (False, message)
    ivy = outcome(rows, "ivy")  # the check before the answer
    assert ivy[NOTEBOOK_ROW] == (
        False,
        "cell 2 raised NameError: name 'architectures' is not defined",
    )
    assert ivy["day2_mlp.ex1"] == (False, "not checked: an error stopped it")
    assert ivy["final.q4"][0]


def test_submissions_untouched_and_the_gradebook_written(graded):
    _, rows, out, submitted, before = graded
    assert digest(submitted) == before
    assert {s for s, _ in rows} == {"ada", "bob", "cy", "dan", "eve", "fay", "gus", "hal", "ivy"}
    assert (out / MARKER).is_file()
    executed = nbformat.read(out / "executed" / "ada.ipynb", as_version=4)
    assert "day2_mlp.ex1: passed" in executed.cells[2].outputs[0]["text"]
    summary = (out / "summary.html").read_text()
    assert "<h1>assignment: 9 submissions</h1>" in summary
    assert "<th>ada</th>" in summary and "2 / 2" in summary and "0 / 2" in summary


def test_out_holding_other_files_is_refused_and_a_gradebook_is_reused(graded, tmp_path):
    _, _, out, submitted, _ = graded
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(GradingError, match="holds other files"):
        grade([submitted / "fay.ipynb"], str(out.parent / "assignment.ipynb"), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    again = tmp_path / "again"
    shutil.copytree(out, again)  # a gradebook folder: graded again in place
    rows = grade([submitted / "fay.ipynb"], str(out.parent / "assignment.ipynb"), again)
    assert [r.student for r in rows] == ["fay"]
    assert not (again / "executed" / "ada.ipynb").exists()
