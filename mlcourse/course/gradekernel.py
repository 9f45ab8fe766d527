"""One submission run for the gradebook: the student's cells, then the grader's own, in a box.

``mlcourse grade`` starts ``python -m mlcourse.course.gradekernel`` once per submission and writes
what it runs to its standard input (no path of another submission ever appears on a command
line). The runner is the grader's: it builds the notebook to execute, starts the kernel in a
:class:`~mlcourse.course.sandbox.Box` where it can (root on Linux), and writes the executed notebook
where the grader asked.

Nothing the student's kernel writes is trusted as a grade. After the student's last cell the
runner appends two cells of its own:

1. a reset: the IPython event hooks and trace functions a student cell may have set are
   dropped, every ``mlcourse`` module is forgotten and ``sys.path`` starts at the installed
   package (a ``mlcourse.py`` in the working folder shadows nothing); the import machinery
   is the interpreter's own again (a finder, path hook or ``__import__`` a student cell
   installed could serve a forged checks module), and so are IPython's display functions
   and the shell's publisher (which carry the grade out); the arguments the student's own
   ``mlcourse.check`` cells passed explicitly are evaluated again;
2. the checks: every exercise of the notebook is checked on the notebook's final variables by
   the freshly imported :mod:`mlcourse.course.checks`, each result published as one output of the
   MIME type :data:`~mlcourse.course.checks.GRADE_MIME` carrying this run's random ``nonce``.

The grader reads the results only from the outputs of that last cell, only with the nonce,
and an exercise reported twice there counts as tampered with. The reset repairs what a
student cell can change from Python's surface; code that rewrites the interpreter's
frozen import modules or classes in place is beyond it: the kernel is the student's, and
only checks run in another process would be out of its reach. What a student cell prints,
appends to a file or publishes earlier counts for nothing: a student's own check cells give
feedback, not grades.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from mlcourse.course.checks import GRADE_MIME

__all__ = ["ExplicitArguments", "check_calls", "grader_cells", "grader_results"]

#: The source of one exercise's explicit check arguments: positional, then keyword.
ExplicitArguments = tuple[list[str], dict[str, str]]

#: The first line of the grader's first cell.
GRADER_HEADER = "# mlcourse grade: the grader's cells start here; nothing above is trusted."


def _python_lines(source: str) -> str:
    """A cell's source with IPython's magics and shell lines blanked (same line numbers);
    a cell magic other than ``%%classic_only`` (whose body is Python) blanks the cell."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        if not lines[0].startswith("%%classic_only"):
            return ""
        lines[0] = ""
    return "\n".join("" if re.match(r"\s*[%!]", line) else line for line in lines)


def check_calls(nb: dict[str, Any]) -> dict[str, ExplicitArguments]:
    """The explicit arguments of the last ``mlcourse.check("exercise", ...)`` call per
    exercise in a notebook's code cells (as source text); calls without them are left out."""
    found: dict[str, ExplicitArguments] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = _python_lines("".join(source) if isinstance(source, list) else source)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            function = node.func
            named = isinstance(function, ast.Attribute) and function.attr == "check"
            named = named or (isinstance(function, ast.Name) and function.id == "check")
            first = node.args[0]
            if not named or not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            positional = [ast.get_source_segment(source, a) or "" for a in node.args[1:]]
            keywords = {
                k.arg: ast.get_source_segment(source, k.value) or ""
                for k in node.keywords
                if k.arg is not None
            }
            if any(isinstance(a, ast.Starred) for a in node.args[1:]) or not all(
                [*positional, *keywords.values()]
            ):
                continue
            if positional or keywords:
                found[first.value] = (positional, keywords)
            else:
                found.pop(first.value, None)
    return found


def grader_cells(
    exercises: list[str], calls: dict[str, ExplicitArguments], package: str, nonce: str
) -> list[str]:
    """The sources of the two cells the grader appends (see the module's documentation)."""
    arguments = []
    for exercise in exercises:
        if exercise not in calls:
            continue
        positional, keywords = calls[exercise]
        args = "".join(f"({a}), " for a in positional)
        kwargs = ", ".join(f"{k!r}: ({v})" for k, v in keywords.items())
        arguments.append(
            f"try:\n    _mlcourse_grader_arguments[{exercise!r}] = (({args}), {{{kwargs}}})\n"
            f"except Exception as _mlcourse_error:\n"
            f"    _mlcourse_grader_arguments[{exercise!r}] = _mlcourse_error\n"
        )
    reset = f"""{GRADER_HEADER}
def _mlcourse_grader_reset(package):
    import builtins, importlib, os, sys, threading, zipimport
    from importlib import machinery as m
    shell = get_ipython()
    for event in list(shell.events.callbacks):
        shell.events.callbacks[event] = []
    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)
    threading.setprofile(None)
    for name in [n for n in sys.modules if n == "mlcourse" or n.startswith("mlcourse.")]:
        del sys.modules[name]
    here = {{"", ".", os.getcwd()}}
    sys.path[:] = [package] + [p for p in sys.path if p not in here and p != package]
    # the interpreter's own import machinery: a finder, a path hook or an __import__ of a
    # student cell would hand the grader a forged mlcourse.course.checks
    sys.meta_path[:] = [m.BuiltinImporter, m.FrozenImporter, m.PathFinder]
    loaders = [
        (m.ExtensionFileLoader, m.EXTENSION_SUFFIXES),
        (m.SourceFileLoader, m.SOURCE_SUFFIXES),
        (m.SourcelessFileLoader, m.BYTECODE_SUFFIXES),
    ]
    sys.path_hooks[:] = [zipimport.zipimporter, m.FileFinder.path_hook(*loaders)]
    sys.path_importer_cache.clear()
    builtins.__import__ = importlib.__import__
    # IPython's display functions as their module defines them, and the shell's publisher
    # without a method of the instance's own: the grade's way out of the kernel
    importlib.reload(sys.modules["IPython.core.display_functions"])
    vars(shell.display_pub).pop("publish", None)


_mlcourse_grader_reset({package!r})
del _mlcourse_grader_reset
_mlcourse_grader_arguments = {{}}
""" + "".join(arguments)
    grade = (
        "import mlcourse.course.checks as _mlcourse_grader_checks\n\n"
        f"_mlcourse_grader_checks.report_to_grader({nonce!r}, {exercises!r}, globals(), "
        "_mlcourse_grader_arguments)\n"
    )
    return [reset, grade]


