"""`mlcourse grade`: a folder of submissions, each run in a real kernel in a box of its own,
under a time and a memory limit; the grader's own checks the only grades; the gradebook's
rows; forging and snooping submissions that get nothing and touch nothing; the submissions
and every other file left as they were; no process left behind.

An assignment of two exercises whose checks need no Spark keeps most kernels to seconds; a
class of Day 1 notebooks (Spark in every kernel) shows a correct notebook written with the
student's own names passing every check, and a forging one passing none."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mlcourse.cli import main
from mlcourse.course.grading import MARKER, NOTEBOOK_ROW, GradingError, grade, notebook_exercises
from mlcourse.course.sandbox import sandbox_problem

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parents[1]
TIMES = "{1: 3.0, 2: 2.0}"
TIMINGS = '{("GBT", 1): 5.0, ("GBT", 2): 4.0, ("forest", 1): 3.0, ("forest", 2): 2.5}'
#: Marks the processes the submissions start, to find any that outlived grading.
SURVIVOR = "mlcourse-grading-survivor"


def assignment(times: str = TIMES, timings: str = TIMINGS, *extra: str):
    cells = [
        "import mlcourse\nslots = 2",
        f"times_by_workers = {times}",
        'mlcourse.check("day4.ex3")',
        *extra,
        f"timings = {timings}",
        'mlcourse.check("final.q6")',
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def digest(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


def survivors() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if SURVIVOR in command and "pytest" not in command:
                found.append(f"{entry.name}: {command}")
    return found


#: A cell of a forging or snooping submission: each tries what the issue lists.
FORGE_LOG = """import json, os
for name in ("MLCOURSE_CHECK_LOG", "MLCOURSE_GRADE_LOG"):
    if os.environ.get(name):
        with open(os.environ[name], "a") as log:
            log.write(json.dumps({"exercise": "day4.ex3", "passed": True, "message": "x"}) + "\\n")
