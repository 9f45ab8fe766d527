"""The gradebook of ``mlcourse grade``: its rows, its folder, and the two files it writes
(``grades.csv`` with every row, ``summary.html`` with a mark per student and exercise)."""

from __future__ import annotations

import csv
import html
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlcourse.errors import MlcourseError

__all__ = [
    "MARKER",
    "NOTEBOOK_ROW",
    "GradeRow",
    "GradingError",
    "prepare_gradebook",
    "write_gradebook",
]

#: The file in every folder `mlcourse grade` writes: only such a folder is overwritten.
MARKER = ".mlcourse-gradebook"
#: The row of a notebook as a whole (cannot be read, a cell failed, the kernel died).
NOTEBOOK_ROW = "(notebook)"


class GradingError(MlcourseError, ValueError):
    """A grading run that cannot start (unknown notebook, an ``--out`` holding other files)."""


@dataclass(frozen=True)
class GradeRow:
    """One line of the gradebook."""

    student: str
    exercise: str
    passed: bool
    message: str
    attempts: int | None = None
    hints: int | None = None


def prepare_gradebook(out: Path) -> None:
    """Make ``out`` a gradebook folder: empty, new, or one `mlcourse grade` wrote before
    (whose earlier notebooks and logs go); anything else is refused."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise GradingError(
            f"{out} holds other files: give an empty or new folder, or one that "
            "`mlcourse grade` wrote before (it is then overwritten)"
        )
    for old in ("executed", "work", "logs"):
        shutil.rmtree(out / old, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "executed").mkdir(mode=0o700, exist_ok=True)
    (out / MARKER).write_text("written by mlcourse grade\n", encoding="utf-8")


def _mark(row: GradeRow | None) -> str:
    kind, sign = ("pass", "&#10003;") if row and row.passed else ("fail", "&#10007;")
    title = html.escape(row.message if row else "no row")
    return f'<td class="{kind}" title="{title}">{sign}</td>'


def write_gradebook(out: Path, rows: list[GradeRow], exercises: list[str], notebook: str) -> None:
    """``grades.csv`` (every row, written atomically) and ``summary.html`` (a mark per
    student and exercise, its message on hover) into ``out``."""
    partial = out / f".grades.csv.{os.getpid()}"
    with open(partial, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "exercise", "passed", "message", "attempts", "hints"])
        for row in rows:
            counts = ["", ""] if row.attempts is None else [row.attempts, row.hints]
            writer.writerow([row.student, row.exercise, row.passed, row.message, *counts])
    partial.replace(out / "grades.csv")
    students = sorted({r.student for r in rows})
    cells = {(r.student, r.exercise): r for r in rows}
    head = "".join(f"<th>{html.escape(e)}</th>" for e in exercises)
    body = []
    for student in students:
        passed = sum(cells[student, e].passed for e in exercises if (student, e) in cells)
        marks = "".join(_mark(cells.get((student, e))) for e in exercises)
        note = cells.get((student, NOTEBOOK_ROW))
        remark = html.escape(note.message) if note else ""
        body.append(
            f"<tr><th>{html.escape(student)}</th>{marks}"
            f"<td>{passed} / {len(exercises)}</td><td>{remark}</td></tr>"
        )
    (out / "summary.html").write_text(
        "<!doctype html><meta charset=utf-8><title>grades</title><style>"
        "td,th{padding:2px 8px;border:1px solid #ccc}.pass{color:#060}.fail{color:#a00}"
        f"</style><h1>{html.escape(notebook)}: {len(students)} "
        f"submission{'' if len(students) == 1 else 's'}</h1>"
        f"<table><tr><th>student</th>{head}<th>passed</th><th>notebook</th></tr>"
        + "".join(body)
        + "</table><p>Hover a mark for its message; grades.csv has every row.</p>\n",
        encoding="utf-8",
    )
