"""Downloads against a real HTTP server on 127.0.0.1, with injected faults."""

from __future__ import annotations

import gzip
import hashlib
import json
import signal
import subprocess
import sys
import time
import zlib
from urllib.parse import urlparse

import pytest

from mlcourse import DownloadError, fetch_higgs

from .httpserver import DROP_AFTER, FaultServer

FAST = {"backoff": 0.01, "quiet": True}


@pytest.fixture(scope="module")
def uci_gz(higgs_files) -> bytes:
    return higgs_files.uci_gz


@pytest.fixture(scope="module")
def uci_lines(uci_gz) -> list[bytes]:
    return gzip.decompress(uci_gz).splitlines()


@pytest.fixture
def server(uci_gz):
    truncated = uci_gz[: len(uci_gz) // 2]
    # The same events as two gzip members, as some mirrors (and pigz) write them.
    text = gzip.decompress(uci_gz)
    half = text.index(b"\n", len(text) // 2) + 1
    two_members = gzip.compress(text[:half]) + gzip.compress(text[half:])
    files = {"HIGGS.csv.gz": uci_gz, "truncated.csv.gz": truncated, "multi.csv.gz": two_members}
    with FaultServer(files) as srv:
        yield srv


def expected(lines: list[bytes], n: int) -> bytes:
    return b"\n".join(lines[:n]) + b"\n"


def no_leftovers(folder) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize("fault", ["ok", "drop", "fail500", "wronglen", "norange"])
def test_partial_fetch_gets_exact_first_events(server, uci_lines, tmp_path, fault):
    dest = tmp_path / "higgs-3k.csv"
    path = fetch_higgs(3000, dest, url=server.url(fault, "HIGGS.csv.gz"), **FAST)
    assert path == dest
    assert dest.read_bytes() == expected(uci_lines, 3000)
    assert no_leftovers(tmp_path)


def test_partial_fetch_stops_early(server, uci_gz, tmp_path):
    """100 events need only the first compressed chunk(s), not the whole file."""
    fetch_higgs(100, tmp_path / "h.csv", url=server.url("ok", "HIGGS.csv.gz"), **FAST)
    assert len(server.requests) == 1
    # one 64 KiB read (plus what the socket buffered) was enough: compare with the file size
    assert len(uci_gz) > 1_000_000


def test_drop_is_resumed_with_range(server, uci_lines, tmp_path):
    fetch_higgs(5000, tmp_path / "h.csv", url=server.url("drop", "HIGGS.csv.gz"), **FAST)
    ranges = [r for _, r in server.requests]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert (tmp_path / "h.csv").read_bytes() == expected(uci_lines, 5000)


def test_stall_times_out_and_resumes(server, uci_lines, tmp_path):
    dest = tmp_path / "h.csv"
    fetch_higgs(5000, dest, url=server.url("stall", "HIGGS.csv.gz"), timeout=0.5, **FAST)
    assert dest.read_bytes() == expected(uci_lines, 5000)
    assert len(server.requests) == 2


def test_second_call_reuses_file(server, tmp_path):
    dest = tmp_path / "h.csv"
    fetch_higgs(10, dest, url=server.url("ok", "HIGGS.csv.gz"), **FAST)
    fetch_higgs(10, dest, url=server.url("ok", "HIGGS.csv.gz"), **FAST)
    assert len(server.requests) == 1


def test_named_size_lands_in_profile_data_dir(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCOURSE_DATA_DIR", str(tmp_path / "store"))
    from mlcourse.cli import main

    assert (
        main(
            [
                "data",
                "fetch",
                "--events",
                "1k",
                "--url",
                server.url("ok", "HIGGS.csv.gz"),
                "--quiet",
            ]
        )
        == 0
    )
    path = tmp_path / "store" / "higgs-1k.csv"
    assert len(path.read_bytes().splitlines()) == 1000


def test_multi_member_gzip(server, uci_lines, tmp_path):
    fetch_higgs(5000, tmp_path / "h.csv", url=server.url("ok", "multi.csv.gz"), **FAST)
    assert (tmp_path / "h.csv").read_bytes() == expected(uci_lines, 5000)


def test_local_file_as_url(higgs_files, uci_lines, tmp_path):
    src = higgs_files.uci
    fetch_higgs(42, tmp_path / "a.csv", url=str(src), **FAST)
    fetch_higgs(42, tmp_path / "b.csv", url=src.as_uri(), **FAST)
    assert (tmp_path / "a.csv").read_bytes() == expected(uci_lines, 42)
    assert (tmp_path / "b.csv").read_bytes() == expected(uci_lines, 42)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "HTTP 404"),
        ("/forbidden", "HTTP 403"),
        ("/html/HIGGS.csv.gz", "web page"),
        ("/ok/truncated.csv.gz", "ends early"),
    ],
)
def test_clear_errors_and_nothing_left(server, tmp_path, path, message):
    dest = tmp_path / "h.csv"
    with pytest.raises(DownloadError, match=message):
        fetch_higgs(5000, dest, url=server.base + path, **FAST)
    assert not dest.exists() and no_leftovers(tmp_path)
    if path in ("/missing", "/forbidden"):
        assert len(server.requests) == 1  # not retried