print("day4.ex3: passed: a time for every number of workers")
print("final.q6: passed: 2 models timed with 1 and 2 tasks")"""
FORGE_CHECKS = """import mlcourse.course.checks, mlcourse.course.checking
from mlcourse.course.checking import CheckResult
mlcourse.course.checks.report_to_grader = lambda *a, **k: None
mlcourse.course.checking.evaluate_in = lambda e, *a, **k: CheckResult(e, True, "forged")
mlcourse.course.checking.run_check = lambda e, *a, **k: CheckResult(e, True, "forged")"""
FORGE_SHADOW = """from pathlib import Path
Path("mlcourse").mkdir(exist_ok=True)
Path("mlcourse/__init__.py").write_text("raise SystemExit('shadowed')")
Path("mlcourse.py").write_text("raise SystemExit('shadowed')")"""
FORGE_DISPLAY = """from IPython.display import publish_display_data
import json
for e in ("day4.ex3", "final.q6"):
    publish_display_data({"application/vnd.mlcourse.grade+json": json.dumps(
        {"nonce": "guess", "exercise": e, "passed": True, "message": "forged"})})"""
FORGE_IMPORT = """import importlib.abc, importlib.util, sys
class Forger(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "mlcourse.course.checks":
            return importlib.util.spec_from_loader(name, self)
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        def report_to_grader(nonce, exercises, namespace, arguments):
            import json
            from IPython.display import publish_display_data
            for e in exercises:
                publish_display_data({"application/vnd.mlcourse.grade+json": json.dumps(
                    {"nonce": nonce, "exercise": e, "passed": True, "message": "forged"})})
        module.report_to_grader = report_to_grader
sys.meta_path.insert(0, Forger())"""
FORGE_PUBLISH = """import json, IPython.display, IPython.core.display_functions
real = IPython.core.display_functions.publish_display_data
def passed(data, *args, **kwargs):
    key = "application/vnd.mlcourse.grade+json"
    if key in data:
        record = json.loads(data[key]) if isinstance(data[key], str) else dict(data[key])
        record.update(passed=True, message="forged")
        data = {**data, key: json.dumps(record)}
    return real(data, *args, **kwargs)
IPython.display.publish_display_data = passed
IPython.core.display_functions.publish_display_data = passed
pub = get_ipython().display_pub
def forged_publish(data, *args, **kwargs):
    return type(pub).publish(pub, passed.__wrapped__(data), *args, **kwargs)
def rewrite(data):
    key = "application/vnd.mlcourse.grade+json"
    if key not in data:
        return data
    record = json.loads(data[key]) if isinstance(data[key], str) else dict(data[key])
    return {**data, key: json.dumps({**record, "passed": True, "message": "forged"})}
passed.__wrapped__ = rewrite
pub.publish = forged_publish"""
SNOOP = """import os, pathlib
found = []
data = pathlib.Path(os.environ.get("MLCOURSE_DATA_DIR", "."))
for top in [data.parent, data.parent.parent, pathlib.Path.home().parent, pathlib.Path("/tmp")]:
    for p in list(top.rglob("*"))[:2000]:
        found.append(str(p))
        if p.is_file() and p.suffix in (".ipynb", ".csv", ".jsonl"):
            try:
                p.write_text("overwritten by eve")
            except OSError:
                pass
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            found.append(open(f"/proc/{pid}/cmdline").read())
        except OSError:
            pass
leak = [f for f in found if "submitted" in f or "grades.csv" in f or "executed" in f]
print("LEAK", leak[:5])
(pathlib.Path.home() / "notes.txt").write_text("home")
for p in pathlib.Path(".").iterdir():
    if p.is_file():
        p.unlink()"""
SPAWN = f"""import os, subprocess
subprocess.Popen(["setsid", "sh", "-c", "sleep 300", "{SURVIVOR}"])
if os.fork() == 0:
    if os.fork() == 0:
        os.execvp("sh", ["sh", "-c", "sleep 300", "{SURVIVOR}"])
    os._exit(0)"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    reference = root / "assignment.ipynb"
    nbformat.write(assignment(), reference)
    submitted = root / "submitted"
    submitted.mkdir()
    nbformat.write(assignment(), submitted / "ada.ipynb")
    nbformat.write(assignment("{1: 3.0}", "{('GBT', 1): 5.0}"), submitted / "bob.ipynb")
    nbformat.write(assignment(TIMES, TIMINGS, "1 / 0"), submitted / "cy.ipynb")
    nbformat.write(assignment(TIMES, TIMINGS, "import time; time.sleep(600)"),
                   submitted / "dan.ipynb")  # fmt: skip
    big = "import time; block = bytearray(3 << 30); time.sleep(30)"  # kept, as a collect()
    nbformat.write(assignment(TIMES, TIMINGS, big), submitted / "eve.ipynb")
    (submitted / "fay.ipynb").write_text("my answers are in the PDF")
    # a hub's layout: submitted/STUDENT/<the notebook's own name>.ipynb
    (submitted / "gus").mkdir()
    other_kernel = assignment()
    other_kernel.metadata["kernelspec"]["name"] = "course-env"
    nbformat.write(other_kernel, submitted / "gus" / "assignment.ipynb")
    nbformat.write(assignment(TIMES, TIMINGS, "import polars_cuda"), submitted / "hal.ipynb")
    reordered = assignment()
    reordered.cells[1], reordered.cells[2] = reordered.cells[2], reordered.cells[1]
    nbformat.write(reordered, submitted / "ivy.ipynb")
    # forgers: no answers, and every way of claiming a pass the issue lists
    unsolved = assignment("None", "None")
    for name, cell in (("jon", FORGE_LOG), ("kim", FORGE_CHECKS), ("lou", FORGE_SHADOW),
                       ("max", FORGE_DISPLAY), ("nia", FORGE_IMPORT),
                       ("ole", FORGE_PUBLISH)):  # fmt: skip
        forged = assignment("None", "None")
        forged.cells.insert(len(forged.cells) - 1, nbformat.v4.new_code_cell(cell))
        nbformat.write(forged, submitted / f"{name}.ipynb")
    snoop = assignment("None", "None", SNOOP, SPAWN)
    nbformat.write(snoop, submitted / "ned.ipynb")
    killed = assignment(TIMES, TIMINGS, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    nbformat.write(killed, submitted / "oz.ipynb")
    # the student's own explicit arguments to a check, under other names
    explicit = assignment("None", "None")
    explicit.cells[1].source = f"mine = {TIMES}\nmy_slots = 2"
    explicit.cells[2].source = 'mlcourse.check("day4.ex3", mine, slots=my_slots)'
    nbformat.write(explicit, submitted / "pia.ipynb")
    assert unsolved is not None
    before = digest(submitted)
    out = root / "grades"
    status = main(
        [
            "grade", str(submitted), "--notebook", str(reference), "--out", str(out),
            "--timeout", "60", "--memory", "1536m", "--events", "2000", "--jobs", "2",
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
    assert notebook_exercises(path) == ["day4.ex3", "final.q6"]


def test_a_right_notebook_passes_and_a_wrong_one_says_why(graded):
    status, rows, *_ = graded
    assert status == 0
    ada = outcome(rows, "ada")
    assert ada == {
        "day4.ex3": (True, "a time for every number of workers"),
        "final.q6": (True, "2 models timed with 1 and 2 tasks"),
    }
    bob = outcome(rows, "bob")
    assert bob["day4.ex3"][0] is False and "exactly the keys 1, 2" in bob["day4.ex3"][1]
    assert bob["final.q6"][0] is False and "two models" in bob["final.q6"][1]
    assert NOTEBOOK_ROW not in bob
    pia = outcome(rows, "pia")  # passed its own values explicitly, under its own names
    assert pia["day4.ex3"] == (True, "a time for every number of workers")


def test_an_error_is_a_row_and_the_checks_judge_the_final_state(graded):
    _, rows, *_ = graded
    cy = outcome(rows, "cy")
    assert cy[NOTEBOOK_ROW] == (False, "cell 4 raised ZeroDivisionError: division by zero")
    assert cy["day4.ex3"][0] and cy["final.q6"][0]
    ivy = outcome(rows, "ivy")  # the check cell before the answer: the grader checks at the end
    assert ivy == {
        "day4.ex3": (True, "a time for every number of workers"),
        "final.q6": (True, "2 models timed with 1 and 2 tasks"),
    }


def test_the_time_and_memory_limits_stop_a_notebook_and_not_the_batch(graded):
    _, rows, *_ = graded
    dan = outcome(rows, "dan")
    assert dan[NOTEBOOK_ROW] == (False, "stopped at the time limit (60 s)")
    assert dan["final.q6"] == (False, "not checked: stopped at the time limit (60 s)")
    eve = outcome(rows, "eve")
    assert eve[NOTEBOOK_ROW] == (False, "stopped at the memory limit (1.5 GiB)")
    assert eve["final.q6"][0] is False


def test_a_killed_kernel_says_so(graded):
    _, rows, *_ = graded
    oz = outcome(rows, "oz")
    assert oz[NOTEBOOK_ROW][0] is False
    assert oz[NOTEBOOK_ROW][1].startswith("the kernel was killed (signal 9"), oz
    assert oz["day4.ex3"][1].startswith("not checked: the kernel was killed")


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
    assert gus["final.q6"][0]
    hal = outcome(rows, "hal")
    message = "cell 4 raised ModuleNotFoundError: No module named 'polars_cuda'"
    assert hal[NOTEBOOK_ROW] == (False, message)


def test_forged_results_get_nothing(graded):
    """A log line, printed 'passed' lines, replaced check functions, a `mlcourse` package in
    the working folder, a display of the grader's own type without the run's nonce, an
    import hook serving a forged checks module, display functions that rewrite the grade."""
    _, rows, out, *_ = graded
    for student in ("jon", "kim", "lou", "max", "nia", "ole"):
        mine = outcome(rows, student)
        assert mine["day4.ex3"] == (False, "times_by_workers should be a dict, not a NoneType")
        assert mine["final.q6"][0] is False, (student, mine)
    executed = nbformat.read(out / "executed" / "jon.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "day4.ex3: passed" in printed  # what it printed is there, and counts for nothing


def test_a_snooping_submission_sees_and_touches_nothing_and_leaves_nothing(graded):
    _, rows, out, submitted, before = graded
    assert digest(submitted) == before  # no submission changed
    ned = outcome(rows, "ned")
    assert ned["day4.ex3"][0] is False
    executed = nbformat.read(out / "executed" / "ned.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    if sandbox_problem() is None:  # in a box: no path of the class, no other process
        assert "LEAK []" in printed, printed
    for student in ("ada", "cy", "gus"):  # the others' rows and executed copies intact
        assert outcome(rows, student)["final.q6"][0]
        copy = nbformat.read(out / "executed" / f"{student}.ipynb", as_version=4)
        assert "overwritten" not in json.dumps(copy)
    assert not (Path.home() / "notes.txt").exists() or sandbox_problem() is not None
    assert survivors() == []


def test_submissions_untouched_and_the_gradebook_written(graded):
    _, rows, out, submitted, before = graded
    assert digest(submitted) == before
    students = {s for s, _ in rows}
    assert {"ada", "bob", "cy", "dan", "eve", "fay", "gus", "hal", "ivy", "ned"} <= students
    assert (out / MARKER).is_file()
    executed = nbformat.read(out / "executed" / "ada.ipynb", as_version=4)
    assert "day4.ex3: passed" in executed.cells[2].outputs[0]["text"]
    summary = (out / "summary.html").read_text()
    assert f"<h1>assignment: {len(students)} submissions</h1>" in summary
    assert "<th>ada</th>" in summary and "2 / 2" in summary and "0 / 2" in summary


def test_out_holding_other_files_is_refused_and_a_gradebook_is_reused(graded, tmp_path):
    _, _, out, submitted, _ = graded
    reference = str(out.parent / "assignment.ipynb")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(GradingError, match="holds other files"):
        grade([submitted / "fay.ipynb"], reference, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    again = tmp_path / "again"
    shutil.copytree(out, again)  # a gradebook folder: graded again in place
    rows = grade([submitted / "fay.ipynb"], reference, again)
    assert [r.student for r in rows] == ["fay"]
    assert not (again / "executed" / "ada.ipynb").exists()


def test_an_out_that_holds_the_submissions_is_refused_and_one_inside_kept_apart(graded, tmp_path):
    _, _, out, submitted, _ = graded
    reference = str(out.parent / "assignment.ipynb")
    copy = tmp_path / "class"
    shutil.copytree(submitted, copy)
    before = digest(copy)
    with pytest.raises(GradingError, match="is inside --out"):  # regrading into its own book
        grade([out / "executed"], reference, out)
    assert (out / "executed" / "ada.ipynb").is_file()
    with pytest.raises(GradingError, match="is the submission"):
        grade([copy], reference, copy)
    assert digest(copy) == before
    for name in list(before):  # a small class: two students
        if name not in ("ada.ipynb", "bob.ipynb"):
            (copy / name).unlink()
    inside = copy / "gradebook"
    rows = grade([copy], reference, inside, events="2000")
    rows = grade([copy], reference, inside, events="2000")  # twice: its own files not counted
    assert {r.student for r in rows} == {"ada", "bob"}


def test_relative_paths_grade_the_same_and_bad_values_are_one_line(tmp_path):
    submitted = tmp_path / "subs"
    submitted.mkdir()
    nbformat.write(assignment(), submitted / "ada.ipynb")
    nbformat.write(assignment(), tmp_path / "assignment.ipynb")
    command = [sys.executable, "-m", "mlcourse", "grade", "subs", "--notebook",
               "assignment.ipynb", "--out", "gb", "--events", "2000"]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ada: 2/2 passed" in done.stdout
    bad = subprocess.run([*command[:-2], "--jobs", "-1"], cwd=tmp_path, capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode == 2 and "--jobs: '-1': give a whole number, 1 or more" in bad.stderr
    data = subprocess.run([*command, "--profile", "nosuch"], cwd=tmp_path, capture_output=True,
                          text=True)  # fmt: skip
    lines = data.stderr.strip().splitlines()
    assert data.returncode == 2 and len(lines) == 1, data.stderr
    assert lines[0].startswith("mlcourse grade: error: preparing the data for the class failed")
    assert "nosuch" in lines[0]


# --------------------------------------------------------------------------- a Day 1 class

#: Day 1's exercises answered in a student's own words and names.
DAY1_ANSWERS = {
    "day1.ex1": """rows = df.groupBy("label").count().collect()
n = {int(r["label"]): r["count"] for r in rows}
signal_fraction = n[1] / sum(n.values())""",
    "day1.ex2": """comparison, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
mlcourse.plot_signal_vs_background(df, "lepton_pT", ax=left, density=True)
mlcourse.plot_signal_vs_background(df, "m_wbb", ax=right, density=True)
plt.show()""",
    "day1.ex3": """import numpy as np
labels, corr = mlcourse.correlation_matrix(df)
c = np.abs(corr)
np.fill_diagonal(c, 0)
a, b = divmod(int(c.argmax()), len(labels))
most_correlated = (labels[a], labels[b])""",
    "day1.ex4": """import numpy as np
tags = np.stack([sample[f"jet{i}_b-tag"].to_numpy() > 0 for i in (1, 2, 3, 4)], axis=1)
keep = tags.sum(axis=1) == 2
masses = []
for row in np.flatnonzero(keep):
    a, b = np.flatnonzero(tags[row])
    masses.append((jets[a][row] + jets[b][row]).mass)
masses = np.array(masses)
mbb_agreement = float(np.mean(np.abs(masses / sample["m_bb"].to_numpy()[keep] - 1) < 0.01))""",
}


def day1_submission(answers: dict[str, str], *extra: str):
    nb = nbformat.read(ROOT / "notebooks" / "student" / "day1_input_data.ipynb", as_version=4)
    for cell in nb.cells:
        for exercise, code in answers.items():
            number = exercise.split("ex")[1]
            if "exercise" in cell.metadata.get("tags", []) and cell.source.startswith(
                f"# Exercise {number}:"
            ):
                cell.source = code
    nb.cells += [nbformat.v4.new_code_cell(c) for c in extra]
    return nb


@pytest.fixture(scope="module")
def day1_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("day1-class")
    (root / "submitted").mkdir()
    nbformat.write(day1_submission(DAY1_ANSWERS), root / "submitted" / "rosa.ipynb")
    forged = day1_submission({}, FORGE_LOG.replace("day4.ex3", "day1.ex1"), FORGE_CHECKS)
    nbformat.write(forged, root / "submitted" / "sam.ipynb")
    out = root / "grades"
    rows = grade([root / "submitted"], "day1", out, events="5000", jobs=2, timeout=600)
    return {(r.student, r.exercise): r for r in rows}


def test_a_correct_day1_in_the_students_own_names_passes_every_check(day1_class):
    rosa = {e: r for (s, e), r in day1_class.items() if s == "rosa"}
    assert NOTEBOOK_ROW not in rosa, rosa[NOTEBOOK_ROW]
    assert {e: r.passed for e, r in rosa.items()} == dict.fromkeys(
        ["day1.ex1", "day1.ex2", "day1.ex3", "day1.ex4"], True
    ), {e: r.message for e, r in rosa.items()}
    sam = {e: r for (s, e), r in day1_class.items() if s == "sam"}
    assert not any(r.passed for r in sam.values()), sam
    assert os.environ.get("MLCOURSE_CHECK_LOG") is None


def test_without_a_box_grading_still_runs_in_a_private_folder(tmp_path, monkeypatch, caplog):
    """Where no box can be made (not root, namespaces forbidden), each kernel runs as the
    grader's user in a private folder outside the gradebook, and the grader says so."""
    import mlcourse.course.grading

    monkeypatch.setattr(mlcourse.course.grading, "sandbox_problem", lambda: "not root (a test)")
    submitted = tmp_path / "subs"
    submitted.mkdir()
    where = "import os\nprint('CWD', os.getcwd())"
    cells = (where, FORGE_LOG, SPAWN)
    nbformat.write(assignment(TIMES, TIMINGS, *cells), submitted / "ada.ipynb")
    nbformat.write(assignment(), tmp_path / "assignment.ipynb")
    out = tmp_path / "gb"
    with caplog.at_level("WARNING"):
        rows = grade([submitted], str(tmp_path / "assignment.ipynb"), out, events="2000")
    assert "grading without a box (not root (a test))" in caplog.text
    assert {r.exercise: r.passed for r in rows} == {"day4.ex3": True, "final.q6": True}
    executed = nbformat.read(out / "executed" / "ada.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    cwd = Path(printed.split("CWD ", 1)[1].split()[0])
    assert not cwd.exists() and out not in cwd.parents and submitted not in cwd.parents
    assert survivors() == []  # the runner, their subreaper, killed the new session and fork
