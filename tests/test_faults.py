"""Nothing lost, every error clear: the cases of issue 16, each with real Spark and files.

Every data-loss case checks that the input is still there, byte for byte.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from mlcourse import DataError, csv_to_parquet
from mlcourse.cli import main
from mlcourse.runtime.standalone import free_port

from .test_java import fake_java


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def data_folder(higgs_files, tmp_path) -> Path:
    """A student's data folder: the CSV and other files of theirs."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(higgs_files.uci, folder / "higgs.csv.gz")
    (folder / "notes.txt").write_text("my notes\n")
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_overwrite_never_replaces_the_folder_holding_the_input(spark, data_folder, capsys):
    before = snapshot(data_folder)
    src = str(data_folder / "higgs.csv.gz")
    code = main(["data", "convert", src, str(data_folder), "--overwrite"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("mlcourse data: error: the destination") and "holds the input" in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(data_folder) == before
    # not even with --force
    assert main(["data", "convert", src, str(data_folder), "--overwrite", "--force"]) == 2
    assert snapshot(data_folder) == before


def test_overwrite_never_replaces_the_input_itself(spark, data_folder, capsys):
    before = snapshot(data_folder)
    src = str(data_folder / "higgs.csv.gz")
    assert main(["data", "convert", src, src, "--overwrite"]) == 2
    assert "is the input" in capsys.readouterr().err
    assert snapshot(data_folder) == before


@pytest.mark.parametrize("force", [False, True], ids=["overwrite", "overwrite-force"])
@pytest.mark.parametrize("link", ["symlinked-folder", "symlink", "hard-link", "folder-link"])
def test_the_input_is_never_replaced_through_a_link(
    spark, tmp_path, higgs_files, capsys, link, force
):
    """A hub's home folder is full of symlinks (~/data -> /shared/course/data): whatever
    path leads to the input, it is refused as the input, and --force changes nothing."""
    data = tmp_path / "data"
    data.mkdir()
    src = data / "higgs.csv.gz"
    src.write_bytes(higgs_files.uci_gz)
    (tmp_path / "d2").symlink_to("data")
    dest, reason = {
        "symlinked-folder": (tmp_path / "d2" / "higgs.csv.gz", "is the input"),
        "symlink": (tmp_path / "alias.csv.gz", "is the input"),
        "hard-link": (tmp_path / "copy.csv.gz", "is the input"),
        "folder-link": (tmp_path / "d2", "holds the input"),
    }[link]
    if link == "symlink":
        dest.symlink_to(src)
    elif link == "hard-link":
        dest.hardlink_to(src)
    before = snapshot(tmp_path)
    code = main(["data", "convert", str(src), str(dest), "--overwrite", *(["--force"] * force)])
    err = capsys.readouterr().err
    assert code == 2
    (line,) = err.strip().splitlines()
    assert f"the destination {dest} {reason} {src}" in line, line
    via = "a hard link of it" if link == "hard-link" else "through the symlink "
    assert via in line and "not --force" in line
    assert snapshot(tmp_path) == before  # every byte where it was
    assert sorted(p.name for p in data.iterdir()) == ["higgs.csv.gz"]


@pytest.mark.parametrize(
    ("name", "chars", "suggested"),
    [("higgs[1].parquet", "[ ]", "higgs_1_.parquet"), ("run:2.parquet", ":", "run_2.parquet")],
)
def test_a_dataset_name_spark_reads_as_a_pattern_is_refused(
    spark, tmp_path, higgs_files, capsys, monkeypatch, name, chars, suggested
):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    assert main(["data", "convert", str(higgs_files.uci), name]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"mlcourse data: error: {tmp_path / name}: Spark reads {chars} in a")
    assert f"e.g. {suggested}" in line
    assert snapshot(tmp_path) == before


def test_overwrite_never_replaces_the_current_or_home_folder(
    spark, data_folder, tmp_path, monkeypatch
):
    before = snapshot(data_folder)
    monkeypatch.chdir(data_folder)
    with pytest.raises(DataError, match="holds the input"):
        csv_to_parquet(spark, "higgs.csv.gz", ".", overwrite=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "thesis.tex").write_text("chapter 1\n")
    monkeypatch.chdir(elsewhere)
    with pytest.raises(DataError, match="is the current folder"):
        csv_to_parquet(spark, str(data_folder / "higgs.csv.gz"), ".", overwrite=True, force=True)
    monkeypatch.setenv("HOME", str(elsewhere))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="your home folder"):
        csv_to_parquet(spark, str(data_folder / "higgs.csv.gz"), str(elsewhere), overwrite=True)
    assert (elsewhere / "thesis.tex").read_text() == "chapter 1\n"
    assert snapshot(data_folder) == before


def test_overwrite_replaces_datasets_only_unless_forced(spark, data_folder, tmp_path):
    src = str(data_folder / "higgs.csv.gz")
    mine = tmp_path / "results"
    mine.mkdir()
    (mine / "plot.png").write_bytes(b"\x89PNG")
    with pytest.raises(DataError, match="not a dataset mlcourse or Spark wrote.*--force"):
        csv_to_parquet(spark, src, str(mine), overwrite=True)
    assert (mine / "plot.png").read_bytes() == b"\x89PNG"
    # a dataset mlcourse wrote carries its marker and is replaced with --overwrite alone
    dataset = tmp_path / "higgs.parquet"
    csv_to_parquet(spark, src, str(dataset))
    assert (dataset / "_MLCOURSE").read_text().startswith("written by mlcourse")
    assert csv_to_parquet(spark, src, str(dataset), overwrite=True).rows == 5000
    # a plain Spark output (no marker) too
    spark.range(3).write.parquet(str(tmp_path / "spark.parquet"))
    assert csv_to_parquet(spark, src, str(tmp_path / "spark.parquet"), overwrite=True).rows == 5000
    # and any folder with force
    assert csv_to_parquet(spark, src, str(mine), overwrite=True, force=True).rows == 5000
    assert not (mine / "plot.png").exists()


@pytest.mark.parametrize("engine", ["arrow", "spark"])
@pytest.mark.parametrize("bad", ["nan", "inf", "-Inf", "NaN"])
def test_non_finite_values_are_refused_by_both_engines(spark, higgs_files, tmp_path, engine, bad):
    lines = higgs_files.course_lines
    fields = lines[3].split(",")
    fields[5] = bad  # line 4 of the file, the 6th column
    src = tmp_path / "h.csv"
    src.write_text("\n".join([*lines[:3], ",".join(fields), *lines[4:50]]) + "\n")
    column = lines[0].split(",")[5]
    with pytest.raises(DataError) as info:
        csv_to_parquet(spark, str(src), str(tmp_path / "out.parquet"), engine=engine)
    assert str(info.value).startswith(f"{src}, line 4, column {column}: not a finite number")
    assert not (tmp_path / "out.parquet").exists()


def test_classes_other_than_0_and_1_are_an_error_in_the_metrics(spark):
    from mlcourse import classification_report, roc_curve

    rows = [(0.0, 0.0, 0.1), (1.0, 1.0, 0.9), (2.0, 1.0, 0.8), (None, 0.0, 0.2)]
    df = spark.createDataFrame(rows, "label double, prediction double, score double")
    with pytest.raises(DataError, match=r"1 with label 2, 1 with label None"):
        roc_curve(df, score_col="score")
    with pytest.raises(DataError, match="classes must be 0"):
        classification_report(df, score_col="score")
    good = df.where("label in (0, 1)")
    assert classification_report(good, score_col="score").events == 2


def test_null_columns_are_named(spark):
    from mlcourse import assemble_features, signal_background_hist

    df = spark.createDataFrame(
        [(0.0, 1.0, None), (1.0, 2.0, None)], "label double, m_bb double, m_jj double"
    )
    with pytest.raises(DataError, match=r"^m_jj is NaN or null in 2 events: drop the events"):
        signal_background_hist(df, "m_jj", bins=3, range=(0, 3))
    vectors = assemble_features(df, ["m_bb", "m_jj"])
    with pytest.raises(Exception, match="mlcourse data check: m_jj is null in an event") as info:
        vectors.collect()
    assert len(str(info.value).splitlines()) < 10  # the message, not pages of Java stack


def test_a_utf8_byte_order_mark_is_read(spark, higgs_files, tmp_path):
    """Excel's "CSV UTF-8" starts the file with a byte-order mark: valid UTF-8, accepted."""
    lines = higgs_files.course_lines[:101]
    for form, text in (("course", "\n".join(lines)), ("uci", "\n".join(lines[1:]))):
        src = tmp_path / f"{form}.csv"
        src.write_bytes(b"\xef\xbb\xbf" + text.encode() + b"\n")
        result = csv_to_parquet(spark, str(src), str(tmp_path / f"{form}.parquet"))
        assert result.rows == 100 and result.form == form


def test_compression_is_told_by_the_bytes_not_the_name(spark, higgs_files, tmp_path):
    import bz2
    import gzip

    text = "\n".join(higgs_files.course_lines[:51]) + "\n"
    shouting = tmp_path / "HIGGS.CSV.GZ"
    shouting.write_bytes(gzip.compress(text.encode()))
    assert csv_to_parquet(spark, str(shouting), str(tmp_path / "a.parquet")).rows == 50
    unnamed = tmp_path / "events.csv"  # gzip bytes, plain name
    unnamed.write_bytes(gzip.compress(text.encode()))
    assert csv_to_parquet(spark, str(unnamed), str(tmp_path / "b.parquet")).rows == 50
    packed = tmp_path / "higgs.csv.bz2"
    packed.write_bytes(bz2.compress(text.encode()))
    with pytest.raises(DataError, match=r"is bzip2-compressed.*bunzip2 higgs.csv.bz2"):
        csv_to_parquet(spark, str(packed), str(tmp_path / "c.parquet"))
    with pytest.raises(DataError, match="is a Parquet dataset, not a CSV file"):
        csv_to_parquet(spark, str(tmp_path / "a.parquet"), str(tmp_path / "d.parquet"))
    part = next((tmp_path / "a.parquet").glob("part-*.parquet"))
    with pytest.raises(DataError, match="is a Parquet file, not a CSV file"):
        csv_to_parquet(spark, str(part), str(tmp_path / "e.parquet"))
    assert not any((tmp_path / n).exists() for n in ("c.parquet", "d.parquet", "e.parquet"))


def test_a_stalled_server_is_given_up_quickly(server_files, tmp_path):
    import inspect
    import time

    from mlcourse import DownloadError, fetch_higgs

    from .httpserver import FaultServer

    defaults = inspect.signature(fetch_higgs).parameters
    assert defaults["stall"].default + defaults["timeout"].default < 60  # well under a minute
    # The server hangs until the test ends, so only the client's stall limit (2 s here,
    # 0.5 s per read) can end the download. Normally that takes about 3 s; the bound below
    # tells a download that never gives up, and holds on a loaded machine.
    with FaultServer(server_files) as server:
        start = time.monotonic()
        with pytest.raises(DownloadError, match=r"no data for \d+ s \(the server stalled") as info:
            fetch_higgs(
                5000,
                tmp_path / "h.csv",
                url=server.url("hang", "HIGGS.csv.gz"),
                timeout=0.5,
                stall=2.0,
                backoff=0.1,
                quiet=True,
            )
        assert time.monotonic() - start < 60, "the stall limit was not honoured"
        silent = int(str(info.value).split("no data for ")[1].split()[0])
        assert 2 <= silent < 60  # given up once the limit set here (2 s) had passed
        hangs = [path for path, _ in server.requests if path.startswith("/hang/")]
        assert len(hangs) >= 2  # it reconnected, and the stall counted across reconnections
        assert all(r is not None for _, r in server.requests[1:])  # resumed, not restarted
    assert not list(tmp_path.iterdir())  # no partial file


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://no-such-host.invalid/HIGGS.csv.gz", "cannot find the host 'no-such-host.invalid'"),
        ("htp://archive.ics.uci.edu/HIGGS.csv.gz", "use an http"),
    ],
)
def test_a_url_typo_is_not_retried(tmp_path, url, message, monkeypatch):
    import urllib.request

    from mlcourse import DownloadError, fetch_higgs

    attempts = []
    real_urlopen = urllib.request.urlopen

    def counted(*args, **kwargs):  # the real urlopen, counted
        attempts.append(args[0])
        return real_urlopen(*args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", counted)
    with pytest.raises(DownloadError, match=message):
        fetch_higgs(100, tmp_path / "h.csv", url=url, quiet=True, backoff=600.0)
    assert len(attempts) == 1  # one try: no retries (a retry would first wait 600 s)
    assert not list(tmp_path.iterdir())


@pytest.fixture
def server_files(higgs_files) -> dict[str, bytes]:
    return {"HIGGS.csv.gz": higgs_files.uci_gz}


def _mount_tmpfs(folder: Path, *options: str) -> bool:
    """A small tmpfs at ``folder`` when this process may mount one (root in CI)."""
    import subprocess

    folder.mkdir()
    opts = ",".join(options)
    run = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(folder)], capture_output=True, check=False
    )
    return run.returncode == 0