def test_non_gzip_body(tmp_path):
    fake = tmp_path / "HIGGS.csv.gz"
    fake.write_bytes(b"<html><body>moved</body></html>")
    with pytest.raises(DownloadError, match="did not send gzip data but an HTML page"):
        fetch_higgs(10, tmp_path / "h.csv", url=str(fake), **FAST)
    assert not (tmp_path / "h.csv").exists()


def test_persistent_500_gives_up(tmp_path):
    with FaultServer({}) as srv, pytest.raises(DownloadError, match="gave up after 2 retries"):
        fetch_higgs(10, tmp_path / "h.csv", url=srv.base + "/always500/x", retries=2, **FAST)
    # a closed port: connection refused is transient too, and ends with a clear error
    with pytest.raises(DownloadError, match="gave up"):
        fetch_higgs(10, tmp_path / "h.csv", url=srv.base + "/ok/x", retries=1, **FAST)


# The full file: kept compressed, resumable, checksummed.


@pytest.mark.parametrize("fault", ["ok", "drop", "fail500", "stall"])
def test_full_fetch_same_bytes_and_checksum(server, uci_gz, tmp_path, fault):
    dest = tmp_path / "HIGGS.csv.gz"
    digest = hashlib.sha256(uci_gz).hexdigest()
    fetch_higgs(
        "full", dest, url=server.url(fault, "HIGGS.csv.gz"), sha256=digest, timeout=0.5, **FAST
    )
    assert dest.read_bytes() == uci_gz
    assert (tmp_path / "HIGGS.csv.gz.sha256").read_text().split()[0] == digest


def test_full_fetch_checksum_mismatch_removes_partial(server, tmp_path):
    dest = tmp_path / "HIGGS.csv.gz"
    with pytest.raises(DownloadError, match="SHA-256 mismatch"):
        fetch_higgs(None, dest, url=server.url("ok", "HIGGS.csv.gz"), sha256="0" * 64, **FAST)
    assert not dest.exists() and no_leftovers(tmp_path)


def _fetch_child(*args: str) -> subprocess.Popen:
    """``mlcourse data fetch ARGS`` in a process of its own, as a student runs it."""
    command = [sys.executable, "-m", "mlcourse", "data", "fetch", "--quiet", *args]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, child: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120  # far beyond the second it takes: only a hang fails
    while not condition():
        assert child.poll() is None, f"the fetch ended before {what}: {child.stderr.read()}"
        assert time.monotonic() < deadline, f"no {what} after 120 s"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_signal_ends_a_download_as_ctrl_c_does(server, tmp_path, signum):
    dest = tmp_path / "higgs-1k.csv"
    name = signal.Signals(signum).name
    server.files[f"{name}.csv.gz"] = server.files["HIGGS.csv.gz"]
    url = server.url("cut", f"{name}.csv.gz")
    child = _fetch_child("--events", "1000", "--dest", str(dest), "--url", url)
    part = tmp_path / "higgs-1k.csv.part"
    _wait_for(lambda: part.is_file() and part.stat().st_size > 0, child, "events written")
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signum
    assert err == f"mlcourse data: stopped by {name}\n"
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .part


