"""How long does `mlcourse grade` take for a class? Ten copies of a course notebook.

Ten students hand in the instructors' solution of a notebook (Day 2's GBT by default); the
grader runs them with its defaults (one notebook per two cores, the binder profile) on
synthetic events. The same notebook run once alone, in this process's own kernel, is the
reference: the ratio says what the grader's isolation (a process and a kernel per
submission, the limits' sampling, the gradebook) costs on top of the notebooks themselves.

    python benchmarks/grading.py [--notebook day2_gbt] [--copies 10] [--events 10k]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from mlcourse.config import cpu_count
from mlcourse.course.grading import course_notebook, grade

SOURCES = Path(__file__).resolve().parents[1] / "notebooks"


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--notebook", default="day2_gbt")
    args.add_argument("--copies", type=int, default=10)
    args.add_argument("--events", default="10k")
    opts = args.parse_args()
    solution = SOURCES / course_notebook(opts.notebook).name
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        submitted = root / "submitted"
        submitted.mkdir()
        for i in range(opts.copies):
            shutil.copy(solution, submitted / f"student{i + 1:02d}.ipynb")
        start = time.perf_counter()
        rows = grade([submitted], opts.notebook, root / "grades", events=opts.events)
        graded = time.perf_counter() - start
        passed = sum(r.passed for r in rows if r.exercise != "(notebook)")
        checks = sum(r.exercise != "(notebook)" for r in rows)

        # the reference: the same notebook once, on the data the grader prepared
        os.environ.update(
            MLCOURSE_PROFILE="binder",
            MLCOURSE_EVENTS=opts.events,
            MLCOURSE_SOURCE="synthetic",
            MLCOURSE_DATA_DIR=str(root / "grades" / "data"),
        )
        work = root / "alone"
        work.mkdir()
        nb = nbformat.read(solution, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, kernel_name="python3", timeout=1800).execute(cwd=str(work))
        alone = time.perf_counter() - start
    print(
        f"{opts.copies} copies of {solution.stem} on {opts.events} synthetic events, "
        f"{cpu_count()} cores: graded in {graded:.0f} s ({graded / opts.copies:.0f} s a "
        f"notebook; {passed}/{checks} checks passed); one run alone {alone:.0f} s; "
        f"grading / (copies x alone) = {graded / (opts.copies * alone):.2f}"
    )


if __name__ == "__main__":
    main()
