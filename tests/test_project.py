"""The project as a whole: the README's set-up is what CI runs; the package imports lightly."""

from __future__ import annotations

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
