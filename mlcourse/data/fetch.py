"""Download the real HIGGS data set from UCI (or a mirror), streaming and resumable.

A named size (``100k``, ``1M``, ``10M``) is cut from the start of the compressed stream,
decompressed on the fly, so ``100k`` downloads a few MB instead of 2.6 GB. ``full`` keeps
the whole ``HIGGS.csv.gz``, resumed with HTTP ``Range`` after dropped connections (also
across calls, from the ``.part`` file), its gzip checksum verified end to end and its
SHA-256 checked when one is known.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import io
import json
import logging
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from mlcourse._version import __version__
from mlcourse.data.locks import making
from mlcourse.data.sizes import csv_name, parse_events
from mlcourse.data.storage import check_destination, is_local, local_path
from mlcourse.errors import DownloadError

__all__ = ["UCI_URL", "fetch_higgs"]

log = logging.getLogger(__name__)

#: The UCI repository's copy of the full data set (2.6 GB, 11M events).
UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/00280/HIGGS.csv.gz"

_CHUNK = 1 << 16
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}
_GZIP_MAGIC = b"\x1f\x8b"


class _Transient(Exception):
    """A failure worth retrying: 5xx, dropped connection, stall."""


class _Source:
    """Bytes of a URL or local file from an offset, reconnecting after transient failures."""

    def __init__(
        self, url: str, *, timeout: float, retries: int, backoff: float, stall: float = 30.0
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.stall = stall
        self.retries = retries
        self.backoff = backoff
        self.total: int | None = None  # size of the whole file, when known

    def _open(self, offset: int) -> tuple[IO[bytes], int]:
        """Open at ``offset``; returns the stream and the offset it really starts at."""
        parsed = urlparse(self.url)
        if parsed.scheme in ("", "file"):
            path = Path(parsed.path if parsed.scheme else self.url)
            if not path.is_file():
                raise DownloadError(f"{path}: no such file to read HIGGS from.")
            fh = path.open("rb")
            self.total = path.stat().st_size
            fh.seek(offset)
            return fh, offset
        headers = {"User-Agent": f"mlcourse/{__version__}", "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            request = urllib.request.Request(self.url, headers=headers)
        except ValueError as exc:  # no scheme, or a malformed URL: no retry will mend it
            raise DownloadError(f"{self.url}: not a URL mlcourse can read ({exc}).") from None
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the error's response and its socket
            if exc.code == 416 and offset:  # nothing left after offset: the file ended there
                self.total = offset
                return io.BytesIO(), offset
            if exc.code >= 500 or exc.code in (408, 429):
                raise _Transient(f"HTTP {exc.code} {exc.reason}") from None
            hint = {
                404: "the file is not there: check the URL or use a mirror (url=...)",
                403: "the server refuses access: check the URL, or download it in a browser "
                "and pass the local file as url=",
            }.get(exc.code, "check the URL")
            raise DownloadError(f"{self.url}: HTTP {exc.code} {exc.reason}; {hint}.") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, socket.gaierror):  # a typo in the host, or no DNS at all
                raise DownloadError(
                    f"{self.url}: cannot find the host {parsed.hostname!r} ({reason.strerror}). "
                    "Check the URL for a typo, then the network (or proxy) settings."
                ) from None
            if isinstance(exc, urllib.error.URLError) and "unknown url type" in str(reason):
                raise DownloadError(f"{self.url}: {reason}; use an http(s):// URL.") from None
            raise _Transient(str(reason)) from None
        try:
            return self._checked(response, offset)
        except BaseException:
            response.close()  # not left for the garbage collector (an unclosed socket)
            raise

    def _checked(self, response: Any, offset: int) -> tuple[IO[bytes], int]:
        """The response, positioned at ``offset``, after checking it is the file."""
        length = response.headers.get("Content-Length")
        if response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
                self.total = int(content_range.rsplit("/", 1)[1])
            return response, offset
        if length and length.isdigit():
            self.total = int(length)
        if offset:  # the server ignored Range: skip what we already have
            skipped = 0
            while skipped < offset:
                chunk = response.read(min(_CHUNK, offset - skipped))
                if not chunk:
                    raise _Transient("connection closed while skipping to the resume point")
                skipped += len(chunk)
        content_type = response.headers.get("Content-Type", "")
        if offset == 0 and "text/html" in content_type:
            raise DownloadError(
                f"{self.url} returned a web page (Content-Type {content_type}), not the gzip "
                "file: the URL probably points at a landing page. Use the direct file link."
            )
        return response, offset

    def chunks(self, start: int = 0) -> Generator[bytes, None, None]:
        """Yield the bytes from ``start`` to the end, resuming after dropped connections."""
        offset, failures = start, 0
        last_data = time.monotonic()
        while True:
            stream = None
            try:
                stream, offset = self._open(offset)
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    offset += len(chunk)
                    failures = 0
                    last_data = time.monotonic()
                    yield chunk
                if self.total is not None and offset < self.total:
                    raise _Transient(f"connection closed at byte {offset} of {self.total}")
                return
            except (TimeoutError, _Transient, http.client.HTTPException, ConnectionError) as exc:
                failures += 1
                silent = time.monotonic() - last_data
                if isinstance(exc, TimeoutError) and silent > self.stall:
                    raise DownloadError(
                        f"{self.url}: no data for {silent:.0f} s (the server stalled at byte "
                        f"{offset}). Try again later, or use a mirror (url=...): the download "
                        "resumes where it stopped."
                    ) from None
                if failures > self.retries:
                    raise DownloadError(
                        f"{self.url}: gave up after {self.retries} retries ({exc}). Check the "
                        "network, or try again later: the download resumes where it stopped."
                    ) from None
                wait = self.backoff * 2 ** (failures - 1)
                log.warning(
                    "download interrupted at byte %d (%s); retrying in %.1f s", offset, exc, wait
                )
                time.sleep(wait)
            finally:
                if stream is not None:
                    stream.close()


#: The start of a CSV of HIGGS events: six numbers, or a header row of names (course form).
_CSV_START = re.compile(
    rb"\s*(?:[-+0-9.eE]+(?:,[-+0-9.eE]+){5}|[A-Za-z_][\w-]*(?:,[A-Za-z_][\w-]*){5})"
)


def _is_header(line: bytes) -> bool:
    """Whether a CSV line is a row of column names rather than an event."""
    first = line.split(b",", 1)[0].strip()
    return bool(first) and not re.fullmatch(rb"[-+0-9.eE]+", first)


def _check_gzip_start(url: str, first: bytes) -> None:
    if not first.startswith(_GZIP_MAGIC):
        preview = first[:40].decode("latin-1", "replace").strip()
        if _CSV_START.match(first):
            how = (
                f"Convert it as it is: mlcourse data convert {local_path(url)} higgs.parquet."
                if is_local(url)
                else "Download it as it is (e.g. with curl -O) and convert it: mlcourse data "
                "convert FILE higgs.parquet."
            )
            raise DownloadError(
                f"{url} is a plain (uncompressed) CSV file of events, not HIGGS.csv.gz: it "
                f"needs no download. {how}"
            )
        kind = "an HTML page" if preview.lstrip().startswith("<") else "something else"
        raise DownloadError(
            f"{url} did not send gzip data but {kind} (starts with {preview!r}). The URL "
            "probably points at an error or landing page; use the direct HIGGS.csv.gz link."
        )


class _Gunzip:
    """Decompress a gzip stream fed in chunks, member after member (as pigz writes them).

    The first chunk is checked to be gzip at all, and corrupt data (a failed CRC included)
    is a :class:`DownloadError` naming ``url``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._inflater = zlib.decompressobj(wbits=31)
        self._started = False

    @property
    def eof(self) -> bool:
        """True once the last member fed so far has ended (with a good checksum)."""
        return self._inflater.eof

    def feed(self, chunk: bytes) -> bytes:
        if not self._started:
            _check_gzip_start(self.url, chunk)
            self._started = True
        out, data = [], chunk
        while data:
            try:
                out.append(self._inflater.decompress(data))
            except zlib.error as exc:
                raise DownloadError(f"{self.url}: corrupt gzip data ({exc}).") from None
            data = b""
            if self._inflater.eof and self._inflater.unused_data:  # next gzip member
                data = self._inflater.unused_data
                self._inflater = zlib.decompressobj(wbits=31)
        return b"".join(out)