def _unmount(folder: Path) -> None:
    """Unmount, lazily if the JVM still holds a file there (it lets go when it closes it)."""
    import subprocess

    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


@pytest.fixture
def tiny_disk(tmp_path):

    folder = tmp_path / "tiny"
    if not _mount_tmpfs(folder, "size=256k"):
        pytest.skip("cannot mount a tmpfs here (needs root); the permission case still runs")
    yield folder
    _unmount(folder)


def test_disk_full_is_one_clear_line(spark, higgs_files, tiny_disk, capsys):
    before = digest(higgs_files.uci)
    code = main(["data", "convert", str(higgs_files.uci), str(tiny_disk / "h.parquet")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        f"mlcourse data: error: cannot write {tiny_disk / 'h.parquet'}: the disk is full; free "
        "some space, or write to another disk. Nothing was written."
    )
    assert list(tiny_disk.iterdir()) == []  # no temporary dataset left on the full disk
    assert digest(higgs_files.uci) == before


@pytest.fixture
def read_only(tmp_path):
    import os

    folder = tmp_path / "ro"
    mounted = os.geteuid() == 0 and _mount_tmpfs(folder, "size=64k", "ro")
    if not mounted:  # an unprivileged user: a folder without write permission
        folder.mkdir(exist_ok=True)
        folder.chmod(0o555)
    yield folder
    if mounted:
        _unmount(folder)
    else:
        folder.chmod(0o755)


def test_a_read_only_destination_is_one_clear_line(spark, higgs_files, read_only):
    with pytest.raises(
        DataError,
        match=r"^cannot write .*: (the folder cannot be created|no "
        r"permission|the file system is read-only)",
    ) as info:
        csv_to_parquet(spark, str(higgs_files.uci), str(read_only / "h.parquet"))
    assert "\n" not in str(info.value)


def test_a_destination_under_a_file_is_one_clear_line(spark, higgs_files, tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(DataError, match="a part of the path is a file, not a folder"):
        csv_to_parquet(spark, str(higgs_files.uci), str(tmp_path / "notes.txt" / "h.parquet"))
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_an_unreachable_hdfs_host_is_one_clear_line(spark, higgs_files):
    with pytest.raises(
        DataError,
        match="cannot write hdfs://no-such-namenode.invalid:8020/x: the"
        " file system's host is unknown",
    ):
        csv_to_parquet(spark, str(higgs_files.uci), "hdfs://no-such-namenode.invalid:8020/x")


def _mlcourse(*args: str, env: dict[str, str], timeout: float = 60):
    """The `mlcourse` command in a fresh process (no JVM yet), as a student runs it."""
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "mlcourse.cli", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **env}
    )