@pytest.mark.parametrize("again", ["same URL", "another URL"])
def test_a_stopped_full_download_resumes_only_from_its_own_url(server, uci_gz, tmp_path, again):
    dest = tmp_path / "HIGGS.csv.gz"
    part = tmp_path / "HIGGS.csv.gz.part"
    first = server.url("cut", "HIGGS.csv.gz")
    child = _fetch_child("--events", "full", "--dest", f"{tmp_path}/", "--url", first)
    _wait_for(lambda: part.is_file() and part.stat().st_size > 0, child, "first bytes")
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    kept = part.stat().st_size
    assert child.returncode == 143 and err.endswith("mlcourse data: stopped by SIGTERM\n")
    assert f"{part} keeps the {kept:,} bytes downloaded so far" in err
    assert not dest.exists() and 0 < kept <= DROP_AFTER

    url = first if again == "same URL" else server.url("ok", "HIGGS.csv.gz")
    fetch_higgs(None, dest, url=url, **FAST)
    assert dest.read_bytes() == uci_gz and no_leftovers(tmp_path)
    resumed = [r for path, r in server.requests if path == urlparse(url).path][-1]
    # the same URL goes on where it stopped; another URL's bytes are not mixed with them
    assert resumed == (f"bytes={kept}-" if again == "same URL" else None)


def test_full_fetch_truncated_on_server(server, tmp_path):
    with pytest.raises(DownloadError, match="ends early"):
        fetch_higgs(
            None, tmp_path / "HIGGS.csv.gz", url=server.url("ok", "truncated.csv.gz"), **FAST
        )
    assert not (tmp_path / "HIGGS.csv.gz").exists() and no_leftovers(tmp_path)


