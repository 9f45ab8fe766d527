"""A real HTTP server on 127.0.0.1 with fault injection, for download tests.

Paths are ``/<fault>/<name>``; faults apply to the first request of each path only:

- ``ok``: no fault; ``norange``: ignores Range headers
- ``drop``: closes the connection after DROP_AFTER bytes
- ``fail500``: answers HTTP 500 (``always500``: every time)
- ``stall``: pauses STALL seconds mid-body
- ``hang``: sends the first bytes, then nothing, on this request and every later one,
  until the server is shut down
- ``cut``: sends the first bytes, then nothing until the server is shut down; later
  requests are served in full (a download stopped by a signal, then resumed)
- ``wronglen``: announces more bytes than it sends
- ``html``: an HTML page instead of the file

``/missing`` answers 404 and ``/forbidden`` 403.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DROP_AFTER = 100_000
STALL = 2.0


class FaultServer:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str | None]] = []
        self._seen: set[str] = set()
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                range_header = self.headers.get("Range")
                server.requests.append((self.path, range_header))
                first = self.path not in server._seen
                server._seen.add(self.path)
                if self.path == "/missing":
                    return self._plain(404, b"not found")
                if self.path == "/forbidden":
                    return self._plain(403, b"forbidden")
                _, fault, name = self.path.split("/", 2)
                body = b"" if fault == "always500" else server.files.get(name)
                if body is None:
                    return self._plain(404, b"no such file")
                if fault == "html":
                    page = b"<!DOCTYPE html><html><body>Dataset page</body></html>"
                    return self._plain(200, page, "text/html; charset=utf-8")
                if fault == "always500" or (fault == "fail500" and first):
                    return self._plain(500, b"internal error")
                start = 0
                if range_header and fault != "norange":
                    start = int(range_header.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return None
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                part = body[start:]
                length = len(part) + (5000 if fault == "wronglen" and first else 0)
                self.send_header("Content-Type", "application/x-gzip")
                self.send_header("Content-Length", str(length))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                try:
                    if fault == "drop" and first:
                        self.wfile.write(part[:DROP_AFTER])
                        self.wfile.flush()
                        self.close_connection = True
                        return None
                    if fault == "hang" or (fault == "cut" and first):
                        # some bytes the first time, then never any
                        self.wfile.write(part[:DROP_AFTER] if first else b"")
                        self.wfile.flush()
                        server._closing.wait()  # until the test is done with us
                        self.close_connection = True
                        return None
                    if fault == "stall" and first:
                        self.wfile.write(part[:DROP_AFTER])
                        self.wfile.flush()
                        time.sleep(STALL)
                        self.close_connection = True
                        return None
                    self.wfile.write(part)
                    if fault == "wronglen" and first:
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _plain(self, code, body, ctype="text/plain"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, fault: str, name: str) -> str:
        return f"{self.base}/{fault}/{name}"

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