def _fake_java(folder: Path, on_launch: str) -> Path:
    """A JAVA_HOME whose java answers ``-version`` as Java 17 does; any other call (a JVM
    launch) runs the shell lines ``on_launch``, then fails."""
    home = folder / "jdk"
    fake_java(home, 'openjdk version "17.0.9" 2023-10-17', on_launch=on_launch)
    return home


def _recording_java(folder: Path) -> tuple[Path, Path]:
    """A fake java that records a JVM launch in a marker file: the JAVA_HOME, the marker."""
    marker = folder / "jvm-launched"
    return _fake_java(folder, f"echo \"$*\" > '{marker}'\n"), marker


def test_a_master_that_does_not_answer_fails_before_the_jvm_starts(tmp_path):
    """Spark itself would retry the master for about a minute; mlcourse refuses before it
    launches the driver JVM at all (the recording java shows no launch)."""
    home, marker = _recording_java(tmp_path)
    master = f"spark://127.0.0.1:{free_port()}"
    run = _mlcourse(
        "demo",
        "--events",
        "1k",
        "--out",
        str(tmp_path / "o"),
        env={"MLCOURSE_PROFILE": "standalone", "MLCOURSE_MASTER": master, "JAVA_HOME": str(home)},
    )
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"mlcourse demo: error: the Spark master {master} does not answer")
    assert "Check that the cluster is running" in line
    assert not marker.exists()  # no JVM was launched, so no minute of Spark's own retries
    assert not (tmp_path / "o").exists()