def grader_results(
    executed: dict[str, Any], nonce: str, exercises: list[str]
) -> dict[str, tuple[bool, str]]:
    """What the grader's last cell reported, per exercise: (passed, message). Only outputs
    of that cell with this run's nonce count; an exercise reported twice fails."""
    cells = executed.get("cells", [])
    if not cells or "".join(cells[-1].get("source", "")).find(nonce) < 0:
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for output in cells[-1].get("outputs", []):
        record = output.get("data", {}).get(GRADE_MIME)
        if isinstance(record, str):
            with contextlib.suppress(ValueError):
                record = json.loads(record)
        if not isinstance(record, dict) or record.get("nonce") != nonce:
            continue
        if record.get("exercise") in exercises:
            found.setdefault(record["exercise"], []).append(record)
    results = {}
    for exercise, records in found.items():
        if len(records) != 1:
            results[exercise] = (False, "reported more than once: the grade was tampered with")
        else:
            record = records[0]
            results[exercise] = (record.get("passed") is True, str(record.get("message", "")))
    return results


# --------------------------------------------------------------------------- the runner


def _kernel_manager(box: dict[str, Any] | None) -> Any:
    """A kernel manager whose kernel runs in ``box`` (talking through Unix sockets in the
    box's runtime folder), or a plain one."""
    from jupyter_client.manager import AsyncKernelManager as KernelManager  # nbclient awaits it

    if box is None:
        return KernelManager(kernel_name="python3")
    from mlcourse.course.sandbox import Box

    sandbox = Box(**box)

    class BoxedKernelManager(KernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return sandbox.command(super().format_kernel_cmd(extra_arguments))

        def write_connection_file(self, **kwargs: Any) -> None:
            super().write_connection_file(**kwargs)
            os.chown(self.connection_file, sandbox.uid, sandbox.uid)

    runtime = Path(sandbox.runtime)
    manager = BoxedKernelManager(kernel_name="python3", transport="ipc", ip=str(runtime / "k"))
    manager.connection_file = str(runtime / "kernel.json")
    return manager


def _why_dead(manager: Any) -> str:
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    code = process.poll() if process is not None else None
    if code is None:
        return "the kernel died"
    if code in (137, -9):
        return "the kernel was killed (signal 9: out of memory?)"
    return f"the kernel died (exit status {code})"


def run(spec: dict[str, Any]) -> None:
    """Execute ``spec["notebook"]`` (the student's cells and the grader's) and write it,
    outputs and all, to ``spec["target"]``; errors stay in the cells' outputs."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.reads(json.dumps(spec["notebook"]), as_version=4)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    manager = _kernel_manager(spec.get("box"))
    client = NotebookClient(nb, km=manager, allow_errors=True, timeout=None)
    note = None
    try:
        client.execute(cwd=spec["cwd"], env=spec["env"])
    except DeadKernelError:
        note = _why_dead(manager)
    except Exception as error:  # a kernel that cannot start: say why, in one line
        note = f"the kernel could not run: {type(error).__name__}: {error}".splitlines()[0]
    finally:
        if note:
            nb.metadata.setdefault("mlcourse", {})["grader"] = note[:300]
        target = Path(spec["target"])
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        nbformat.write(nb, partial)
        partial.replace(target)


def _kill_descendants() -> None:
    """Kill what is left under this process: as the children's subreaper it inherits what a
    kernel started in a new session or by a double fork (outside a box, which ends its own)."""
    import signal

    from mlcourse.course.sandbox import process_tree

    for _ in range(3):  # a process may fork while its siblings are killed
        found = process_tree(os.getpid())[1:]
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for pid in found:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, 0)
        if not found:
            return


if __name__ == "__main__":
    with contextlib.suppress(ValueError, OSError):  # orphans of the kernel come back here
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    try:
        run(json.loads(sys.stdin.read()))
    finally:
        _kill_descendants()
