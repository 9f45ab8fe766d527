"""Grade a class: run every submitted notebook in a box of its own and check it ourselves.

``mlcourse grade SUBMISSIONS... --notebook day2_gbt --out grades`` executes each submission
(a notebook, or a folder searched for notebooks) in a fresh kernel of its own, on the same
data for everyone (profile, events and source given once), a few at a time within the
machine's cores, each under a time limit and a memory limit (the kernel, its Spark JVM and
Python workers together, killed as a group when over). After the student's last cell the
grader runs every check of the notebook itself (:mod:`mlcourse.course.gradekernel`): what the
student's own cells print or write is feedback, never a grade. The gradebook goes to
``--out``:

* ``grades.csv``: one row per student and exercise: ``student, exercise, passed, message,
  attempts, hints`` (the last two as the student's saved check lines report them: a count,
  not a grade). Rows with the exercise ``(notebook)`` are about the whole submission: not a
  notebook, empty, another kernel, a cell that raised, a limit hit, a kernel that died.
* ``summary.html``: a table of students against exercises.
* ``executed/STUDENT.ipynb``: each notebook as it ran, the grader's cells at the end.

**Where a submission runs.** As root on Linux each kernel runs in a
:class:`~mlcourse.course.sandbox.Box`: an unused user id, a private working folder and ``/tmp``
outside the gradebook, the gradebook and every submissions folder covered (only the
prepared data is seen, read-only), its own process and network namespaces (loopback only;
every process it starts ends with it). Elsewhere (not root, or namespaces forbidden) it
runs as the grader's own user in a private temporary folder outside the gradebook, and the
grader says so once: a hostile submission could then read what that user can read, so grade
exams as root (a hub's grading service, CI) or in a container.

The submissions themselves are only read, and an ``--out`` that holds them is refused. The
student's name is the notebook's ``metadata.mlcourse.student`` when set, else its file name
without ``.ipynb``; when the file has the course notebook's own name (a hub's
``submitted/STUDENT/day2_gbt.ipynb`` layout), the folder it is in.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import os
import re
import secrets
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

from mlcourse.config import cpu_count, size_bytes
from mlcourse.course.gradebook import (
    MARKER,
    NOTEBOOK_ROW,
    GradeRow,
    GradingError,
    prepare_gradebook,
    write_gradebook,
)
from mlcourse.course.gradekernel import check_calls, grader_cells, grader_results
from mlcourse.course.notebooks import packaged_notebooks
from mlcourse.course.sandbox import (
    Box,
    free_user_id,
    kill_user,
    make_work,
    process_pss,
    process_tree,
    sandbox_problem,
)
from mlcourse.data.sizes import parse_events, size_name

__all__ = [
    "MARKER",
    "NOTEBOOK_ROW",
    "GradeRow",
    "GradingError",
    "course_notebook",
    "grade",
    "notebook_exercises",
]

log = logging.getLogger(__name__)

_CHECK_CALL = re.compile(r"""mlcourse\.check\(\s*["']([\w.]+)["']""")
_SHORT_NAMES = {"day0": "day0_smart_workflows", "day1": "day1_input_data", "final": "final_handson"}
#: A check line as the student's notebook saved it, with its attempt and hint counts.
_CHECK_LINE = re.compile(
    r"^([\w.]+): (?:passed|not yet): .*?(?: \[attempt (\d+), (\d+) hints?\])?$", re.MULTILINE
)
#: Environment variables a submission's kernel gets from the grader's (no tokens, no paths
#: of the grader's own files).
_KERNEL_ENVIRONMENT = re.compile(
    r"PATH|LANG|LC_\w+|TZ|JAVA_HOME|SPARK_HOME|SPARK_SUBMIT_OPTS|SPARK_DAEMON_JAVA_OPTS"
    r"|PYSPARK_\w+|KERAS_BACKEND|JAX_PLATFORMS|XLA_FLAGS|OMP_NUM_THREADS|MPLBACKEND"
)


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
        return Path(name).resolve()
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


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _submissions(paths: Sequence[str | Path], out: Path) -> tuple[list[Path], list[Path]]:
    """The submitted notebooks (absolute paths), and the folders they were found in. A
    gradebook (``--out``, or any folder holding a gradebook's marker) is never searched."""
    found: list[Path] = []
    roots: list[Path] = []
    for raw in paths:
        path = Path(raw).resolve()
        if not path.exists():
            raise GradingError(f"{raw}: no such file or folder")
        if _inside(out, path) and (path.is_file() or out == path):
            raise GradingError(f"--out {out} is the submission {raw}: give another --out")
        if _inside(path, out):
            raise GradingError(
                f"{raw} is inside --out {out}, which grading rewrites: copy the submissions "
                "elsewhere or give another --out"
            )
        if path.is_dir():
            roots.append(path)
            gradebooks = [m.parent for m in path.rglob(MARKER)] + [out]
            found += sorted(
                p for p in path.rglob("*.ipynb")
                if ".ipynb_checkpoints" not in p.parts
                and not any(_inside(p, book) for book in gradebooks)
            )  # fmt: skip
        else:
            roots.append(path.parent)
            found.append(path)
    return found, roots


def _tree_pss(root: int) -> int:
    """The summed proportional set size of ``root`` and its descendants, in bytes."""
    return sum(process_pss(pid) for pid in process_tree(root))


def _kill_tree(root: int) -> None:
    for pid in process_tree(root):  # the runner, the box, its kernel, the kernel's JVM...
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _run_limited(
    command: list[str], spec: dict[str, Any], stderr: Path, *, timeout: float, memory: int | None
) -> str | None:
    """Run the runner with ``spec`` on its standard input; None when it ended by itself, else
    which limit stopped it (it and its descendants are killed). Every process it left (the
    runner is their subreaper) is killed at the end either way."""
    with open(stderr, "wb") as errors:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(json.dumps(spec).encode())
            process.stdin.close()
        deadline, stopped = time.monotonic() + timeout, None
        while process.poll() is None:
            if time.monotonic() > deadline:
                stopped = f"stopped at the time limit ({timeout:g} s)"
            elif memory is not None and _tree_pss(process.pid) > memory:
                stopped = f"stopped at the memory limit ({memory / 2**30:.1f} GiB)"
            if stopped:
                _kill_tree(process.pid)
                process.wait()
                break
            time.sleep(0.25)
    return stopped


def _first_error(nb: dict[str, Any] | None, cells: int) -> str | None:
    """The first error among the student's ``cells`` (the grader's own come after)."""
    for index, cell in enumerate((nb or {}).get("cells", [])[:cells]):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index + 1} raised {output['ename']}: {output['evalue']}"[:300]
    return None


def _counts(nb: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per exercise, (attempts, hints) as the last check line the student saved says."""
    found: dict[str, tuple[int, int]] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            for exercise, attempts, hints in _CHECK_LINE.findall(text):
                found[exercise] = (int(attempts or 1), int(hints or 0))
    return found


def _last_line(path: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [x.strip() for x in path.read_text(errors="replace").splitlines() if x.strip()]
        if lines:
            return lines[-1][:300]
    return "no message"


@dataclass(frozen=True)
class _Plan:
    """What every submission shares."""

    exercises: list[str]
    out: Path
    env: dict[str, str]
    hide: list[str]
    readonly: list[str]
    reach: list[str]
    boxed: bool
    timeout: float
    memory: int | None


def _grade_one(student: str, nb: dict[str, Any], plan: _Plan, uid: int) -> list[GradeRow]:
    rows: list[GradeRow] = []
    spec_ = nb.get("metadata", {}).get("kernelspec", {})
    language = nb.get("metadata", {}).get("language_info", {}).get("name") or spec_.get("language")
    if language and language.lower() != "python":
        return [GradeRow(student, NOTEBOOK_ROW, False, f"a {language} notebook: not graded")]
    if spec_.get("name", "python3") != "python3":
        message = f"ran in this course's Python kernel, not its own {spec_['name']!r}"
        rows.append(GradeRow(student, NOTEBOOK_ROW, True, message))
    counts = _counts(nb)
    executed = plan.out / "executed" / f"{student}.ipynb"
    nonce = secrets.token_hex(16)
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "source": source, "metadata": {}, "outputs": [],
         "execution_count": None}
        for source in grader_cells(plan.exercises, check_calls(nb), plan.reach[0], nonce)
    ]  # fmt: skip
    student_cells = len(nb.get("cells", []))
    run_nb = {**nb, "cells": [*nb.get("cells", []), *cells]}
    private = Path(tempfile.mkdtemp(prefix="mlcourse-grade-"))  # the grader's, not the box's
    work = make_work(uid) if plan.boxed else private / "work"
    try:
        box = Box(uid, str(work), plan.hide, plan.readonly, plan.reach) if plan.boxed else None
        home = box.home if box else str(work)
        Path(home).mkdir(parents=True, exist_ok=True)
        spec = {
            "notebook": run_nb,
            "target": str(private / "executed.ipynb"),
            "cwd": home,
            "env": {**plan.env, "HOME": home},
            "box": None if box is None else box.__dict__,
        }
        stderr = private / "runner.log"
        command = [sys.executable, "-m", "mlcourse.course.gradekernel"]
        stopped = _run_limited(command, spec, stderr, timeout=plan.timeout, memory=plan.memory)
        done = private / "executed.ipynb"
        result: dict[str, Any] | None = None
        if done.is_file():
            with contextlib.suppress(OSError, ValueError):
                result = json.loads(done.read_text(encoding="utf-8"))
            shutil.copyfile(done, executed)
    finally:
        shutil.rmtree(private, ignore_errors=True)
        if plan.boxed:
            kill_user(uid)
            shutil.rmtree(work, ignore_errors=True)
    results = grader_results(result or {}, nonce, plan.exercises)
    note = ((result or {}).get("metadata", {}).get("mlcourse", {}) or {}).get("grader")
    error = _first_error(result, student_cells)
    if stopped:
        rows.append(GradeRow(student, NOTEBOOK_ROW, False, stopped))
    elif note:
        rows.append(GradeRow(student, NOTEBOOK_ROW, False, note))
    elif result is None:
        why = f"the grading runner failed: {_last_line(stderr)}"
        rows.append(GradeRow(student, NOTEBOOK_ROW, False, why))
    elif error:
        rows.append(GradeRow(student, NOTEBOOK_ROW, False, error))
    why = (
        stopped
        or note
        or (result is None and "the kernel did not run")
        or ("the grader's check cell did not run to its end")
    )
    for exercise in plan.exercises:
        attempts, hints = counts.get(exercise, (0, 0))
        passed, message = results.get(exercise, (False, f"not checked: {why}"))
        rows.append(GradeRow(student, exercise, passed, message, attempts, hints))
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


def _package_root() -> str:
    """Where ``import mlcourse`` finds the installed package (the grader's cells put it first
    on the kernel's ``sys.path``)."""
    return str(Path(__file__).resolve().parents[2])


def _trial_box(plan: _Plan) -> str | None:
    """Make one box as the class's will be and run Python in it: why that fails, or None
    (a machine may allow namespaces and still refuse an overlay or a bind mount)."""
    uid = free_user_id()
    work = make_work(uid)
    try:
        box = Box(uid, str(work), plan.hide, plan.readonly, plan.reach)
        done = subprocess.run(
            box.command([sys.executable, "-c", "import mlcourse"]),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"a trial box failed: {error}"
    finally:
        kill_user(uid)
        shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        lines = [x for x in done.stderr.splitlines() if x.strip()]
        return f"a trial box failed: {lines[-1] if lines else done.returncode}"
    return None


def _prepare_data(env: dict[str, str], events: str, source: str) -> None:
    prepare = [sys.executable, "-m", "mlcourse", "data", "prepare", "--events", events]
    done = subprocess.run(
        [*prepare, "--source", source], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = [x for x in (done.stderr or done.stdout).splitlines() if x.strip()]
        last = lines[-1] if lines else f"exit status {done.returncode}"
        raise GradingError(f"preparing the data for the class failed: {last}")


def grade(
    submissions: Sequence[str | Path],
    notebook: str,
    out: str | Path = "grades",
    *,
    timeout: float = 1200,
    memory: str | None = "3g",
    jobs: int | None = None,
    events: int | str | None = "10k",
    source: str = "synthetic",
    profile: str = "binder",
) -> list[GradeRow]:
    """Execute every submission, check it, and write the gradebook (see the module's
    documentation).

    Parameters
    ----------
    submissions : sequence of paths
        Notebooks, or folders searched (recursively) for them; a gradebook inside them is
        left out.
    notebook : str
        Which course notebook they are (``day1``, ``day2_gbt``, ``day3``, ``final``...), or
        the path of an instructor's own notebook whose cells call :func:`mlcourse.check`.
    out : path, default "grades"
        The gradebook folder: new, empty, or one this command wrote before; never one that
        holds the submissions.
    timeout : float, default 1200
        Seconds a notebook may run, all cells together.
    memory : str or None, default "3g"
        The most a notebook's kernel, JVM and Python workers may hold together (their
        proportional set size, sampled four times a second), as Spark writes sizes.
    jobs : int, optional
        Notebooks run at once (1 or more); default one per two cores (each Spark session
        uses two).
    events : int or str
        The class's data set size (``"10k"``, ``10_000``; None or ``"full"``: all).
    source, profile : str
        The data and the Spark profile, the same for everyone.

    Returns
    -------
    list of GradeRow
        What ``grades.csv`` holds.

    Raises
    ------
    GradingError
        When the notebook is unknown, ``out`` holds other files or the submissions, ``jobs``
        or ``memory`` is not valid, or the data cannot be prepared.
    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise GradingError(f"--jobs {jobs}: give the number of notebooks to run at once, 1 or more")
    course = course_notebook(notebook)
    exercises = notebook_exercises(course)
    out = Path(out).resolve()
    paths, roots = _submissions(submissions, out)
    limit = size_bytes(memory, default_unit="m") if memory else None
    if memory and limit is None:
        raise GradingError(f"memory {memory!r}: give a size such as 3g or 1536m")
    planned = _read_all(paths, course)  # every submission read before anything is written
    prepare_gradebook(out)
    settings = {
        "MLCOURSE_PROFILE": profile,
        "MLCOURSE_EVENTS": size_name(parse_events(events)),
        "MLCOURSE_SOURCE": source,
        "MLCOURSE_DATA_DIR": str(out / "data"),
        "PYTHONWARNINGS": "ignore",
        "PYTHONNOUSERSITE": "1",
    }
    if any(problem is None for *_, problem in planned):
        _prepare_shared_data(settings, source, out / "data")
    plan = _box_plan(exercises, out, settings, roots, timeout, limit)
    rows = _grade_all(planned, plan, jobs or max(1, cpu_count() // 2))
    rows.sort(key=lambda r: (r.student, r.exercise != NOTEBOOK_ROW))
    write_gradebook(out, rows, exercises, course.stem)
    return rows


#: A submission read: its path, the student's name in the gradebook (unique), the
#: notebook, and why it cannot be graded (None when it can).
_Planned = tuple[Path, str, dict[str, Any] | None, str | None]


def _prepare_shared_data(settings: dict[str, str], source: str, data: Path) -> None:
    """The class's data, once for everyone before the notebooks race to read it, readable
    by every kernel's user."""
    grader_env = {**os.environ, **settings}
    grader_env.pop("MLCOURSE_ARTIFACTS", None)
    _prepare_data(grader_env, settings["MLCOURSE_EVENTS"], source)
    for folder in [data, *data.rglob("*")]:
        with contextlib.suppress(OSError):
            folder.chmod(folder.stat().st_mode | 0o444 | (0o111 if folder.is_dir() else 0))


def _box_plan(
    exercises: list[str],
    out: Path,
    settings: dict[str, str],
    roots: list[Path],
    timeout: float,
    limit: int | None,
) -> _Plan:
    """How each kernel runs: its environment (an allow-list and the class's settings), what
    its box hides (the gradebook, every submissions folder), shows read-only (the data) and
    lets it reach (the package, the interpreter, Java); unboxed, with a warning, where no
    box can be made here."""
    kernel_env = {k: v for k, v in os.environ.items() if _KERNEL_ENVIRONMENT.fullmatch(k)}
    java = os.environ.get("JAVA_HOME")
    plan = _Plan(
        exercises=exercises,
        out=out,
        env={**kernel_env, **settings},
        hide=[str(out), *map(str, roots)],
        readonly=[settings["MLCOURSE_DATA_DIR"]],
        reach=[_package_root(), os.path.realpath(sys.executable), sys.prefix, sys.base_prefix,
               *([java] if java else [])],
        boxed=True,
        timeout=timeout,
        memory=limit,
    )  # fmt: skip
    problem = sandbox_problem() or _trial_box(plan)
    if problem:
        log.warning("grading without a box (%s): each kernel runs as you", problem)
        plan = dataclasses.replace(plan, boxed=False)
    return plan


def _read_all(paths: list[Path], course: Path) -> list[_Planned]:
    """Every submission, read, each with a gradebook name no other submission has."""
    planned: list[_Planned] = []
    taken: set[str] = set()
    for path in paths:
        nb, problem = _read(path)
        student = base = re.sub(r"[^\w.-]+", "_", _student(path, nb, course))
        suffix = 2
        while student in taken:
            student, suffix = f"{base}-{suffix}", suffix + 1
        taken.add(student)
        planned.append((path, student, nb, problem))
    return planned


def _grade_all(planned: list[_Planned], plan: _Plan, workers: int) -> list[GradeRow]:
    """Each readable submission graded in its own kernel (and user id), ``workers`` at once;
    an unreadable one is a row that says why."""
    rows: list[GradeRow] = []
    uids: list[int] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = []
        for _path, student, nb, problem in planned:
            if problem is not None or nb is None:
                rows.append(GradeRow(student, NOTEBOOK_ROW, False, problem or "unreadable"))
                continue
            uids.append(free_user_id(uids))
            futures.append(pool.submit(_grade_one, student, nb, plan, uids[-1]))
        for future in futures:
            rows += future.result()
    return rows