def test_gzip_crc_is_verified(uci_gz, tmp_path):
    corrupt = bytearray(uci_gz)
    corrupt[len(corrupt) // 2] ^= 0xFF
    src = tmp_path / "corrupt.csv.gz"
    src.write_bytes(bytes(corrupt))
    with pytest.raises(DownloadError, match="corrupt gzip"):
        fetch_higgs(None, tmp_path / "HIGGS.csv.gz", url=str(src), **FAST)
    with pytest.raises(zlib.error):  # the same check zlib itself makes
        zlib.decompress(bytes(corrupt), wbits=31)


def test_a_larger_request_downloads_again(server, uci_lines, tmp_path):
    """fetch 100 then 1000 into the same file: 1000 events, not the 100 reused."""
    dest = tmp_path / "x.csv"
    fetch_higgs(100, dest, url=server.url("ok", "HIGGS.csv.gz"), **FAST)
    fetch_higgs(1000, dest, url=server.url("ok", "HIGGS.csv.gz"), **FAST)
    assert dest.read_bytes() == expected(uci_lines, 1000)
    record = json.loads((tmp_path / "x.csv.fetched.json").read_text())
    assert record["events_requested"] == record["events"] == 1000
    assert record["bytes"] == dest.stat().st_size
    assert record["sha256"] == hashlib.sha256(dest.read_bytes()).hexdigest()
    fetch_higgs(1000, dest, url=server.url("ok", "HIGGS.csv.gz"), **FAST)
    assert len(server.requests) == 2  # the same request again is reused
    fetch_higgs(10, dest, url=server.url("ok", "HIGGS.csv.gz"), **FAST)
    assert dest.read_bytes() == expected(uci_lines, 10)  # a smaller one too: what was asked


def test_a_file_of_the_students_is_never_taken_for_higgs(server, uci_lines, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("my,own\n1,2\n3,4\n5,6\n")
    before = mine.read_bytes()
    with pytest.raises(DownloadError, match=r"mine.csv is there already and is not a HIGGS"):
        fetch_higgs(100, mine, url=server.url("ok", "HIGGS.csv.gz"), **FAST)
    assert mine.read_bytes() == before and server.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv"]
    # the way out the message names
    fetch_higgs(100, mine, url=server.url("ok", "HIGGS.csv.gz"), overwrite=True, **FAST)
    assert mine.read_bytes() == expected(uci_lines, 100)


def test_dest_ending_in_a_separator_is_a_folder(server, uci_lines, tmp_path):
    from mlcourse.data.sizes import csv_name

    path = fetch_higgs(100, f"{tmp_path / 'newdir'}/", url=server.url("ok", "HIGGS.csv.gz"), **FAST)
    assert path == tmp_path / "newdir" / csv_name(100)
    assert (tmp_path / "newdir").is_dir() and path.read_bytes() == expected(uci_lines, 100)


def test_a_download_from_before_records_is_adopted(server, uci_lines, tmp_path):
    """A data directory filled by an earlier mlcourse: its files are still reused."""
    from mlcourse.data.sizes import csv_name

    old = tmp_path / csv_name(100)
    old.write_bytes(expected(uci_lines, 100))
    assert fetch_higgs(100, tmp_path, url=server.url("ok", "HIGGS.csv.gz"), **FAST) == old
    assert server.requests == [] and (tmp_path / f"{old.name}.fetched.json").is_file()


def test_cli_fetch_overwrite(server, tmp_path, capsys):
    from mlcourse.cli import main

    mine = tmp_path / "mine.csv"
    mine.write_text("a,b\n")
    url = server.url("ok", "HIGGS.csv.gz")
    assert main(["data", "fetch", "--events", "100", "--dest", str(mine), "--url", url]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--overwrite" in line and mine.read_text() == "a,b\n"
    args = ["data", "fetch", "--events", "100", "--dest", str(mine), "--url", url, "--overwrite"]
    assert main(args) == 0
    assert len(mine.read_text().splitlines()) == 100


@pytest.mark.parametrize("header", [False, True])
def test_a_plain_csv_on_a_server_is_named_with_the_advice_to_convert_it(
    uci_lines, tmp_path, header
):
    names = b"label,lepton_pT,lepton_eta,lepton_phi,missing_energy_magnitude,missing_energy_phi"
    body = (names + b"\n" if header else b"") + b"\n".join(uci_lines[:50]) + b"\n"
    with FaultServer({"higgs.csv": body}) as srv:
        url = srv.url("ok", "higgs.csv")
        with pytest.raises(DownloadError) as caught:
            fetch_higgs(10, tmp_path / "h.csv", url=url, **FAST)
    assert str(caught.value) == (
        f"{url} is a plain (uncompressed) CSV file of events, not HIGGS.csv.gz: it needs no "
        "download. Download it as it is (e.g. with curl -O) and convert it: mlcourse data "
        "convert FILE higgs.parquet."
    )
    assert list(tmp_path.iterdir()) == []


def test_a_header_row_is_kept_and_never_counted_as_an_event(uci_lines, tmp_path):
    header = b"label," + b",".join(f"f{i}".encode() for i in range(28))
    gz = gzip.compress(header + b"\n" + b"\n".join(uci_lines[:1500]) + b"\n")
    with FaultServer({"course.csv.gz": gz}) as srv:
        path = fetch_higgs(1000, tmp_path / "h.csv", url=srv.url("ok", "course.csv.gz"), **FAST)
    lines = path.read_bytes().splitlines()
    assert lines[0] == header and lines[1:] == uci_lines[:1000]
    record = json.loads(path.with_name(path.name + ".fetched.json").read_text())
    assert record["events"] == record["events_requested"] == 1000