def test_a_demo_too_large_for_this_machine_is_refused_before_any_work(tmp_path):
    """10⁹ events would be built in memory for minutes before failing; the check comes
    before the JVM and before anything is written."""
    home, marker = _recording_java(tmp_path)
    out = tmp_path / "d"
    run = _mlcourse("demo", "--events", "1000M", "--out", str(out), env={"JAVA_HOME": str(home)})
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("mlcourse demo: error: 1,000,000,000 events need about ")
    assert "nothing was started. Ask for at most about " in line and "--events " in line
    assert not marker.exists() and not out.exists()


def test_a_bad_local_master_is_one_line_before_the_jvm_starts(tmp_path):
    home, marker = _recording_java(tmp_path)
    out = tmp_path / "o"
    env = {"MLCOURSE_MASTER": "local[two]", "JAVA_HOME": str(home)}
    run = _mlcourse("demo", "--events", "100", "--out", str(out), env=env)
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("mlcourse demo: error: master 'local[two]' (env MLCOURSE_MASTER)")
    assert not marker.exists() and not out.exists()


def test_a_memory_size_is_checked_before_the_jvm_starts(tmp_path):
    config = tmp_path / "mlcourse.toml"
    config.write_text('[profiles.local]\n"spark.driver.memory" = "lots"\n')
    run = _mlcourse("demo", "--events", "1k", env={"MLCOURSE_CONFIG": str(config)}, timeout=30)
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert "spark.driver.memory = 'lots'" in line and "is not a size" in line
    assert str(config) in line  # where the value came from


