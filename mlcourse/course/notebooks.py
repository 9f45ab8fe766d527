"""The course notebooks: one source per hands-on session, student versions generated from it.

A source notebook holds the exercises with their solutions. Cells tagged ``solution`` (in
the cell's metadata, as JupyterLab's property inspector sets it) are replaced in the
student version by a stub that keeps the cell's leading comment lines (the task) and asks
for the student's code; everything else is copied. Outputs and execution counts are never
kept. :func:`build_notebooks` writes ``<folder>/student/<name>.ipynb`` for every
``<folder>/<name>.ipynb``; ``mlcourse notebooks build --check`` (and the test suite) fails
when a committed student version is out of date.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mlcourse.config import decode_text
from mlcourse.data.storage import check_destination
from mlcourse.errors import DataError

__all__ = [
    "PARAMETERS_TAG",
    "SOLUTION_TAG",
    "STUDENT_DIR",
    "build_notebooks",
    "get_notebooks",
    "packaged_notebooks",
    "read_notebook",
    "student_version",
    "write_notebook",
]

#: Tag of the cells that hold a solution.
SOLUTION_TAG = "solution"
#: Tag of the first code cell, whose values papermill (or the environment) may override.
PARAMETERS_TAG = "parameters"
#: Folder, beside the sources, of the generated student versions.
STUDENT_DIR = "student"

_CODE_STUB = "# Your code here.\n"
_MARKDOWN_STUB = "*Your answer here.*"


def read_notebook(path: str | Path) -> dict[str, Any]:
    """A notebook file as its JSON dictionary (nbformat 4).

    Raises
    ------
    DataError
        When the file is not a notebook's JSON: the message names the file, line and column.
    """
    text = decode_text(Path(path).read_bytes(), path, what="a notebook", error=DataError)
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}, line {exc.lineno}, column {exc.colno}: not valid notebook JSON "
            f"({exc.msg}). Undo the last hand edit (git diff {path}), or open and save it "
            "in JupyterLab.",
            path=str(path),
            line=exc.lineno,
        ) from None
    if not isinstance(nb, dict) or "cells" not in nb:
        raise DataError(f"{path}: JSON, but not a notebook (no cells).", path=str(path))
    return nb


def _dumps(nb: dict[str, Any]) -> str:
    # nbformat's own layout: one-space indent, sorted keys, UTF-8, final newline.
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_notebook(nb: dict[str, Any], path: str | Path) -> None:
    """Write a notebook in nbformat's layout (stable diffs)."""
    Path(path).write_text(_dumps(nb), encoding="utf-8")


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _stub(cell: dict[str, Any]) -> str:
    """The task (the solution's leading comment lines, after its cell magic if it has one,
    such as ``%%classic_only``) and a place for the answer."""
    if cell["cell_type"] == "markdown":
        return _MARKDOWN_STUB
    lines = _source(cell).splitlines(keepends=True)
    task = []
    if lines and lines[0].startswith("%%"):
        task.append(lines.pop(0).rstrip("\n") + "\n")
    for line in lines:
        if not line.lstrip().startswith("#"):
            break
        task.append(line if line.endswith("\n") else line + "\n")
    return "".join(task) + _CODE_STUB


def student_version(nb: dict[str, Any]) -> dict[str, Any]:
    """The student version of a source notebook: solutions replaced by stubs, no outputs.

    Parameters
    ----------
    nb : dict
        A source notebook (nbformat 4 JSON).

    Returns
    -------
    dict
        A new notebook; ``nb`` is left as it is. Solution cells become cells tagged
        ``exercise`` whose text is the task and ``# Your code here.``.
    """
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        tags = _tags(cell)
        if SOLUTION_TAG in tags:
            cell["source"] = _stub(cell)
            cell["metadata"]["tags"] = [t for t in tags if t != SOLUTION_TAG] + ["exercise"]
    return out


