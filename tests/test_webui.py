"""Where the browser finds the Spark UI: plain on a laptop, through jupyter-server-proxy on
Binder, hubs and local Jupyter servers that have it (mlcourse.runtime.webui)."""

from __future__ import annotations

import json
import socket

from mlcourse import resolve_profile
from mlcourse.runtime.webui import (
    describe_ui_access,
    free_ui_port,
    proxied_ui_settings,
    proxied_url,
    proxy_base_url,
)


def _server_record(monkeypatch, tmp_path, **record) -> None:
    """A Jupyter server's runtime file, as jupyter_server writes it, for this 'kernel'."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("JPY_PARENT_PID", "4242")
    (tmp_path / "jpserver-4242.json").write_text(json.dumps(record))


def test_no_jupyter_server_no_proxy():
    assert proxy_base_url() is None
    assert proxied_ui_settings({}) == {}
    assert describe_ui_access(resolve_profile("local").conf).startswith("http://localhost:4040")


def test_the_kernels_jupyter_server_with_the_proxy_gives_its_base_url(monkeypatch, tmp_path):
    _server_record(monkeypatch, tmp_path, url="http://127.0.0.1:8899/lab-x/", base_url="/lab-x/")
    assert proxy_base_url() == "/lab-x/"
    conf = proxied_ui_settings({})
    port = int(conf["spark.ui.port"])
    assert conf["spark.ui.proxyBase"] == f"/lab-x/proxy/{port}"
    assert proxied_url(conf["spark.ui.proxyBase"], "http://127.0.0.1:8899/lab-x/") == (
        f"http://127.0.0.1:8899/lab-x/proxy/{port}/jobs/"
    )


def test_a_server_record_of_another_process_is_not_ours(monkeypatch, tmp_path):
    _server_record(monkeypatch, tmp_path, url="http://127.0.0.1:8899/", base_url="/")
    monkeypatch.setenv("JPY_PARENT_PID", "4243")  # nbclient, or a server that is gone
    assert proxy_base_url() is None


def test_off_and_forced(monkeypatch, tmp_path):
    _server_record(monkeypatch, tmp_path, url="http://127.0.0.1:8899/", base_url="/")
    monkeypatch.setenv("MLCOURSE_UI_PROXY", "off")
    assert proxy_base_url() is None
    monkeypatch.setenv("MLCOURSE_UI_PROXY", "user/ada")
    assert proxy_base_url() == "/user/ada/"


def test_jupyterhub_user_and_proxy_port_chosen_before_spark_starts(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTERHUB_USER", "Ada.Lovelace")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/Ada.Lovelace/")
    p = resolve_profile("local")
    assert p.conf["spark.app.name"] == "mlcourse-Ada.Lovelace"
    # configuration binds nothing: the port is chosen where the session starts
    assert "spark.ui.port" not in p.settings
    assert describe_ui_access(p.conf) == (
        "through the Jupyter server: /user/Ada.Lovelace/proxy/<a free port chosen when the "
        "session starts>/jobs/ (jupyter-server-proxy)"
    )
    conf = {**p.settings, **proxied_ui_settings(p.settings)}
    port = conf["spark.ui.port"]
    assert conf["spark.ui.proxyBase"] == f"/user/Ada.Lovelace/proxy/{port}"
    assert describe_ui_access(conf) == (
        f"through the Jupyter server: /user/Ada.Lovelace/proxy/{port}/jobs/ (jupyter-server-proxy)"
    )
    # on a hub the server's public address is not known: the link is a path
    assert proxied_url(conf["spark.ui.proxyBase"], None) == f"/user/Ada.Lovelace/proxy/{port}/jobs/"


def test_a_profile_that_sets_the_port_or_turns_the_ui_off_is_followed(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert proxied_ui_settings({"spark.ui.port": "4999"}) == {
        "spark.ui.port": "4999",
        "spark.ui.proxyBase": "/user/ada/proxy/4999",
    }
    assert proxied_ui_settings({"spark.ui.enabled": "false"}) == {}
    assert proxied_ui_settings({"spark.ui.proxyBase": "/elsewhere"}) == {}


def test_a_taken_port_is_skipped():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        chosen = free_ui_port(port)
    assert chosen != port and port < chosen < port + 16
