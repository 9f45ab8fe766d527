"""Faults during Spark work (issue 38, item 2), each with real processes and signals: Ctrl-C
ends a command in one line and exit 130; a driver JVM killed by signal 9 is named, with
its pid and the likely cause, and the next session is a new one; no JVM outlives the
command that started it; a dead driver's scratch folder is removed at the next start."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mlcourse.runtime.driver import clean_stale_scratch, scratch_root

from .test_faults import digest

pytestmark = pytest.mark.processes


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux's /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def java_child(proc: subprocess.Popen) -> int:
    """The pid of the driver JVM ``proc`` starts, once it has."""
    while True:
        assert proc.poll() is None, "the command ended before its JVM started"
        for pid in children(proc.pid):
            try:
                if Path(f"/proc/{pid}/exe").resolve().name == "java":
                    return pid
            except OSError:
                continue
        time.sleep(0.05)


def processes_naming(text: str) -> list[str]:
    """Pids of running processes whose command line holds ``text`` (a JVM's settings)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # a zombie: dead


@pytest.fixture
def big_csv(higgs_files, tmp_path) -> Path:
    src = tmp_path / "big.csv"
    src.write_bytes(gzip.decompress(higgs_files.uci_gz) * 60)  # 300k events
    return src


def _converting(src: Path, dest: Path) -> tuple[subprocess.Popen, int]:
    """A CLI conversion in a process group of its own, once it writes; its JVM's pid."""
    command = [sys.executable, "-m", "mlcourse", "data", "convert", str(src), str(dest)]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    while not list(dest.parent.glob(f".{dest.name}.mlcourse-tmp-*")):
        assert child.poll() is None, child.stderr.read()
        time.sleep(0.05)
    return child, java_child(child)  # the driver (spark-submit's launcher JVM has exited)


def _signalled(child: subprocess.Popen, send: Callable[[], None]) -> str:
    """``send`` a signal, then the stderr of ``child`` once it has ended (killed if the
    test fails first)."""
    try:
        send()
        return child.communicate()[1]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_ctrl_c_to_the_terminal_ends_a_conversion_in_one_line(big_csv, tmp_path):
    """Ctrl-C in a terminal signals the whole process group (Python and its JVM)."""
    before = digest(big_csv)
    child, jvm = _converting(big_csv, tmp_path / "big.parquet")
    err = _signalled(child, lambda: os.killpg(child.pid, signal.SIGINT))
    assert child.returncode == 130, err
    assert err == "mlcourse data: interrupted\n"  # was 46 lines: four Py4J tracebacks
    assert gone(jvm)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]
    assert digest(big_csv) == before
    assert not list(scratch_root().glob(f"{child.pid}-*"))


def test_a_driver_killed_by_signal_9_is_named_and_leaves_nothing(big_csv, tmp_path):
    """What the out-of-memory killer does: the JVM dies mid-conversion."""
    child, jvm = _converting(big_csv, tmp_path / "big.parquet")
    err = _signalled(child, lambda: os.kill(jvm, signal.SIGKILL))
    assert child.returncode == 2, err
    assert err.splitlines() == [
        f"mlcourse data: error: Spark's Java process (pid {jvm}) was killed by signal 9 "
        "(SIGKILL): most often the system's out-of-memory killer or a memory limit (dmesg, "
        "or the container's events, say which); give Spark less to hold at once (fewer "
        "events, a smaller spark.driver.memory) or the machine more memory. Run the "
        "command again."
    ]  # was "mlcourse data: error: Connection refused."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]
    assert not list(scratch_root().glob(f"{child.pid}-*"))


def test_no_jvm_outlives_a_command_that_fails(tmp_path):
    """A conversion that fails (a malformed row) ends its JVM before it exits: nothing
    runs on with the command's settings once the shell prompt is back."""
    src = tmp_path / "bad.csv"
    src.write_text("1.0," + ",".join(["0.5"] * 27) + "\n")  # 28 fields, not 29
    marker = str(tmp_path / "data")
    env = {**os.environ, "MLCOURSE_DATA_DIR": marker}  # on the JVM's command line
    command = [sys.executable, "-m", "mlcourse", "data", "convert", str(src), str(tmp_path / "o")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "line 1" in done.stderr and len(done.stderr.splitlines()) == 1
    assert processes_naming(marker) == []


DEAD_DRIVER = textwrap.dedent(
    """
    import os, signal
    import mlcourse
    from mlcourse.runtime.driver import driver_process, scratch_root

    spark = mlcourse.get_spark("local")
    df = mlcourse.synthesize_higgs(spark, 1000, seed=1)
    old = driver_process()
    os.kill(old.pid, signal.SIGKILL)  # the out-of-memory killer
    old.wait()
    try:
        mlcourse.signal_background_hist(df, "m_bb")
    except Exception as exc:
        print(type(exc).__name__, exc)
    spark = mlcourse.get_spark("local")  # a new session, in a new JVM
    print(mlcourse.synthesize_higgs(spark, 1000, seed=1).count(), driver_process().pid != old.pid)
    print(sorted(p.name.split("-")[1] for p in scratch_root().glob(f"{os.getpid()}-*")))
    """
)


def test_a_notebook_whose_driver_died_is_told_and_gets_a_new_session(tmp_path):
    script = tmp_path / "dead.py"
    script.write_text(DEAD_DRIVER)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(
        r"JavaError Spark's Java process \(pid \d+\) was killed by signal 9 \(SIGKILL\): .*"
        r"Start again from get_spark\(\) \(or %spark\): it starts a new session, in which "
        r"DataFrames of the old one must be made again\.",
        lines[0],
    )
    assert lines[1] == "1000 True"
    assert lines[2] == "['1']"  # the dead driver's folder (0) is gone; the new one's is there
    assert "The next session starts a new one." in done.stderr


HOLD = textwrap.dedent(
    """
    import os, sys, time
    import mlcourse
    from mlcourse.runtime.driver import driver_process

    spark = mlcourse.get_spark("local")
    spark.range(1000).repartition(3).count()  # blocks and shuffle files in its folder
    print(os.getpid(), driver_process().pid, flush=True)
    time.sleep(600)
    """
)


def test_the_scratch_folder_of_a_killed_process_goes_at_the_next_start(tmp_path):
    """kill -9 of the Python process and its JVM alike (a kernel killed by a memory limit):
    their folder stays until the next driver starts, which removes it."""
    script = tmp_path / "hold.py"
    script.write_text(HOLD)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        python_pid, jvm_pid = map(int, proc.stdout.readline().split())
        (folder,) = scratch_root().glob(f"{python_pid}-*")
        assert any(folder.glob("blockmgr-*"))
        os.kill(jvm_pid, signal.SIGKILL)
        os.kill(python_pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert folder.is_dir()
    assert folder in clean_stale_scratch()  # what the next start does first
    assert not folder.exists()
