"""The project as a whole: the README's set-up is what CI runs; the package imports lightly."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", setup, flags=re.S)
    assert len(commands) == 2  # install and run the main job; run the tests
    assert "mlcourse demo" in commands[0] and "pytest" in commands[1]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line[:1] not in "#"]
    for command in commands:
        assert command in ci, command


def test_import_is_light_and_every_public_name_resolves():
    """`import mlcourse` loads no pyspark, IPython or matplotlib; each name loads its module."""
    script = """
import sys
import mlcourse
heavy = [m for m in ("pyspark", "IPython", "matplotlib", "keras", "jax") if m in sys.modules]
assert heavy == [], heavy
missing = [name for name in mlcourse.__all__ if getattr(mlcourse, name, None) is None]
assert missing == [], missing
assert set(mlcourse.__all__) <= set(dir(mlcourse))
try:
    mlcourse.no_such_name
except AttributeError as exc:
    assert "no attribute 'no_such_name'" in str(exc)
else:
    raise AssertionError("an unknown name must raise AttributeError")
print("OK")
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "OK", run.stderr[-2000:]


def _lint_imports(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """import-linter's ``lint-imports`` on the package under ``root``, with its contracts
    from ``root``'s pyproject.toml."""
    script = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(script), "--config", str(root / "pyproject.toml"), "--no-cache", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_import_contracts_hold():
    """import-linter's contracts in pyproject.toml: the layers import downward only,
    computing never draws, and the data layer reads as a line."""
    run = _lint_imports(ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "3 kept, 0 broken" in run.stdout


def test_an_import_back_up_breaks_the_layers_contract(tmp_path):
    """The contract is not vacuous: a copy of the package where the session (runtime) asks
    the magics (course) for something, inside a function as lazy imports are, fails it."""
    shutil.copytree(ROOT / "mlcourse", tmp_path / "mlcourse")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    session = tmp_path / "mlcourse" / "runtime" / "session.py"
    session.write_text(
        session.read_text()
        + "\n\ndef _upward() -> None:\n    from mlcourse.course.magics import SessionMagics\n"
    )
    run = _lint_imports(tmp_path)
    assert run.returncode == 1, run.stdout[-3000:]
    assert "Layers import downward only BROKEN" in run.stdout
    assert "mlcourse.runtime.session -> mlcourse.course.magics" in run.stdout


def test_nothing_below_the_face_imports_it():
    """``mlcourse/__init__.py`` imports the layers lazily; a module that imported the face
    back would be an arrow up that no layer contract sees (the face is their container)."""
    upward = []
    for path in sorted((ROOT / "mlcourse").rglob("*.py")):
        if path.parent == ROOT / "mlcourse" and path.stem in {"__init__", "__main__", "cli"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                node.module == "mlcourse" or (node.level and not node.module)
            ):
                upward.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Import) and any(a.name == "mlcourse" for a in node.names):
                upward.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert upward == []


def test_no_module_imports_another_modules_private_name():
    """What one module shares with another is public in its own module (``_name`` is a
    promise that nothing outside the module depends on it)."""
    private = []
    for path in sorted((ROOT / "mlcourse").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlcourse"):
                private += [
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__version__"
                ]
    assert private == []


def test_no_module_over_600_lines_and_no_function_over_80():
    """A module holds one concern and a function one step (its numpydoc docstring counted):
    what grows past these is split along a seam, not left to grow."""
    too_long = []
    for path in sorted((ROOT / "mlcourse").rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > 600:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 80:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {lines}")
    assert too_long == []


#: The only wall-clock bounds the tests may assert, and why each is safe on a loaded 2-core
#: machine: at least 10x the normal time of what it measures, where only a bound can tell a
#: hang from slowness. Everything else asserts behaviour (jobs submitted, requests made,
#: processes launched); speed is measured in benchmarks/, never in tests.
WALL_CLOCK_BOUNDS = {
    ("test_faults.py", "test_a_stalled_server_is_given_up_quickly"): (
        "60 s against a normal 3 s: only a bound tells a download that never gives up"
    ),
    ("test_faults.py", "test_a_killed_conversion_leaves_nothing_the_next_run_does_not_sweep"): (
        "60 s for a local[1] JVM to start writing, against a normal 5 s: a write that never"
        " starts would otherwise hang the run"
    ),
    ("test_faults.py", "test_sigterm_ends_a_conversion_as_ctrl_c_does"): (
        "120 s for a CLI conversion to start writing, against a normal 10 s: a write that "
        "never starts would otherwise hang the run"
    ),
    ("test_fetch.py", "_wait_for"): (
        "120 s for a child's first downloaded bytes from loopback, against a normal second:"
        " a child that never writes would otherwise hang the run"
    ),
}

_CLOCKS = {"monotonic", "perf_counter", "time", "process_time"}
_TIMELIKE = re.compile(r"elapsed|seconds|duration|_after\b|took", re.IGNORECASE)


def _reads_a_clock(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _CLOCKS:
                return True
        if isinstance(sub, ast.Name) and _TIMELIKE.search(sub.id):
            return True
        in_key = isinstance(node, ast.Subscript) and isinstance(sub, ast.Constant)
        if in_key and isinstance(sub.value, str) and _TIMELIKE.search(sub.value):
            return True
    return False


def _upper_bounds_on_time(test: ast.AST) -> bool:
    """Whether an assert's expression bounds a clock reading or an elapsed time from above."""
    for node in ast.walk(test):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True):
            if isinstance(op, ast.Lt | ast.LtE) and _reads_a_clock(left):
                return True
            if isinstance(op, ast.Gt | ast.GtE) and _reads_a_clock(right):
                return True
    return False


def _wall_clock_asserts() -> set[tuple[str, str]]:
    found = set()
    for path in sorted((ROOT / "tests").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Assert) and _upper_bounds_on_time(node.test):
                    found.add((path.name, func.name))
    return found


def test_no_test_asserts_a_wall_clock_bound_it_does_not_justify():
    """A stopwatch in a test fails on a slower or busier machine: CI must not depend on it.

    New bounds need an entry in WALL_CLOCK_BOUNDS saying why they are safe (README,
    Development); the checker itself is checked on a few lines of its own.
    """
    sample = ast.parse(
        "assert time.monotonic() - start < 5\n"
        "assert result['refused_after'] < 5\n"
        "assert 0 < elapsed <= 8\n"
        "assert 30 > took\n"
        "assert len(jobs) < 5\n"
        "assert r['seconds_gbt'] > 0\n"
    )
    flagged = [_upper_bounds_on_time(node.test) for node in sample.body]  # type: ignore[attr-defined]
    assert flagged == [True, True, True, True, False, False]
    unexplained = _wall_clock_asserts() - set(WALL_CLOCK_BOUNDS)
    assert unexplained == set(), (
        "these tests assert a wall-clock bound: assert the behaviour instead (jobs, requests,"
        " launches), or justify a bound of 10x the normal time in WALL_CLOCK_BOUNDS"
    )
