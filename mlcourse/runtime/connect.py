"""A Spark Connect server for the course: one driver that thin kernels share.

``mlcourse connect-server start`` runs Spark's own
``org.apache.spark.sql.connect.service.SparkConnectServer`` from the installed pyspark
(its ``spark-submit``), bound to 127.0.0.1 unless told otherwise, with its log and a pid
file in this user's cache folder (``~/.cache/mlcourse/connect``). Kernels then join with
the ``connect`` profile (``sc://localhost:15002``); they start no JVM.

A server that listens beyond loopback must be protected by a token: Spark's own
``SPARK_CONNECT_AUTHENTICATE_TOKEN`` variable, read by the server at its start and by
every client (``pyspark`` adds it to each request). The token never goes into a
configuration file or onto the command line, where other users could read it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlcourse.config import cache_dir
from mlcourse.errors import MlcourseError

__all__ = [
    "ConnectServer",
    "ConnectServerError",
    "check_reachable",
    "log_tail",
    "server_status",
    "start_server",
    "stop_server",
]

DEFAULT_PORT = 15002
#: Spark's own variable for the bearer token, read by the server and by pyspark's client.
TOKEN_VARIABLE = "SPARK_CONNECT_AUTHENTICATE_TOKEN"
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ConnectServerError(MlcourseError, RuntimeError):
    """The Spark Connect server cannot start, or what is asked of it does not hold."""


@dataclass(frozen=True)
class ConnectServer:
    """A Spark Connect server that mlcourse started."""

    pid: int
    host: str
    port: int
    log: str
    token: bool

    @property
    def address(self) -> str:
        """The ``sc://`` address a client on this machine joins: ``localhost`` for a server
        on loopback or on every address, because pyspark sends a token in the clear only to
        ``localhost`` (to any other host only over TLS, which the server does not speak)."""
        host = "localhost" if self.host in _LOOPBACK | {"0.0.0.0", "::"} else self.host
        return f"sc://{host}:{self.port}"

    def __str__(self) -> str:
        guard = "token required" if self.token else "no token (loopback only)"
        return f"{self.address} (pid {self.pid}, {guard}; log {self.log})"


def state_dir() -> Path:
    """Where the server's pid file and log live."""
    return cache_dir() / "connect"


def _pid_file() -> Path:
    return state_dir() / "server.json"


