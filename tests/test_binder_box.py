"""Binder as it really is (issue 39): a real cgroup of 1 CPU and a hard 2 GiB memory limit
(swap included), entered through ``binder/start`` (the binder profile), as mybinder.org
runs a user's server, with the notebook client in the box in the server's place.

The notebooks tier (tests/test_notebooks.py, ``run_and_check``) runs every course notebook
in such a box where one can be made (as root, as in CI), at 20k events: each must finish
without an OOM kill, an error or a line on stderr, its results and checks as the tier
asserts them, and the box's peak under 1.75 GiB (page cache included), leaving the notebook
server its share. One run serves both tiers. ``benchmarks/notebook_budget.py --box`` gives
the 100k figures. This file holds the box's own tests, skipped with the reason only where
no cgroup can be made (not root).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mlcourse.runtime.limits import LimitBox, limits_problem

ROOT = Path(__file__).resolve().parents[1]

#: mybinder.org's limits (jupyterhub/mybinder.org-deploy, mybinder/values.yaml): 1 CPU,
#: memory 2G, which KubeSpawner reads as 2 GiB.
BINDER_CPUS, BINDER_MEMORY = 1.0, 2 * 2**30
#: The box's peak a notebook may reach: the rest is the notebook server's.
PEAK_BUDGET = int(1.75 * 2**30)
EVENTS = 20_000

pytestmark = [
    pytest.mark.binder,
    pytest.mark.skipif(limits_problem() is not None, reason=f"no cgroup box: {limits_problem()}"),
]


def run_in_box(
    path: Path, out: Path, *, cwd: Path | None = None, allow_errors: bool = False
) -> dict:
    """Run the notebook at ``path`` in a fresh Binder box, with this process's environment
    (the tier's MLCOURSE_* variables) through binder/start (the binder profile, as
    mybinder.org starts the server); the executed copy goes to ``out``. What the box
    measured: its peak, its OOM kills, the runner's status, its stderr and Run All seconds.
    """
    env = {k: v for k, v in os.environ.items() if k != "MLCOURSE_PROFILE"}
    command = ["bash", "binder/start", sys.executable, "tests/binder_run.py", str(path), str(out)]
    command += ["--cwd", str(cwd or path.parent)] + (["--allow-errors"] if allow_errors else [])
    with LimitBox(path.stem[:40], cpus=BINDER_CPUS, memory=BINDER_MEMORY) as box:
        run = subprocess.run(
            command, cwd=ROOT, env=env, preexec_fn=box.preexec, capture_output=True, text=True
        )
        measured = {"peak_bytes": box.peak_bytes(), "oom_kills": box.oom_kills()}
    measured |= {"status": run.returncode, "stderr": run.stderr[-3000:]}
    if out.is_file():
        metadata = nbformat.read(out, as_version=4).metadata
        measured["seconds"] = metadata.get("mlcourse_run_all_seconds")
    artifacts = os.environ.get("MLCOURSE_ARTIFACTS")
    if artifacts:  # the tier's table, for whoever reads CI's artifacts
        folder = Path(artifacts) / "binder"
        folder.mkdir(parents=True, exist_ok=True)
        row = {k: v for k, v in measured.items() if k != "stderr"}
        (folder / f"{out.stem}.json").write_text(json.dumps(row) + "\n")
    return measured


def test_the_box_is_seen_as_binder_gives_it(tmp_path):
    """cpu_count(), the memory facts, doctor and the JVM see 1 CPU and 2 GiB in the box
    (before: doctor said the host's "2 cores, 23.5 GiB": the root's files were read)."""
    probe = (
        "from mlcourse.config import cpu_count, total_memory_bytes\n"
        "print(cpu_count(), total_memory_bytes())"
    )
    with LimitBox("facts", cpus=BINDER_CPUS, memory=BINDER_MEMORY) as box:
        facts = subprocess.run(
            [sys.executable, "-c", probe], preexec_fn=box.preexec, capture_output=True, text=True
        )
        doctor = subprocess.run(
            [sys.executable, "-m", "mlcourse", "doctor", "--no-job", "--profile", "binder"],
            preexec_fn=box.preexec,
            capture_output=True,
            text=True,
        )
        java = subprocess.run(
            ["java", "-XshowSettings:system", "-version"],
            preexec_fn=box.preexec,
            capture_output=True,
            text=True,
        )
    assert facts.stdout.split() == ["1", str(BINDER_MEMORY)], facts.stderr
    assert "1 core, 2.0 GiB memory" in doctor.stdout, doctor.stdout
    assert "Effective CPU Count: 1" in java.stderr and "Memory Limit: 2.00G" in java.stderr