def _progress(total: int | None, unit: str, quiet: bool | None, desc: str) -> Any:
    disable = (not sys.stderr.isatty()) if quiet is None else quiet
    # tqdm.auto picks the notebook widget, and warns in a kernel without ipywidgets even
    # when the bar is hidden: only take it for a bar that is shown.
    if disable:
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(total=total, unit=unit, unit_scale=True, disable=disable, desc=desc)


def fetch_higgs(
    events: int | str | None,
    dest: str | os.PathLike[str],
    *,
    url: str | None = None,
    quiet: bool | None = None,
    sha256: str | None = None,
    timeout: float = 10.0,
    retries: int = 5,
    backoff: float = 1.0,
    stall: float = 30.0,
    overwrite: bool = False,
) -> Path:
    """Download real HIGGS events; reuse them when already there.

    Parameters
    ----------
    events : int or str or None, default "100k"
        Number of events from the start of the file (``"100k"``, ``"1M"``, ``"10M"``, an
        int), or ``"full"``/None for the whole compressed file.
    dest : path
        Output file, or an existing folder to write the standard file name into
        (``higgs-<size>.csv``, or ``HIGGS.csv.gz`` for the full file; see
        :mod:`mlcourse.data.sizes`). :func:`mlcourse.load_higgs` and ``mlcourse data fetch``
        choose the data directory.
    url : str, optional
        Where to download from: the UCI repository by default (``$MLCOURSE_HIGGS_URL``
        overrides), a mirror, or a local ``HIGGS.csv.gz`` path or ``file://`` URL.
    quiet : bool, optional
        Hide the progress bar; default: shown only on a terminal.
    sha256 : str, optional
        Expected SHA-256 of the full compressed file (``$MLCOURSE_HIGGS_SHA256``). Its gzip
        CRC is always verified.
    timeout : float, default 10
        Seconds without data before a connection counts as stalled (then retried).
    retries : int, default 5
        Consecutive failures tolerated, with exponential back-off from ``backoff`` seconds.
    backoff : float, default 1.0
        First wait between retries, doubled each time.
    stall : float, default 30
        Seconds without any data, reconnections included, after which the download is
        given up. A host name that does not resolve or a malformed URL fails at once.
    overwrite : bool, default False
        Replace a file at ``dest`` that is not an mlcourse download. Each download records
        what it holds beside it (``<name>.fetched.json``: URL, events asked for and held,
        bytes, SHA-256): the same request reuses it, another size downloads again, and a
        file without a record is never replaced unless ``overwrite``.

    Returns
    -------
    Path
        The CSV (named sizes: plain, UCI form, no header) or ``HIGGS.csv.gz``.

    Raises
    ------
    DownloadError
        HTTP 404/403, a body that is not gzip, a truncated stream, a checksum mismatch, or
        too many transient failures. No partial file is left at ``dest``.
    """
    n = parse_events(events)
    url = url or os.environ.get("MLCOURSE_HIGGS_URL") or UCI_URL
    dest = _destination(dest, n, url)
    if dest.exists() and not overwrite and _reusable(dest, n):
        log.info("reusing %s", dest)
        return dest
    if not dest.parent.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
    # one download at a time into dest (and its .part): a second process waits, then
    # reuses the first one's file
    with making(dest, "the download"):
        if dest.exists() and not overwrite and _reusable(dest, n):
            log.info("reusing %s, downloaded meanwhile", dest)
            return dest
        return _download(dest, n, url, quiet, sha256, timeout, retries, backoff, stall)


