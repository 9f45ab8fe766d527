"""The wheel carries the student notebooks: `mlcourse notebooks get` from a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from .conftest import ROOT


def _run(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=True, **kw)


@pytest.mark.processes
def test_notebooks_get_from_an_installed_wheel(tmp_path):
    # build from the committed files only (a stale build/ folder could add others)
    tree = tmp_path / "src"
    files = _run("git", "ls-files", "-z", cwd=ROOT).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes((ROOT / name).read_bytes())
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    _run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(tree))
    (wheel,) = wheels.glob("mlcourse-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    students = sorted(p.name for p in (ROOT / "notebooks" / "student").glob("*.ipynb"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.endswith(".ipynb")) == students
    # every module of every layer, and the files the code reads beside its modules
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "mlcourse").rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))
    for data in ("config/log4j2.properties", "data/synthetic/higgs_synthetic.json", "py.typed"):
        assert f"mlcourse/{data}" in names

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    _run(*pip, "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", str(wheel))
    work = tmp_path / "student"
    get = [str(venv / "bin" / "mlcourse"), "notebooks", "get", "course"]
    first = _run(*get, cwd=work.mkdir() or work)
    assert first.stdout.count("copied") == len(students)
    copied = work / "course" / students[0]
    assert copied.read_bytes() == (ROOT / "notebooks" / "student" / students[0]).read_bytes()
    # the student works in one notebook; getting them again keeps that work
    copied.write_text(copied.read_text().replace("Your code here", "n = df.count()"))
    edited = copied.read_bytes()
    again = _run(*get, cwd=work)
    assert f"kept yours {copied.relative_to(work)}" in again.stdout
    assert again.stdout.count("up to date") == len(students) - 1
    assert copied.read_bytes() == edited
