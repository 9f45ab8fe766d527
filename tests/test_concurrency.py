"""Two processes making one data set at once (issue 38, item 3): the second waits for the
first and reuses its result; a lock never outlives its owner; nothing is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlcourse.data.locks import lock_path, making

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mlcourse.data.locks import making

    target, log, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    with making(target, "a test data set"):
        with log.open("a") as out:
            out.write("holder in\\n")
        time.sleep(seconds)
        target.write_text("made by the holder")
        with log.open("a") as out:
            out.write("holder out\\n")
    """
)


def _start_holder(tmp_path: Path, target: Path, seconds: float) -> subprocess.Popen[str]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(target), str(tmp_path / "log"), str(seconds)],
        text=True,
    )
    while not (tmp_path / "log").exists():  # it holds the lock
        assert proc.poll() is None
        time.sleep(0.02)
    return proc


def test_the_second_maker_waits_then_finds_the_first_ones_result(tmp_path, caplog):
    target = tmp_path / "events.parquet"
    holder = _start_holder(tmp_path, target, 1.5)
    try:
        assert lock_path(target).read_text() == str(holder.pid)  # the owner, for messages
        with making(target, "a test data set"):
            # entered only once the holder has made it and let go
            assert (tmp_path / "log").read_text() == "holder in\nholder out\n"
            assert target.read_text() == "made by the holder"
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0
    assert f"waiting for process {holder.pid}, which is making a test data set" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.parquet", "holder.py", "log"]


def test_a_lock_dies_with_its_owner(tmp_path):
    """kill -9 (the OOM killer) of the holder: the next maker goes on at once."""
    target = tmp_path / "events.parquet"
    holder = _start_holder(tmp_path, target, 600)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert lock_path(target).exists()  # left by the dead owner, and no obstacle
    with making(target):
        assert lock_path(target).read_text() == str(os.getpid())
    assert not lock_path(target).exists()


def test_a_making_inside_another_of_the_same_target_does_not_wait_for_itself(tmp_path):
    target = tmp_path / "events.parquet"
    with making(target), making(target):
        target.write_text("x")
    assert not lock_path(target).exists()


def test_an_error_releases_the_lock(tmp_path):
    target = tmp_path / "events.parquet"
    with pytest.raises(RuntimeError), making(target):
        raise RuntimeError("the write failed")
    assert not lock_path(target).exists()
    with making(target):  # free again
        pass
