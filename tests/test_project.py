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