def _download(
    dest: Path,
    n: int | None,
    url: str,
    quiet: bool | None,
    sha256: str | None,
    timeout: float,
    retries: int,
    backoff: float,
    stall: float,
) -> Path:
    source = _Source(url, timeout=timeout, retries=retries, backoff=backoff, stall=stall)
    try:
        if n is None:
            sha256 = sha256 or os.environ.get("MLCOURSE_HIGGS_SHA256")
            return _fetch_full(source, dest, quiet=quiet, sha256=sha256)
        return _fetch_events(source, dest, n, quiet=quiet)
    except OSError as exc:
        # a write that failed (disk full, quota) names no file: it is the one being written
        if exc.filename is None and exc.errno in _WRITE_ERRNOS:
            raise OSError(exc.errno, exc.strerror, f"{dest}.part") from None
        raise


def _destination(dest: str | os.PathLike[str], n: int | None, url: str) -> Path:
    """The file to write: ``dest``, or the size's file name in it when it is a folder
    (made when missing); never the local copy being read."""
    into_folder = os.fspath(dest).endswith(("/", os.sep))
    path = Path(dest)
    if path.is_dir() or into_folder:  # "into that folder", made when missing
        path.mkdir(parents=True, exist_ok=True)
        path = path / csv_name(n)
    if is_local(url):  # a local copy of HIGGS.csv.gz is never replaced by its own download
        check_destination(path, [local_path(url)], what="the download")
    return path


