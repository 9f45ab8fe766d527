"""Grade a class: run every submitted notebook in its own kernel and collect its checks.

``mlcourse grade SUBMISSIONS... --notebook day2_gbt --out grades`` executes each submission
(a notebook, or a folder searched for notebooks) in a fresh kernel of its own, on the same
data for everyone (profile, events and source given once), a few at a time within the
machine's cores, each under a time limit and a memory limit (the kernel, its Spark JVM and
Python workers together, killed as a group when over). The checks the notebook's cells run
(:mod:`mlcourse.checks`) are the grades. The gradebook goes to ``--out``:

* ``grades.csv``: one row per student and exercise: ``student, exercise, passed, message``.
  An exercise whose check never ran (its cell deleted, or an error, the time or the memory
  limit stopped the notebook first) gets ``passed = False`` and says why. Rows with the
  exercise ``(notebook)`` are about the whole submission: not a notebook, empty, another
  kernel, a cell that raised, a limit hit.
* ``summary.html``: a table of students against exercises.
* ``executed/STUDENT.ipynb``: each notebook as it ran, outputs included.

The submissions themselves are only read. The student's name is the notebook's
``metadata.mlcourse.student`` when set, else its file name without ``.ipynb``; when the file
has the course notebook's own name (a hub's ``submitted/STUDENT/day2_gbt.ipynb`` layout), the
folder it is in.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checks import LOG_VARIABLE
from .config import _size_bytes, cpu_count
from .errors import MlcourseError
from .notebooks import packaged_notebooks

__all__ = ["GradeRow", "GradingError", "grade", "notebook_exercises"]

#: The file that marks a folder as a gradebook this command wrote (and may write again).
MARKER = ".mlcourse-gradebook"
NOTEBOOK_ROW = "(notebook)"
_CHECK_CALL = re.compile(r"""mlcourse\.check\(\s*["']([\w.]+)["']""")
_SHORT_NAMES = {"day0": "day0_smart_workflows", "day1": "day1_input_data", "final": "final_handson"}


class GradingError(MlcourseError, ValueError):
    """A grading run that cannot start (unknown notebook, an ``--out`` holding other files)."""


@dataclass(frozen=True)
class GradeRow:
    """One line of the gradebook."""

    student: str
    exercise: str
    passed: bool
    message: str


def course_notebook(name: str) -> Path:
    """The student version of a course notebook, by name (``day2_gbt``, ``day3``, ``final``),
    or an instructor's own notebook given as a path (its ``mlcourse.check`` cells say which
    exercises it has).

    Raises
    ------
    GradingError
        When no notebook or more than one has that name.
    """
    if name.endswith(".ipynb") and Path(name).is_file():
        return Path(name)
    folder = packaged_notebooks()
    name = _SHORT_NAMES.get(name, name).removesuffix(".ipynb")
    exact = folder / f"{name}.ipynb"
    found = [exact] if exact.is_file() else sorted(folder.glob(f"{name}_*.ipynb"))
    if len(found) != 1:
        names = ", ".join(p.stem for p in sorted(folder.glob("*.ipynb")))
        what = "several notebooks" if found else "no notebook"
        raise GradingError(f"{what} named {name!r}; --notebook is one of {names}")
    return found[0]


def notebook_exercises(notebook: Path) -> list[str]:
    """The exercises a course notebook checks, in order (from its ``mlcourse.check`` cells)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    found: list[str] = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            found += [e for e in _CHECK_CALL.findall(source) if e not in found]
    return found


def _student(path: Path, nb: dict[str, Any] | None, course: Path) -> str:
    meta = (nb or {}).get("metadata", {}).get("mlcourse", {})
    if isinstance(meta, dict) and isinstance(meta.get("student"), str) and meta["student"]:
        return meta["student"]
    return path.parent.name if path.stem == course.stem else path.stem


def _submissions(paths: Sequence[str | Path]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.exists():
            found.append(path)
        else:
            raise GradingError(f"{path}: no such file or folder")
    return found


def _prepare_out(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise GradingError(
            f"{out} holds other files: give an empty or new folder, or one that "
            "`mlcourse grade` wrote before (it is then overwritten)"
        )
    for old in ("executed", "work", "logs"):
        shutil.rmtree(out / old, ignore_errors=True)
    for folder in ("executed", "work", "logs"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by mlcourse grade\n", encoding="utf-8")


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (Linux /proc; a kernel runs in a session of its own, so
    a process group does not hold it)."""
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        with contextlib.suppress(OSError, ValueError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                queue += [int(c) for c in (task / "children").read_text().split()]
    return found


def _pss(pid: int) -> int:
    """The proportional set size of one process in bytes (shared pages counted once over
    the processes that share them, as a container's memory limit counts them); 0 once it
    is gone."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def _tree_pss(root: int) -> int:
    """The summed proportional set size of ``root`` and its descendants, in bytes."""
    return sum(_pss(pid) for pid in _tree(root))


def _run_limited(
    command: list[str], env: dict[str, str], cwd: Path, *, timeout: float, memory: int | None
) -> str | None:
    """Run ``command``; None when it ended by itself, else which limit stopped it (the
    process and its descendants are killed)."""
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline, stopped = time.monotonic() + timeout, None
    while process.poll() is None:
        if time.monotonic() > deadline:
            stopped = f"stopped at the time limit ({timeout:g} s)"
        elif memory is not None and _tree_pss(process.pid) > memory:
            stopped = f"stopped at the memory limit ({memory / 2**30:.1f} GiB)"
        if stopped:
            for pid in _tree(process.pid):  # the runner, its kernel, the kernel's JVM...
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            process.wait()
            break
        time.sleep(0.25)
    return stopped


def _first_error(executed: Path) -> str | None:
    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index + 1} raised {output['ename']}: {output['evalue']}"[:300]
    return None


def _grade_one(
    path: Path,
    student: str,
    nb: dict[str, Any],
    exercises: list[str],
    out: Path,
    env: dict[str, str],
    *,
    timeout: float,
    memory: int | None,
) -> list[GradeRow]:
    rows: list[GradeRow] = []
    spec = nb.get("metadata", {}).get("kernelspec", {})
    language = nb.get("metadata", {}).get("language_info", {}).get("name") or spec.get("language")
    if language and language.lower() != "python":
        return [GradeRow(student, NOTEBOOK_ROW, False, f"a {language} notebook: not graded")]
    if spec.get("name", "python3") != "python3":
        message = f"ran in this course's Python kernel, not its own {spec['name']!r}"
        rows.append(GradeRow(student, NOTEBOOK_ROW, True, message))
    log = out / "logs" / f"{student}.jsonl"
    log.unlink(missing_ok=True)
    executed = out / "executed" / f"{student}.ipynb"
    work = out / "work" / student
    work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "mlcourse.grading", str(path), str(executed)]
    stopped = _run_limited(
        command, {**env, LOG_VARIABLE: str(log)}, work, timeout=timeout, memory=memory
    )
    results: dict[str, GradeRow] = {}
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["exercise"] in exercises:
                results[record["exercise"]] = GradeRow(
                    student, record["exercise"], record["passed"], record["message"]
                )
    error = _first_error(executed)
    if stopped:
        rows.append(GradeRow(student, NOTEBOOK_ROW, False, stopped))
    elif error:
        rows.append(GradeRow(student, NOTEBOOK_ROW, False, error))
    elif not executed.is_file():
        rows.append(GradeRow(student, NOTEBOOK_ROW, False, "the kernel died (see logs)"))
    why = stopped or (error and "an error stopped it") or "its check cell is missing or moved"
    for exercise in exercises:
        rows.append(
            results.get(exercise) or GradeRow(student, exercise, False, f"not checked: {why}")
        )
    return rows


def _read(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The notebook as JSON, or why it is not one."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, f"not a notebook: {error}"
    if not text.strip():
        return None, "an empty file, not a notebook"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # nbformat raises JSON, validation and version errors alike
        return None, f"not a notebook: {str(error).splitlines()[0][:200]}"
    if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
        return None, "a notebook without code"
    return json.loads(nbformat.writes(nb)), None


def grade(
    submissions: Sequence[str | Path],
    notebook: str,
    out: str | Path = "grades",
    *,
    timeout: float = 1200,
    memory: str | None = "3g",
    jobs: int | None = None,
    events: str = "10k",
    source: str = "synthetic",
    profile: str = "binder",
) -> list[GradeRow]:
    """Execute every submission and write the gradebook (see the module's documentation).

    Parameters
    ----------
    submissions : sequence of paths
        Notebooks, or folders searched (recursively) for them.
    notebook : str
        Which course notebook they are (``day1``, ``day2_gbt``, ``day3``, ``final``...), or
        the path of an instructor's own notebook whose cells call :func:`mlcourse.check`.
    out : path, default "grades"
        The gradebook folder: new, empty, or one this command wrote before.
    timeout : float, default 1200
        Seconds a notebook may run, all cells together.
    memory : str or None, default "3g"
        The most a notebook's kernel, JVM and Python workers may hold together (their
        proportional set size, sampled four times a second), as Spark writes sizes.
    jobs : int, optional
        Notebooks run at once; default one per two cores (each Spark session uses two).
    events, source, profile : str
        The data and the Spark profile, the same for everyone.

    Returns
    -------
    list of GradeRow
        What ``grades.csv`` holds.

    Raises
    ------
    GradingError
        When the notebook is unknown or ``out`` holds other files.
    """
    course = course_notebook(notebook)
    exercises = notebook_exercises(course)
    paths = _submissions(submissions)
    out = Path(out).resolve()
    limit = _size_bytes(memory, default_unit="m") if memory else None
    if memory and limit is None:
        raise GradingError(f"memory {memory!r}: give a size such as 3g or 1536m")
    _prepare_out(out)
    data = out / "data"
    env = {
        **os.environ,
        "MLCOURSE_PROFILE": profile,
        "MLCOURSE_EVENTS": events,
        "MLCOURSE_SOURCE": source,
        "MLCOURSE_DATA_DIR": str(data),
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("MLCOURSE_ARTIFACTS", None)
    planned: list[tuple[Path, str, dict[str, Any] | None, str | None]] = []
    taken: set[str] = set()
    for path in paths:
        nb, problem = _read(path)
        student = base = re.sub(r"[^\w.-]+", "_", _student(path, nb, course))
        suffix = 2
        while student in taken:
            student, suffix = f"{base}-{suffix}", suffix + 1
        taken.add(student)
        planned.append((path, student, nb, problem))

    if any(problem is None for *_, problem in planned):
        # the data once for everyone, before the notebooks race to write it
        prepare = [sys.executable, "-m", "mlcourse", "data", "prepare", "--events", events]
        subprocess.run([*prepare, "--source", source], env=env, check=True, capture_output=True)
    workers = jobs or max(1, cpu_count() // 2)
    rows: list[GradeRow] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = []
        for path, student, nb, problem in planned:
            if problem is not None or nb is None:
                rows.append(GradeRow(student, NOTEBOOK_ROW, False, problem or "unreadable"))
                continue
            futures.append(
                pool.submit(
                    _grade_one,
                    path,
                    student,
                    nb,
                    exercises,
                    out,
                    env,
                    timeout=timeout,
                    memory=limit,
                )
            )
        for future in futures:
            rows += future.result()
    rows.sort(key=lambda r: (r.student, r.exercise != NOTEBOOK_ROW))
    shutil.rmtree(out / "work", ignore_errors=True)
    _write(out, rows, exercises, course.stem)
    return rows


def _mark(row: GradeRow | None) -> str:
    kind, sign = ("pass", "&#10003;") if row and row.passed else ("fail", "&#10007;")
    title = html.escape(row.message if row else "no row")
    return f'<td class="{kind}" title="{title}">{sign}</td>'


def _write(out: Path, rows: list[GradeRow], exercises: list[str], notebook: str) -> None:
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "exercise", "passed", "message"])
        for row in rows:
            writer.writerow([row.student, row.exercise, row.passed, row.message])
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


def _execute(source: str, target: str) -> None:
    """Run one notebook (the grading child process): errors are kept as outputs, the
    executed copy is written even when a cell fails."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(source, as_version=4)
    spec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kernelspec"] = spec
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=None)
    try:
        client.execute(cwd=os.getcwd())
    finally:
        with tempfile.NamedTemporaryFile("w", dir=Path(target).parent, delete=False) as tmp:
            nbformat.write(nb, tmp)
        os.replace(tmp.name, target)


if __name__ == "__main__":
    _execute(sys.argv[1], sys.argv[2])
