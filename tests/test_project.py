"""The project as a whole: the README's set-up is what CI runs; the package imports lightly."""

from __future__ import annotations

import ast
import re
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


def _package_imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports (at load time or inside functions; imports
    for type checkers only are left out), read from the source with ``ast``."""

    class Imports(ast.NodeVisitor):
        def __init__(self) -> None:
            self.found: set[str] = set()

        def visit_If(self, node: ast.If) -> None:
            if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                for child in node.orelse:
                    self.visit(child)
            else:
                self.generic_visit(node)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level == 1 and node.module:
                self.found.add(node.module.split(".")[0])
            elif node.level == 1:
                self.found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("mlcourse."):
                self.found.add(node.module.split(".")[1])

    graph = {}
    for path in sorted((ROOT / "mlcourse").glob("*.py")):
        visitor = Imports()
        visitor.visit(ast.parse(path.read_text()))
        graph[path.stem] = visitor.found - {path.stem}
    return graph


def test_modules_import_each_other_one_way():
    """No import cycle between the package's modules, and the data layer reads as a line:
    datasets <- fetch, synthetic <- data (only data asks the profile for the directory)."""
    graph = _package_imports()
    assert {"aggregate", "plots", "metrics", "datasets", "data"} <= set(graph)

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    cycles = [m for m in graph if reaches(m, m, {m})]
    assert cycles == [], f"modules on an import cycle: {cycles}"
    assert graph["datasets"] == set()
    for module in ("fetch", "synthetic"):
        assert not graph[module] & {"data", "config", "session"}, (module, graph[module])
    assert not graph["aggregate"] & {"plots", "metrics"}  # aggregation never draws
    assert "aggregate" in graph["plots"] and "aggregate" in graph["metrics"]


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