def _is_server(pid: int) -> bool:
    """Whether ``pid`` is alive and is a Spark Connect server (a pid file can outlive its
    process, and the pid can be reused by another program)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): alive is all that can be said
    return SERVER_CLASS.encode() in cmdline


def server_status() -> ConnectServer | None:
    """The server this user started, if it still runs (a stale pid file is removed)."""
    path = _pid_file()
    try:
        server = ConnectServer(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if _is_server(server.pid):
        return server
    path.unlink(missing_ok=True)
    return None


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "::") else host, port)) == 0


def start_server(
    *,
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    memory: str = "1g",
    master: str = "local[*]",
    conf: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> ConnectServer:
    """Start Spark's Connect server in the background; return once it accepts connections.

    Parameters
    ----------
    port : int
        The gRPC port (Spark's default 15002).
    host : str
        The address to listen on: loopback unless told otherwise. Any other needs
        ``$SPARK_CONNECT_AUTHENTICATE_TOKEN`` set, which the server then requires.
    memory : str
        The server's driver memory (it runs every session's queries).
    master : str
        Where the server runs its jobs: ``local[*]``, ``spark://...``, ``k8s://...``.
    conf : dict, optional
        More Spark settings of the server (its session timeout, ML cache limits, ...).
    timeout : float
        Seconds to wait for the server to accept connections.

    Raises
    ------
    ConnectServerError
        One runs already, the port is taken, no token for a non-loopback address, Java
        is missing, or the server exited (the message ends with its log).
    """

    token = _checked_start(host, port, master)

    import pyspark

    spark_home = Path(pyspark.__file__).parent
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "server.log"
    cmd = [
        str(spark_home / "bin" / "spark-submit"),
        "--class", SERVER_CLASS,
        "--name", "mlcourse Spark Connect server",
        "--master", master,
        "--driver-memory", memory,
        "--conf", f"spark.connect.grpc.binding.address={host}",
        "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", "spark.connect.grpc.port.maxRetries=0",  # that port or a clear failure
        # stages and tasks to the clients' progress displays twice a second (default 2 s)
        "--conf", "spark.connect.progress.reportInterval=500ms",
        *[arg for key, value in (conf or {}).items() for arg in ("--conf", f"{key}={value}")],
        "spark-internal",
    ]  # fmt: skip
    # the server's Python workers run the clients' UDFs (mlcourse's generator, Arrow
    # aggregations): this environment's Python, where mlcourse is installed
    env = {"PYSPARK_PYTHON": sys.executable, **os.environ, "SPARK_HOME": str(spark_home)}
    if host in _LOOPBACK:
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    with open(log, "wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _children[process.pid] = process  # reaped by stop_server in this process, if it runs
    server = ConnectServer(process.pid, host, port, str(log), token is not None)
    _wait_for_port(process, host, port, timeout, log)
    _pid_file().write_text(json.dumps(asdict(server)))
    return server


def _checked_start(host: str, port: int, master: str) -> str | None:
    """Refuse, in one line each, a second server, an open address without a token, a
    taken port and a missing Java; the token the server will require, if any."""
    from mlcourse.config.validation import master_problem
    from mlcourse.runtime.java import check_java

    if not 1 <= port <= 65535:
        raise ConnectServerError(f"port {port}: give a port between 1 and 65535")
    problem = master_problem(master)
    if problem is not None:
        raise ConnectServerError(problem)
    running = server_status()
    if running is not None:
        raise ConnectServerError(
            f"a Spark Connect server runs already: {running}. "
            "`mlcourse connect-server stop` ends it."
        )
    token = os.environ.get(TOKEN_VARIABLE) or None
    if host not in _LOOPBACK and token is None:
        raise ConnectServerError(
            f"a server listening on {host} (beyond this machine) needs a token: set "
            f"{TOKEN_VARIABLE} to a long random secret (python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))') and give it to the clients, or listen on "
            "127.0.0.1"
        )
    if _port_taken(host, port):
        raise ConnectServerError(
            f"port {port} is taken on {host}: something listens there already. Choose "
            "another with --port, or stop what holds it."
        )
    check_java()  # raises JavaError saying how to install Java 17
    return token


def _wait_for_port(
    process: subprocess.Popen[bytes], host: str, port: int, timeout: float, log: Path
) -> None:
    """Wait until the server listens; a server that exits or stays silent is ended and
    its log's end is the error."""
    deadline = time.monotonic() + timeout
    while not _port_taken(host, port):
        if process.poll() is not None or time.monotonic() > deadline:
            exited = process.poll() is not None
            if not exited:
                process.terminate()
                process.wait()
            what = "it exited" if exited else f"no answer within {timeout:.0f} s"
            raise ConnectServerError(
                f"the Spark Connect server did not start ({what}). "
                + log_tail(log.read_text(errors="replace"), str(log))
            )
        time.sleep(0.5)


_SPARK_ERROR = re.compile(r"^(?:Exception in thread|\S*(?:Exception|Error)\b)")


def log_tail(text: str, name: str, limit: int = 1500) -> str:
    """The end of a server's log for a one-screen error: Spark's own error line first
    (the first line that names an exception, not a stack frame), then the last whole
    lines that fit in ``limit`` characters."""
    lines = text.rstrip().splitlines()
    cause = next((line.strip() for line in lines if _SPARK_ERROR.match(line.strip())), None)
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if size + len(line) + 1 > limit and kept:
            break
        kept.append(line)
        size += len(line) + 1
    head = f"Spark said: {cause}\n" if cause else ""
    return f"{head}Its log {name} ends with:\n" + "\n".join(reversed(kept))