def _reusable(dest: Path, n: int | None) -> bool:
    """Whether the existing ``dest`` already holds this download; False when it is an
    earlier download of another size (replaced atomically); refused when it is not one of
    mlcourse's downloads at all."""
    record = _record(dest) or _adopt(dest, n)
    if _holds(dest, n, record):
        return True
    if record is None:
        raise DownloadError(
            f"{dest} is there already and is not a HIGGS download of mlcourse's: it is "
            "left alone. Choose another destination, or pass overwrite=True (CLI: "
            "--overwrite) to replace it."
        )
    return False


def _fetch_events(source: _Source, dest: Path, events: int, *, quiet: bool | None) -> Path:
    part = dest.with_name(dest.name + ".part")
    written = 0
    digest = hashlib.sha256()  # of the file as written, for its record
    try:
        with (
            part.open("wb") as out,
            _progress(events, "event", quiet, dest.name) as bar,
            closing(source.chunks()) as chunks,  # the connection closed as soon as we stop
        ):
            gunzip = _Gunzip(source.url)
            pending = b""
            first = True
            for chunk in chunks:
                pending += gunzip.feed(chunk)
                lines = pending.split(b"\n")
                pending = lines.pop()
                if first and lines:  # a header row (course form) is kept, never counted
                    first = False
                    if _is_header(lines[0]):
                        out.write(lines[0] + b"\n")
                        digest.update(lines[0] + b"\n")
                        lines = lines[1:]
                take = lines[: events - written]
                if take:
                    block = b"\n".join(take) + b"\n"
                    out.write(block)
                    digest.update(block)
                    written += len(take)
                    bar.update(len(take))
                if written >= events or gunzip.eof:
                    break
            if written < events:
                if pending.strip():
                    out.write(pending + b"\n")
                    digest.update(pending + b"\n")
                    written += 1
                if not gunzip.eof:
                    raise DownloadError(
                        f"{source.url}: the gzip stream ends early (truncated file on the "
                        "server?); nothing was kept."
                    )
        if written == 0:
            raise DownloadError(f"{source.url}: the file holds no events.")
        if written < events:
            log.warning(
                "%s holds only %d events, fewer than the %d asked for", source.url, written, events
            )
        part.replace(dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    _write_record(dest, url=source.url, requested=events, held=written, sha256=digest.hexdigest())
    log.info("fetched %d events into %s", written, dest)
    return dest


def _fetch_full(source: _Source, dest: Path, *, quiet: bool | None, sha256: str | None) -> Path:
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    # Decompressed only to verify it (the output is dropped): gzip start, CRC, complete end.
    gunzip = _Gunzip(source.url)
    start = part.stat().st_size if part.is_file() else 0
    origin = _record_path(part)  # where the bytes of the .part came from
    if start and _record(part) != {"url": source.url}:
        log.warning(
            "%s is not a download from %s (another URL, or unknown): starting again",
            part,
            source.url,
        )
        start = 0
    if not start:
        part.unlink(missing_ok=True)
        origin.write_text(json.dumps({"url": source.url}) + "\n")
    if start:  # resume an earlier, interrupted call: replay what we have through the checks
        log.info("resuming %s at byte %d", part, start)
        gunzip.url = str(part)  # a bad .part file is named as such
        with part.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                gunzip.feed(chunk)
        gunzip.url = source.url
    try:
        with part.open("ab") as out, _progress(None, "B", quiet, dest.name) as bar:
            bar.update(start)
            for chunk in source.chunks(start):
                if bar.total is None and source.total:
                    bar.total = source.total
                    bar.refresh()
                out.write(chunk)
                digest.update(chunk)
                gunzip.feed(chunk)
                bar.update(len(chunk))
        if not gunzip.eof:
            raise DownloadError(f"{source.url}: the gzip stream ends early; nothing was kept.")
        actual = digest.hexdigest()
        if sha256 and actual.lower() != sha256.lower():
            raise DownloadError(
                f"{source.url}: SHA-256 mismatch (expected {sha256}, got {actual}); the partial "
                "file was removed. Fetch again, or check the expected checksum."
            )
    except DownloadError:
        part.unlink(missing_ok=True)
        origin.unlink(missing_ok=True)
        raise
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP in the CLI: keep it to resume
        log.warning(
            "%s keeps the %s bytes downloaded so far: the same fetch resumes from there",
            part,
            f"{part.stat().st_size:,}" if part.is_file() else "0",
        )
        raise
    # A crash keeps the .part file as well, so the next call resumes.
    part.replace(dest)
    origin.unlink(missing_ok=True)
    dest.with_name(dest.name + ".sha256").write_text(f"{actual}  {dest.name}\n")
    _write_record(dest, url=source.url, requested=None, held=None, sha256=actual)
    return dest


def _record_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".fetched.json")