def test_java_home_pointing_nowhere_says_so(tmp_path):
    run = _mlcourse("demo", env={"JAVA_HOME": str(tmp_path / "nonexistent")}, timeout=30)
    assert run.returncode == 2
    first = run.stderr.strip().splitlines()[0]
    assert f"JAVA_HOME is {tmp_path / 'nonexistent'}, which holds no bin/java" in first
    assert "JAVA_HOME is not set" not in run.stderr


def test_a_java_that_cannot_start_spark_shows_its_own_words(tmp_path):
    """`java -version` works, starting the JVM does not (a broken installation)."""
    home = _fake_java(
        tmp_path,
        "echo 'Error occurred during initialization of VM' >&2\n"
        "echo 'Could not reserve enough space for object heap' >&2\n",
    )
    run = _mlcourse(
        "demo",
        "--events",
        "1k",
        "--out",
        str(tmp_path / "o"),
        env={"JAVA_HOME": str(home)},
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("mlcourse demo: error: Java started but could not start Spark")
    assert "Could not reserve enough space for object heap" in run.stderr
    assert "Traceback" not in run.stderr and "Py4J" not in run.stderr


SLOW_WRITE = """
import sys, time
import mlcourse
from mlcourse.data.parquet import write_parquet_atomic

spark = mlcourse.get_spark("local", workers=1, spark_ui_enabled="false")
print("jvm", spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid(), flush=True)

def slow(batches):
    for batch in batches:
        time.sleep(120)  # long enough to be killed in the middle of the write
        yield batch

df = spark.range(10).mapInPandas(slow, "id long")
write_parquet_atomic(df, sys.argv[1])
"""


@pytest.mark.processes
def test_a_killed_conversion_leaves_nothing_the_next_run_does_not_sweep(
    spark, higgs_files, tmp_path
):
    """What the OOM killer does to a kernel: the Python process and the JVM of a
    conversion both die mid-write (when the JVM alone dies, the Python process removes the
    hidden temporary dataset itself: tests/test_interrupts.py). What they leave is removed
    by the next write beside it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    dest = tmp_path / "higgs.parquet"
    script = tmp_path / "slow.py"
    script.write_text(SLOW_WRITE)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(dest)], stdout=subprocess.PIPE, text=True
    )
    try:
        jvm_pid = int(proc.stdout.readline().split()[1])
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".higgs.parquet.mlcourse-tmp-*")):
            assert time.monotonic() < deadline, "the write never started"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)  # that Python process and its JVM, not this run
        os.kill(jvm_pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    (leftover,) = tmp_path.glob(".higgs.parquet.mlcourse-tmp-*")
    assert f"-{jvm_pid}-" in leftover.name
    assert csv_to_parquet(spark, str(higgs_files.uci), str(dest)).rows == 5000
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "slow.py") == ["higgs.parquet"]


@pytest.mark.processes
def test_sigterm_ends_a_conversion_as_ctrl_c_does(higgs_files, tmp_path):
    """A hub culls an idle server with SIGTERM: the CLI's conversion stops, says so and
    exits 143, and leaves no dataset, half or hidden, beside the untouched input."""
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "big.csv"
    rows = gzip.decompress(higgs_files.uci_gz)
    src.write_bytes(rows * 60)  # 300k events: a conversion of several seconds
    before = digest(src)
    dest = tmp_path / "big.parquet"
    command = [sys.executable, "-m", "mlcourse", "data", "convert", str(src), str(dest)]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".big.parquet.mlcourse-tmp-*")):
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "the write never started"
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 143, err
    assert err.strip().splitlines()[-1] == "mlcourse data: stopped by SIGTERM"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]
    assert digest(src) == before


def test_data_info_on_a_csv_or_an_empty_folder(spark, higgs_files, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for path, message in (
        (higgs_files.uci, "is a file, not a Parquet dataset; for a CSV, convert it first"),
        (empty, "holds no Parquet files"),
    ):
        assert main(["data", "info", str(path)]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("mlcourse data: error: ") and message in line


def test_notebooks_build_on_a_missing_folder_or_a_broken_notebook(tmp_path, capsys):
    assert main(["notebooks", "build", str(tmp_path / "nowhere")]) == 2
    assert "no such folder of source notebooks" in capsys.readouterr().err
    (tmp_path / "day9.ipynb").write_text('{"cells": [\n  {"cell_type": "code",,}\n]}\n')
    assert main(["notebooks", "build", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"{tmp_path / 'day9.ipynb'}, line 2, column 24: not valid notebook JSON" in line
    # --debug shows the whole trace instead
    with pytest.raises(DataError):
        main(["--debug", "notebooks", "build", str(tmp_path)])


@pytest.mark.parametrize("engine", ["arrow", "spark"])
def test_a_corrupt_gzip_file_is_named_as_such(spark, higgs_files, tmp_path, engine):
    """Corrupt gzip data decompress to garbage lines before the checksum fails: the error
    blames the file, not a row of garbage."""
    data = bytearray(higgs_files.uci_gz)
    middle = len(data) // 2
    for i in range(middle, middle + 40):
        data[i] ^= 0xFF
    src = tmp_path / "higgs.csv.gz"
    src.write_bytes(bytes(data))
    with pytest.raises(DataError, match="is a corrupt gzip file .*fetch it again"):
        csv_to_parquet(spark, str(src), str(tmp_path / "out.parquet"), engine=engine)
    assert not (tmp_path / "out.parquet").exists()


def test_fetch_into_a_folder_uses_the_standard_name(higgs_files, tmp_path, capsys):
    from .httpserver import FaultServer

    with FaultServer({"HIGGS.csv.gz": higgs_files.uci_gz}) as server:
        url = server.url("ok", "HIGGS.csv.gz")
        assert (
            main(
                [
                    "data",
                    "fetch",
                    "--events",
                    "2k",
                    "--dest",
                    str(tmp_path),
                    "--url",
                    url,
                    "--quiet",
                ]
            )
            == 0
        )
    path = tmp_path / "higgs-2k.csv"
    assert capsys.readouterr().out.strip() == str(path)
    assert len(path.read_text().splitlines()) == 2000


def test_a_read_only_data_folder_is_not_called_missing(spark, read_only):
    from mlcourse import load_higgs

    with pytest.raises(
        DataError,
        match=r"the data directory .*ro/data cannot be used: cannot "
        r"create .*\(read-only, or no permission\)",
    ):
        load_higgs(spark, "1k", source="synthetic", data_dir=str(read_only / "data"))


def test_prepare_of_ready_data_starts_no_jvm(tmp_path):
    """Binder's postBuild runs `mlcourse data prepare` at every build: once the data are
    there it answers from the Parquet footers, and never launches Java (a recording java)."""
    import mlcourse
    from mlcourse.data.sizes import parquet_name

    data = tmp_path / "data"
    frame = mlcourse.synthetic_events(2_000, seed=0)
    real, synthetic = data / parquet_name(1_500, "real"), data / parquet_name(1_500, "synthetic", 0)
    for folder, rows in ((real, 1_500), (synthetic, 1_500)):
        folder.mkdir(parents=True)
        frame[:rows].to_parquet(folder / "part-00000.parquet")
        (folder / "_SUCCESS").write_text("")
    home, marker = _recording_java(tmp_path)
    env = {"MLCOURSE_DATA_DIR": str(data), "JAVA_HOME": str(home)}
    for source, path in (("auto", real), ("real", real), ("synthetic", synthetic)):
        run = _mlcourse("data", "prepare", "--events", "1500", "--source", source, env=env)
        assert run.returncode == 0, run.stderr
        kind = "synthetic" if path == synthetic else "real"
        assert run.stdout.strip() == f"1,500 {kind} HIGGS events ready as Parquet in {path}"
    assert not marker.exists()  # no JVM was launched


# --- file-system errors of the commands that need no Spark: one line each (issue 21) ---


@pytest.mark.parametrize("place", ["tiny_disk", "read_only"])
def test_a_download_onto_a_full_or_read_only_disk_is_one_line(higgs_files, capsys, request, place):
    folder = request.getfixturevalue(place)
    dest = folder / "higgs-5k.csv"
    url = str(higgs_files.uci)  # a local mirror: the failure is the destination's alone
    assert main(["data", "fetch", "--events", "5000", "--dest", str(dest), "--url", url]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    reason = {
        "tiny_disk": "no space left on the disk that holds it",
        "read_only": "(the file system there is read-only|you may not read or write there)",
    }[place]
    assert re.fullmatch(rf"mlcourse data: error: {re.escape(str(dest))}\.part: {reason}.*\.", line)
    assert list(folder.iterdir()) == []  # no partial file


def test_notebooks_get_onto_a_file_or_into_a_read_only_folder(tmp_path, read_only, capsys):
    mine = tmp_path / "notes.txt"
    mine.write_text("my notes\n")
    assert main(["notebooks", "get", str(mine)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"mlcourse notebooks: error: {mine} is a file, not a folder: name a folder for the "
        "notebooks (it is created when missing), e.g. mlcourse-notebooks."
    )
    assert mine.read_text() == "my notes\n"
    assert main(["notebooks", "get", str(read_only / "course")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"mlcourse notebooks: error: {read_only / 'course'}: ")
    assert "read-only" in line or "you may not read or write there" in line


def test_notebooks_get_goes_past_a_folder_named_like_a_notebook(tmp_path, capsys):
    from mlcourse.course.notebooks import packaged_notebooks

    names = sorted(p.name for p in packaged_notebooks().glob("*.ipynb"))
    course = tmp_path / "course"
    (course / names[0]).mkdir(parents=True)  # say, an unzipped download
    assert main(["notebooks", "get", str(course)]) == 1
    out = capsys.readouterr().out
    assert f"not copied {course / names[0]}: that name is taken by a folder" in out
    assert all((course / name).is_file() for name in names[1:])  # the rest were copied


def test_notebooks_build_of_a_latin1_notebook_and_into_its_own_folder(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "day9.ipynb").write_bytes(
        b'{"cells": [], "metadata": {"author": "Andr\xe9"}, "nbformat": 4, "nbformat_minor": 5}\n'
    )
    assert main(["notebooks", "build", str(folder)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        f"mlcourse notebooks: error: {folder / 'day9.ipynb'}, line 1, column 43: byte 0xe9 "
        "is not UTF-8, the encoding a notebook must have"
    )
    (folder / "day9.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4}\n')
    (folder / "student").symlink_to(".")  # the student versions would replace the sources
    before = snapshot(folder)
    assert main(["notebooks", "build", str(folder)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"the destination {folder / 'student'} is the input {folder}" in line
    assert "through the symlink" in line
    assert snapshot(folder) == before


def _one_line(capsys) -> str:
    (line,) = capsys.readouterr().err.strip().splitlines()
    return line


def test_misleading_one_liners_now_say_what_is_wrong(spark, tmp_path, higgs_files, capsys):
    """Each of these used to be refused for a wrong reason (issue 21, part 5)."""
    rows = gzip.decompress(higgs_files.uci_gz).decode().splitlines()[:50]
    semicolons = tmp_path / "h.csv"
    semicolons.write_text("".join(row.replace(",", ";") + "\n" for row in rows))
    assert main(["data", "convert", str(semicolons), str(tmp_path / "h.parquet")]) == 2
    assert _one_line(capsys) == (
        f"mlcourse data: error: {semicolons}, line 1: the values are separated by ';', not "
        "commas. mlcourse reads comma-separated HIGGS files: convert the separators first, "
        "e.g. sed 's/;/,/g' (tr '\\t' ',' for tabs), or export the file again as CSV."
    )
    assert main(["data", "convert", str(higgs_files.uci), ""]) == 2
    assert _one_line(capsys) == (
        "mlcourse data: error: the destination is empty: name a dataset to write, "
        "e.g. higgs.parquet."
    )
    empty = tmp_path / "empty.csv.gz"
    empty.write_bytes(b"")
    assert main(["data", "convert", str(empty), str(tmp_path / "e.parquet")]) == 2
    assert _one_line(capsys).endswith(
        f"{empty} is empty (0 bytes): a download or copy that "
        "never wrote anything. Delete it and fetch it again."
    )
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(rows) + "\n")
    dest = tmp_path / "got.csv"
    assert main(["data", "fetch", "--events", "10", "--url", str(plain), "--dest", str(dest)]) == 2
    assert _one_line(capsys) == (
        f"mlcourse data: error: {plain} is a plain (uncompressed) CSV file of events, not "
        f"HIGGS.csv.gz: it needs no download. Convert it as it is: mlcourse data convert "
        f"{plain} higgs.parquet."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.csv.gz", "h.csv", "plain.csv"]


def test_an_unreachable_name_node_is_one_line(spark, capsys, tmp_path):
    src = f"hdfs://127.0.0.1:{free_port()}/higgs.csv"
    assert main(["data", "convert", src, str(tmp_path / "h.parquet")]) == 2
    assert _one_line(capsys) == (
        f"mlcourse data: error: cannot read {src}: the file system's host does not answer; "
        "check that it is running."
    )


def test_a_data_folder_with_a_space_is_printed_as_a_path_not_a_uri(
    spark, tmp_path, capsys, monkeypatch
):
    data = tmp_path / "my data"
    monkeypatch.setenv("MLCOURSE_DATA_DIR", str(data))
    assert main(["data", "prepare", "--events", "1000", "--source", "synthetic"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("1,000 synthetic HIGGS events ready as Parquet in ")
    assert out.endswith(f" in {data / 'higgs-synthetic-1k-seed0.parquet'}") and "%20" not in out
