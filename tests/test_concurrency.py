"""Two processes making one data set at once (issue 38, item 3): the second waits for the
first and reuses its result; a lock never outlives its owner; nothing is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlcourse.data.locks import lock_path, making

from .test_interrupts import processes_naming

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


def _clean(folder: Path) -> list[str]:
    """What is in ``folder``, hidden names included (locks, temporary datasets)."""
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.processes
def test_two_data_prepare_at_once_both_succeed(tmp_path):
    """Before: the second failed with '...parquet appeared while converting; nothing was
    changed' although the data set it asked for was there and complete."""
    data = tmp_path / "data"
    env = {**os.environ, "MLCOURSE_DATA_DIR": str(data)}
    command = [sys.executable, "-m", "mlcourse", "data", "prepare", "--events", "20k"]
    command += ["--source", "synthetic"]
    both = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(*p.communicate(), p.returncode) for p in both]
    dataset = data / "higgs-synthetic-20k-seed0.parquet"
    for out, err, status in results:
        assert status == 0, err
        assert out == f"20,000 synthetic HIGGS events ready as Parquet in {dataset}\n"
    # one waited for the other (or found the data set made), and said so at most once
    assert sum("waiting for process" in err for _, err, _ in results) <= 1
    assert _clean(data) == [dataset.name]
    assert processes_naming(str(data)) == []


TWO_KERNELS = textwrap.dedent(
    """
    import mlcourse
    spark = mlcourse.get_spark("local")
    df = mlcourse.load_higgs(spark, 20_000, source="synthetic")
    print(df.count(), mlcourse.source_of(df), flush=True)
    """
)


@pytest.mark.processes
def test_load_higgs_from_two_kernels_on_one_data_folder(tmp_path):
    """Two notebooks on a hub, one data folder: both get the same 20,000 events."""
    from jupyter_client.manager import start_new_kernel

    data = tmp_path / "data"
    env = {**os.environ, "MLCOURSE_DATA_DIR": str(data)}
    kernels = [start_new_kernel(kernel_name="python3", env=env) for _ in range(2)]
    try:
        ids = [client.execute(TWO_KERNELS) for _, client in kernels]
        outputs = []
        for (_, client), msg_id in zip(kernels, ids, strict=True):
            text, status = "", None
            while status != "idle":
                msg = client.get_iopub_msg()
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream" and content["name"] == "stdout":
                    text += content["text"]
                elif kind == "error":
                    text += "\n".join(content["traceback"])
                elif kind == "status":
                    status = content["execution_state"]
            outputs.append(text)
    finally:
        for manager, client in kernels:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    assert outputs == ["20000 synthetic\n", "20000 synthetic\n"]
    assert _clean(data) == ["higgs-synthetic-20k-seed0.parquet"]
    assert processes_naming(str(data)) == []


@pytest.mark.processes
def test_two_demos_into_one_folder_both_succeed(tmp_path):
    """Before: one failed with '....csv.tmp -> ....csv: no such file or folder' (one fixed
    temporary name for the CSV both wrote)."""
    out = tmp_path / "same"
    command = [sys.executable, "-m", "mlcourse", "demo", "--events", "2000", "--out", str(out)]
    both = [
        subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(*p.communicate(), p.returncode) for p in both]
    for stdout, err, status in results:
        assert status == 0, err
        assert "GBT classifier: AUC" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["events"] == 2000
    assert not [p for p in out.rglob("*") if ".lock" in p.name or "mlcourse-tmp" in p.name]
    assert processes_naming(str(out)) == []