def stop_server(timeout: float = 30.0) -> ConnectServer | None:
    """Stop the server this user started (that pid only); None when none runs."""
    server = server_status()
    if server is None:
        return None
    os.kill(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _is_server(server.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _is_server(server.pid):
        os.kill(server.pid, signal.SIGKILL)
    child = _children.pop(server.pid, None)
    if child is not None:  # started by this process: collect its exit status
        child.wait()
    _pid_file().unlink(missing_ok=True)
    return server


#: The servers this process started, by pid: a server outlives a `start` command, and
#: in a long-lived process (a kernel, the tests) its Popen must stay referenced until
#: stop_server() collects it.
_children: dict[int, subprocess.Popen[bytes]] = {}


#: Seconds a client waits for a Spark Connect server's port to answer.
REACH_TIMEOUT = 10.0


def _host_port(address: str) -> tuple[str, int]:
    """``sc://host:port/;params`` as (host, port); Spark's default port when none."""
    from urllib.parse import urlsplit

    parts = urlsplit(address.split(";", 1)[0])
    return parts.hostname or "localhost", parts.port or DEFAULT_PORT


def check_reachable(address: str, timeout: float = REACH_TIMEOUT) -> None:
    """Fail in one line, within ``timeout`` seconds, when nothing answers at ``address``
    (gRPC alone retries for minutes)."""
    from mlcourse.errors import ConfigError

    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if _talks_tls(address, host):
                _check_tls(sock, address, host)
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    local = host in _LOOPBACK
    hint = (
        "start one with `mlcourse connect-server start`"
        if local
        else "check the address with your instructor, and that this machine reaches it"
    )
    raise ConfigError(
        f"no Spark Connect server answers at {address} ({reason}): {hint}, or set "
        "SPARK_REMOTE to the right sc:// address"
    )


def _talks_tls(address: str, host: str) -> bool:
    """Whether pyspark's client will talk TLS to ``address``: ``use_ssl=true`` in it, or a
    token for any host but ``localhost`` (pyspark's rule)."""
    params = address.split(";")[1:]
    if any(p.strip().lower() == "use_ssl=true" for p in params):
        return True
    token = os.environ.get(TOKEN_VARIABLE) or any(p.startswith("token=") for p in params)
    return bool(token) and host != "localhost"


def _check_tls(sock: socket.socket, address: str, host: str) -> None:
    """Fail in one line when the server behind ``sock`` does not answer a TLS handshake:
    pyspark would retry it for minutes. Spark Connect's server speaks plain gRPC; TLS is a
    proxy's job in front of it."""
    import ssl

    from mlcourse.errors import ConfigError

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # only: TLS or not?
    try:
        with context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False) as t:
            t.do_handshake()
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"{address} does not speak TLS ({type(exc).__name__}), and pyspark sends a token "
            "to any host but localhost only over TLS: on the server's machine use "
            "sc://localhost:PORT; from elsewhere, the address of a TLS proxy in front of it"
        ) from None


def open_session(create: Callable[[], Any], address: str) -> Any:
    """Create a Spark Connect session and make its first call (the Spark version), so that
    a refused token or a server that is not what it should be fails here, in one line.

    In the calling thread: pyspark.ml finds the session as that thread's active one. What
    gRPC would retry for minutes (no server on the port, a TLS handshake with a server that
    speaks plain gRPC) :func:`check_reachable` has refused already.

    Raises
    ------
    ConfigError
        The token refused, or what the server said.
    """
    from mlcourse.errors import ConfigError

    try:
        spark = create()
        spark.version  # noqa: B018
    except Exception as exc:  # gRPC's errors, whatever their class
        raise ConfigError(describe_connect_failure(address, exc)) from None
    return spark


def describe_connect_failure(address: str, exc: BaseException) -> str:
    """One line for a failed first call to a Spark Connect server."""
    text = str(exc)
    if "UNAUTHENTICATED" in text or "PERMISSION_DENIED" in text or "token" in text.lower():
        given = "no token given" if not os.environ.get(TOKEN_VARIABLE) else "a wrong token"
        return (
            f"the Spark Connect server at {address} refused the connection ({given}): set "
            f"{TOKEN_VARIABLE} to the server's token"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"the Spark Connect server at {address} did not answer as expected: {first[:300]}"
