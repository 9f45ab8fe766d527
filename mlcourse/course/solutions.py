"""Solutions as a course releases them: after a date the instructor sets, from a folder the
instructor keeps, never from the package.

The package and the student notebooks hold no solution (``mlcourse notebooks build`` strips
them; the wheel ships only the student versions). An instructor who wants students to see
the solutions of a day after its deadline puts the source notebooks (the instructors'
versions) in a folder the students can read, and says when in ``mlcourse.toml``::

    [solutions]
    folder = "/srv/course/solutions"      # the instructors' notebooks, readable by students
    release = "2027-01-20"                # ISO date (UTC) from which they are shown
    # or, per notebook (a notebook without a date is never released; keep the final's out):
    # release = { day1_input_data = "2026-12-10", day2_gbt = "2026-12-17" }

``mlcourse.solution("day1.ex1")`` then prints that exercise's solution cells. Grading never
needs the solutions (the checks recompute from the student's own objects), so exam solutions
can stay off every machine the students reach.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mlcourse.config import read_config
from mlcourse.course.checking import exercise_spec
from mlcourse.errors import ConfigError

__all__ = ["solution", "solution_cells"]

#: Which course notebook (file stem) holds the exercises of a prefix ("day1.ex2" -> day1).
NOTEBOOK_OF = {
    "day1": "day1_input_data",
    "day1b": "day1b_spark_internals",
    "day2_gbt": "day2_gbt",
    "day2_mlp": "day2_mlp",
    "day3": "day3_neural_networks",
    "day4": "day4_distributed_training",
    "final": "final_handson",
}


def _release_date(release: Any, notebook: str) -> dt.date | None:
    value = release.get(notebook) if isinstance(release, dict) else release
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            f"[solutions] release = {value!r}: give an ISO date such as 2027-01-20"
        ) from None


def solution_cells(folder: str | Path, exercise: str) -> list[str]:
    """The sources of an exercise's solution cells in the instructors' notebook in ``folder``
    (cells tagged ``solution`` between the exercise's text and its check cell)."""
    from mlcourse.course.notebooks import SOLUTION_TAG, read_notebook

    notebook = Path(folder) / f"{NOTEBOOK_OF[exercise.split('.')[0]]}.ipynb"
    nb = read_notebook(notebook)
    cells = nb["cells"]
    ends = [
        i for i, c in enumerate(cells)
        if c["cell_type"] == "code" and f'check("{exercise}")' in "".join(c.get("source", ""))
    ]  # fmt: skip
    if not ends:
        return []
    start = ends[0]
    while start > 0 and SOLUTION_TAG not in cells[start - 1].get("metadata", {}).get("tags", []):
        start -= 1
    while start > 0 and SOLUTION_TAG in cells[start - 1].get("metadata", {}).get("tags", []):
        start -= 1
    return [
        "".join(c.get("source", ""))
        for c in cells[start : ends[0] + 3]
        if SOLUTION_TAG in c.get("metadata", {}).get("tags", [])
    ]


def solution(exercise: str, *, today: dt.date | None = None) -> None:
    """Print an exercise's solution, if the instructor's policy releases it today.

    Parameters
    ----------
    exercise : str
        The exercise's name, such as ``"day1.ex1"``.
    today : date, optional
        The date to judge the release by (default: today, UTC).
    """
    exercise_spec(exercise)  # a KeyError naming the exercises for a typo
    policy = read_config().get("solutions", {})
    folder = policy.get("folder") if isinstance(policy, dict) else None
    notebook = NOTEBOOK_OF[exercise.split(".")[0]]
    when = _release_date(policy.get("release") if isinstance(policy, dict) else None, notebook)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    if not folder or when is None:
        print(f"{exercise}: your instructor has not released the solutions of {notebook}.")
        return
    if today < when:
        print(f"{exercise}: the solutions of {notebook} are released on {when.isoformat()}.")
        return
    cells = solution_cells(folder, exercise)
    if not cells:
        print(f"{exercise}: no solution for it in {folder}; ask your instructor.")
        return
    print(f"{exercise}: the solution\n\n" + "\n\n".join(cells))
