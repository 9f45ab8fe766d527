"""Figures of the package's structure, for this checkout or a git ref (not a speed benchmark).

Modules per folder; the largest module; the longest functions, with their docstrings and
without; import arrows between the package's modules (imports inside functions included,
imports for type checkers left out); the longest chain of them; circles; and arrows from a
module back up to the package's face (``mlcourse/__init__.py``).

    python benchmarks/structure.py            # this checkout
    python benchmarks/structure.py 7619ecb    # a commit, in a temporary worktree
"""

from __future__ import annotations

import ast
import collections
import pathlib
import subprocess
import sys
import tempfile

FACE = "mlcourse"


def _modules(root: pathlib.Path) -> dict[str, pathlib.Path]:
    mods = {}
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            nodes.update(id(child) for child in ast.walk(node))
    return nodes


def _imported(node: ast.AST, module: str, mods: dict[str, pathlib.Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        package = module if mods[module].name == "__init__.py" else module.rpartition(".")[0]
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def measure(checkout: pathlib.Path) -> None:
    mods = _modules(checkout / "mlcourse")
    edges: dict[str, set[str]] = collections.defaultdict(set)
    functions = []
    for module, path in mods.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                total = node.end_lineno - node.lineno + 1
                first = node.body[0]
                doc = ast.get_docstring(node) is not None
                code = total - (first.end_lineno - first.lineno + 1 if doc else 0)
                functions.append((total, code, f"{module}.{node.name}"))
            for target in _imported(node, module, mods):
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != module and target.startswith(FACE):
                    edges[module].add(target)

    lines = {m: len(p.read_text().splitlines()) for m, p in mods.items()}
    folders = collections.Counter(str(p.parent.relative_to(checkout)) for p in mods.values())
    print(f"modules: {len(mods)}, lines: {sum(lines.values()):,}")
    print("modules per folder:", dict(sorted(folders.items())))
    print("largest modules:", sorted(lines.items(), key=lambda kv: -kv[1])[:4])
    print("modules over 600 lines:", [m for m, n in lines.items() if n > 600])
    functions.sort(reverse=True)
    print("longest functions (lines, of which code):", functions[:6])
    print("functions over 80 lines:", sum(total > 80 for total, _, _ in functions))
    print("functions over 80 lines of code:", sum(code > 80 for _, code, _ in functions))

    up = sorted((a, b) for a, targets in edges.items() for b in targets if b == FACE)
    graph = {a: {b for b in bs if b != FACE} for a, bs in edges.items() if a != FACE}
    depth: dict[str, int] = {}
    circles: list[str] = []

    def chain(module: str, stack: frozenset[str]) -> int:
        if module in depth:
            return depth[module]
        if module in stack:
            circles.append(module)
            return 0
        below = [chain(b, stack | {module}) for b in graph.get(module, ())]
        depth[module] = 1 + max(below, default=0)
        return depth[module]

    longest = max(chain(m, frozenset()) for m in mods if m != FACE)
    arrows = sum(len(targets) for targets in edges.values())
    print(f"import arrows: {arrows}, longest chain: {longest}, circles: {len(circles)}")
    print("arrows back up to the face:", up)


if __name__ == "__main__":
    here = pathlib.Path(__file__).resolve().parents[1]
    if len(sys.argv) < 2:
        measure(here)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            add = ["git", "-C", str(here), "worktree", "add", "-q", "--detach", tmp, sys.argv[1]]
            subprocess.run(add, check=True)
            try:
                measure(pathlib.Path(tmp))
            finally:
                subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", tmp])