def _write_record(
    dest: Path, *, url: str, requested: int | None, held: int | None, sha256: str
) -> dict[str, Any]:
    """Record beside ``dest`` what it holds: the download's URL, events asked for (None:
    the whole file) and held, its size and the SHA-256 of its bytes; return the record."""
    record = {
        "url": url,
        "events_requested": requested,
        "events": held,
        "bytes": dest.stat().st_size,
        "sha256": sha256,
    }
    _record_path(dest).write_text(json.dumps(record, indent=1) + "\n")
    return record


def _record(dest: Path) -> dict[str, Any] | None:
    """The record of an mlcourse download at ``dest``, or None (none, or unreadable)."""
    try:
        record = json.loads(_record_path(dest).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


_BEFORE_RECORDS = "(downloaded before mlcourse kept records)"


def _adopt(dest: Path, events: int | None) -> dict[str, Any] | None:
    """A record for a download made before records were kept, or None: the whole file
    with the ``.sha256`` written after its checks passed, or a file with the standard name
    of this request holding exactly ``events`` rows of 29 numbers."""
    if events is None:
        checksum = dest.with_name(dest.name + ".sha256")
        if dest.name != "HIGGS.csv.gz" or not checksum.is_file():
            return None
        sha256 = checksum.read_text().split()[0]
        return _write_record(dest, url=_BEFORE_RECORDS, requested=None, held=None, sha256=sha256)
    if dest.name != csv_name(events):
        return None
    digest = hashlib.sha256()
    with dest.open("rb") as fh:
        first = fh.readline()
        digest.update(first)
        lines = int(first.endswith(b"\n"))
        while chunk := fh.read(1 << 20):  # one pass: rows counted, bytes hashed
            digest.update(chunk)
            lines += chunk.count(b"\n")
    try:
        fields = [float(v) for v in first.split(b",")]
    except ValueError:
        return None
    if len(fields) != 29 or not first.endswith(b"\n") or lines != events:
        return None
    return _write_record(
        dest, url=_BEFORE_RECORDS, requested=events, held=events, sha256=digest.hexdigest()
    )


def _holds(dest: Path, events: int | None, record: dict[str, Any] | None) -> bool:
    """Whether ``record`` says ``dest`` is a finished download of exactly this request,
    and its size still matches."""
    return (
        record is not None
        and record.get("events_requested") == events
        and record.get("bytes") == dest.stat().st_size
    )