def build_notebooks(folder: str | Path = "notebooks", *, check: bool = False) -> list[Path]:
    """Write (or with ``check``, only compare) the student version of every source notebook.

    Parameters
    ----------
    folder : str or pathlib.Path, default "notebooks"
        Where the sources are; student versions go to ``folder/student``.
    check : bool, default False
        Write nothing; report the student versions that are missing or out of date, and
        any student version whose source is gone.

    Returns
    -------
    list of pathlib.Path
        The student notebooks written (or, with ``check``, those that are out of date).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"{folder}: no such folder of source notebooks. Run this from the repository "
            "root (mlcourse notebooks build), or name the folder (mlcourse notebooks build DIR).",
            path=str(folder),
        )
    sources = sorted(folder.glob("*.ipynb"))
    if not sources:
        raise DataError(
            f"no notebooks in {folder}: run this from the repository root, or name the folder.",
            path=str(folder),
        )
    target = folder / STUDENT_DIR
    check_destination(target, [folder], replaces=False, what="the student versions")
    stale = []
    for src in sources:
        dest = target / src.name
        text = _dumps(student_version(read_notebook(src)))
        if dest.is_file() and dest.read_text(encoding="utf-8") == text:
            continue
        stale.append(dest)
        if not check:
            target.mkdir(exist_ok=True)
            dest.write_text(text, encoding="utf-8")
    names = {src.name for src in sources}
    orphans = [p for p in sorted(target.glob("*.ipynb")) if p.name not in names]
    if check:
        return stale + orphans
    for orphan in orphans:
        orphan.unlink()
    return stale


def packaged_notebooks() -> Path:
    """The folder of the student notebooks that came with this installation.

    A wheel carries them inside the package (``mlcourse/student_notebooks``, from
    ``notebooks/student`` at build time); a source checkout (``pip install -e .``) reads
    ``notebooks/student`` itself.
    """
    here = Path(__file__).resolve().parents[1]  # the package: mlcourse/course/notebooks.py
    for folder in (here / "student_notebooks", here.parent / "notebooks" / STUDENT_DIR):
        if any(folder.glob("*.ipynb")):
            return folder
    raise FileNotFoundError(
        "this mlcourse installation has no student notebooks; reinstall it from a wheel "
        "or a checkout of the repository (pip install mlcourse)."
    )


def get_notebooks(dest: str | Path = "mlcourse-notebooks") -> dict[str, list[Path]]:
    """Copy the student notebooks into ``dest`` without ever replacing a student's work.

    A notebook that is not in ``dest`` yet is copied; one equal to the course's copy is
    left as it is; one that differs (the student has worked in it) is kept, and the
    course's version is not written. Run it again after an upgrade to get new notebooks.

    Returns
    -------
    dict
        ``{"copied": [...], "unchanged": [...], "kept": [...], "blocked": [...]}``: paths
        in ``dest``; ``blocked`` are names taken by something that is not a file (a folder
        named like a notebook), left alone while the other notebooks are copied.

    Raises
    ------
    DataError
        ``dest`` is a file, or is the installation's own folder of notebooks.
    """
    source = packaged_notebooks()
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise DataError(
            f"{dest} is a file, not a folder: name a folder for the notebooks (it is "
            "created when missing), e.g. mlcourse-notebooks.",
            path=str(dest),
        )
    check_destination(dest, [source], replaces=False, what="the student notebooks")
    dest.mkdir(parents=True, exist_ok=True)
    done: dict[str, list[Path]] = {"copied": [], "unchanged": [], "kept": [], "blocked": []}
    for notebook in sorted(source.glob("*.ipynb")):
        target = dest / notebook.name
        data = notebook.read_bytes()
        if target.exists() and not target.is_file():
            done["blocked"].append(target)
        elif not target.exists():
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
            done["copied"].append(target)
        elif target.read_bytes() == data:
            done["unchanged"].append(target)
        else:
            done["kept"].append(target)
    return done
