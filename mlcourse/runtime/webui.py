"""Where a student's browser finds the Spark UI.

The driver serves its UI on a port of the machine the kernel runs on (4040, or the next
free one). On a laptop the browser opens ``http://localhost:4040``. On Binder or a
JupyterHub the kernel runs in a container or pod the browser cannot reach; the Jupyter
server the browser talks to can, and ``jupyter-server-proxy`` serves any of its local ports
under ``<base_url>proxy/<port>/``, behind the server's own login. When mlcourse starts a
session there, it picks the UI's port itself, sets ``spark.ui.proxyBase`` to that path (so
that the UI's own links carry it) and prints the proxied address.

When the proxy is used (``MLCOURSE_UI_PROXY``: ``auto`` by default, ``off``, or a base URL
such as ``/user/ada/``):

* on a JupyterHub (Binder included), which sets ``JUPYTERHUB_SERVICE_PREFIX``;
* under a Jupyter server of this machine that has ``jupyter-server-proxy`` installed (the
  kernel's parent, found by its runtime file ``jpserver-<pid>.json``);
* never otherwise: the plain ``http://localhost:4040`` stays.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["spark_ui_url"]

#: Turns the proxy off (``off``), forces a base URL (``/user/ada/``) or leaves it to mlcourse.
PROXY_VARIABLE = "MLCOURSE_UI_PROXY"
_OFF = {"0", "off", "no", "false", "none"}
UI_PORT = 4040
#: Spark tries this many ports after ``spark.ui.port`` (``spark.port.maxRetries``).
_PORT_TRIES = 16


def _jupyter_server() -> dict[str, Any] | None:
    """The runtime record (``url``, ``base_url``, ...) of the Jupyter server that started
    this kernel, or None (a kernel started by nbclient, a plain Python process)."""
    parent = os.environ.get("JPY_PARENT_PID")
    if not parent:
        return None
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return None
    record = Path(jupyter_runtime_dir()) / f"jpserver-{parent}.json"
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _proxy_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("jupyter_server_proxy") is not None


def proxy_base_url() -> str | None:
    """The Jupyter server's base URL (``/``, ``/user/ada/``) when the Spark UI is to be
    reached through ``jupyter-server-proxy``, else None."""
    setting = os.environ.get(PROXY_VARIABLE, "auto").strip()
    if setting.lower() in _OFF:
        return None
    if setting.lower() != "auto":
        return "/" + setting.strip("/") + "/" if setting.strip("/") else "/"
    hub = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if hub:
        return "/" + hub.strip("/") + "/"
    server = _jupyter_server()
    if server is None or not _proxy_installed():
        return None
    base = str(server.get("base_url") or "/")
    return "/" + base.strip("/") + "/" if base.strip("/") else "/"


def _port_free(port: int) -> bool:
    for host in ("0.0.0.0", "127.0.0.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_ui_port(first: int = UI_PORT) -> int:
    """The first port from ``first`` that nothing listens on (Spark's own rule, decided
    before Spark starts so that the proxied address names the port the UI gets)."""
    for port in range(first, first + _PORT_TRIES):
        if _port_free(port):
            return port
    return first  # Spark will say that it found none


def proxied_ui_settings(conf: dict[str, str]) -> dict[str, str]:
    """``spark.ui.port`` and ``spark.ui.proxyBase`` for a session reached through the
    proxy (nothing when it is not, when the profile sets ``spark.ui.proxyBase`` itself, or
    when the UI is off)."""
    base = proxy_base_url()
    if (
        base is None
        or "spark.ui.proxyBase" in conf
        or conf.get("spark.ui.enabled", "true").lower() == "false"
    ):
        return {}
    port = int(conf["spark.ui.port"]) if "spark.ui.port" in conf else free_ui_port()
    return {"spark.ui.port": str(port), "spark.ui.proxyBase": f"{base}proxy/{port}"}


def describe_ui_access(conf: dict[str, str]) -> str:
    """How the browser reaches the Spark UI of a session of this profile."""
    base = conf.get("spark.ui.proxyBase")
    if conf.get("spark.ui.enabled", "true").lower() == "false":
        return "off (spark.ui.enabled = false)"
    if base:
        return f"through the Jupyter server: {base.rstrip('/')}/jobs/ (jupyter-server-proxy)"
    proxy = proxy_base_url()
    if proxy is not None:
        port = conf.get("spark.ui.port", "<a free port chosen when the session starts>")
        return f"through the Jupyter server: {proxy}proxy/{port}/jobs/ (jupyter-server-proxy)"
    port = conf.get("spark.ui.port", "4040")
    return (
        f"http://localhost:{port} on the machine of the kernel (no Jupyter server with "
        "jupyter-server-proxy found; set MLCOURSE_UI_PROXY to a base URL to force one)"
    )


def spark_ui_url(spark: SparkSession) -> str | None:
    """The address of the session's Spark UI as the student's browser can open it.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        A classic session (the UI belongs to its driver).

    Returns
    -------
    str or None
        ``http://localhost:4040`` style on a laptop; through ``jupyter-server-proxy`` the
        Jobs page under the Jupyter server (``http://127.0.0.1:8888/proxy/4040/jobs/``, or
        the path alone, ``/user/ada/proxy/4040/jobs/``, where the server's public address is
        not known, as on a hub: a link in the notebook opens it); None when the UI is off
        or belongs to a Spark Connect server.

    Examples
    --------
    >>> url = spark_ui_url(spark)  # None for the tests' session, which runs without a UI
    >>> url is None or url.startswith(("http://", "/"))
    True
    """
    from mlcourse.runtime.flavour import is_connect

    if is_connect(spark):
        return None  # the UI is the Connect server's, on its machine
    sc = spark.sparkContext
    base = sc.getConf().get("spark.ui.proxyBase", None)
    if not base:
        return sc.uiWebUrl
    server = None if os.environ.get("JUPYTERHUB_SERVICE_PREFIX") else _jupyter_server()
    return proxied_url(base, server.get("url") if server else None)


def proxied_url(proxy_base: str, server_url: str | None) -> str:
    """The Jobs page under ``proxy_base`` (``/proxy/4040``), on the server's origin when
    its address is known (``http://127.0.0.1:8888/...``), else as a path."""
    from urllib.parse import urlsplit

    path = proxy_base.rstrip("/") + "/jobs/"
    if not server_url:
        return path
    parts = urlsplit(str(server_url))
    return f"{parts.scheme}://{parts.netloc}{path}"
