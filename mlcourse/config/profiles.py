"""Profiles: where Spark runs and where the data lives, resolved from configuration.

A *profile* is a Spark master plus ``spark.*`` settings plus a data directory. Five are
built in (``local``, ``binder``, ``standalone``, ``k8s``, ``yarn``); a TOML file can add new
ones or override any key of the built-in ones::

    default = "k8s"                       # the profile used when none is named

    [profiles.k8s]
    master = "k8s://https://kubernetes.default.svc:443"
    data_dir = "hdfs://namenode:8020/user/{user}"
    "spark.kubernetes.container.image" = "registry.example.org/spark-py:4.0.0"
    "spark.kubernetes.namespace" = "spark-{k8s_user}"
    "spark.executor.instances" = 4

The file is the first that exists of ``./mlcourse.toml``, ``$MLCOURSE_CONFIG`` and
``<user config dir>/mlcourse/mlcourse.toml``. Values may use ``{user}`` (the JupyterHub
user, else the OS user), ``{k8s_user}`` (the same, made safe for Kubernetes names),
``{hostname}``, ``{ip}`` and ``{env[NAME]}``.

Precedence, lowest first: built-in profile, configuration file, environment
(``MLCOURSE_PROFILE``, ``MLCOURSE_MASTER``, ``MLCOURSE_DATA_DIR``), arguments.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcourse.config.files import (
    check_key,
    config_path,
    expand,
    normalise_conf_key,
    read_config_file,
    template_values,
)
from mlcourse.config.machine import cpu_count, default_driver_memory
from mlcourse.config.settings import session_records, spark_environment, spark_settings
from mlcourse.config.validation import check_settings, local_cores
from mlcourse.errors import ConfigError

__all__ = ["BUILTIN_PROFILES", "SparkProfile", "data_dir", "resolve_profile"]

log = logging.getLogger(__name__)

BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    "local": {
        "description": "this machine, local[N] with N = workers or all cores",
        "master": "local[{workers}]",
    },
    "binder": {
        "description": "mybinder.org and other 1-2 GB containers: local[2], small driver",
        "master": "local[2]",
        "spark.driver.memory": "768m",
        # the serial collector: about 0.3 GB less resident memory than G1 for a driver of
        # this size, at no cost in time; and a heap given back down to 30% free after a
        # collection (default 70%) instead of kept at its high-water mark: 0.1 GB less
        # (benchmarks/notebook_budget.py)
        "spark.driver.extraJavaOptions": (
            "-XX:+UseSerialGC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"
        ),
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.showConsoleProgress": "false",
    },
    "standalone": {
        "description": "a Spark standalone cluster (spark://host:port)",
        "spark.executor.cores": "1",
    },
    "k8s": {
        "description": "Spark on Kubernetes in client mode, driver in the notebook pod",
        "spark.submit.deployMode": "client",
        "spark.driver.bindAddress": "0.0.0.0",
    },
    "yarn": {
        "description": "Hadoop YARN in client mode, driver in the notebook",
        "master": "yarn",
        "spark.submit.deployMode": "client",
    },
    "connect": {
        "description": "a Spark Connect server (sc://host:port): no JVM in the kernel; "
        "SPARK_REMOTE overrides the address, SPARK_CONNECT_AUTHENTICATE_TOKEN is the token",
        "remote": "sc://localhost:15002",
    },
}

_DEFAULT_DATA_DIR = "./data"
# Service-account namespace file that Kubernetes mounts into every pod.
_K8S_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass
class SparkProfile:
    """A fully resolved profile: everything needed to build a SparkSession.

    Attributes
    ----------
    name : str
        Profile name.
    master : str
        Spark master URL (``local[2]``, ``spark://...``, ``k8s://...``, ``yarn``).
    conf : dict of str to str
        ``spark.*`` settings to pass to the session builder.
    data_dir : str
        Directory (local path or Hadoop URI) where data sets are kept.
    workers : int or None
        Requested parallelism: local cores or executors.
    remote : str or None
        The ``sc://`` address of a Spark Connect server (the ``connect`` profile): the
        session is a thin client, ``master`` is that address too and ``conf`` holds only
        runtime settings.
    sparkmonitor : bool or None
        Force the sparkmonitor listener on or off; ``None`` decides automatically.
    log_level : str
        Spark log level set after start-up.
    config_file : Path or None
        The configuration file that was read, if any.
    sources : dict of str to str
        For ``profile``, ``master``, ``data_dir`` and each setting, where its value came from.
    """

    name: str
    master: str
    conf: dict[str, str] = field(default_factory=dict)
    data_dir: str = _DEFAULT_DATA_DIR
    workers: int | None = None
    sparkmonitor: bool | None = None
    log_level: str = "WARN"
    remote: str | None = None
    config_file: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        """True when the master runs everything in this process's JVM."""
        return self.master.startswith("local")

    @property
    def settings(self) -> dict[str, str]:
        """Everything the session builder is given: :func:`spark_settings` for a classic
        driver, the runtime settings and mlcourse's records for a Spark Connect client."""
        if self.remote is not None:
            return {**self.conf, **session_records(self)}
        return spark_settings(self)

    @property
    def environment(self) -> dict[str, str]:
        """Environment variables to set (unless set already) before the JVM starts
        (:func:`spark_environment`)."""
        return spark_environment(self)

    def __str__(self) -> str:
        lines = [f"profile {self.name!r} ({self.sources.get('profile', 'built-in')})"]
        lines.append(f"  master   = {self.master}  [{self.sources.get('master', 'built-in')}]")
        lines.append(f"  data_dir = {self.data_dir}  [{self.sources.get('data_dir', 'default')}]")
        for key in sorted(self.conf):
            lines.append(f"  {key} = {self.conf[key]}  [{self.sources.get(key, 'built-in')}]")
        return "\n".join(lines)


#: The heap Spark needs at least in a driver or executor (it refuses less than 450 MiB).
def resolve_profile(
    profile: str | None = None,
    *,
    workers: int | None = None,
    app_name: str | None = None,
    conf: Mapping[str, Any] | None = None,
) -> SparkProfile:
    """Resolve a profile name and overrides into a :class:`SparkProfile`.

    Nothing is started and nothing is bound: this is pure configuration, the one plan
    :func:`mlcourse.get_spark` builds a session from (its :attr:`SparkProfile.settings` and
    :attr:`SparkProfile.environment`). The Spark UI's port behind a Jupyter server's proxy
    is chosen when the session starts (:func:`mlcourse.runtime.webui.proxied_ui_settings`).

    Parameters
    ----------
    profile : str, optional
        Profile name. Default: ``$MLCOURSE_PROFILE``, else ``default`` from the
        configuration file, else ``"local"``.
    workers : int, optional
        Local cores (``local[N]``) or number of executors on a cluster.
    app_name : str, optional
        Spark application name. Default ``mlcourse-<user>``.
    conf : mapping, optional
        Extra ``spark.*`` settings; they win over everything else. ``spark_x_y`` is accepted
        for ``spark.x.y``.

    Returns
    -------
    SparkProfile
        The resolved profile, with the origin of every value in ``sources``.

    Raises
    ------
    ConfigError
        Unknown profile, unknown key, bad ``workers``, or a cluster profile missing its
        master or container image.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise ConfigError(f"workers must be a positive whole number, got {workers!r}.")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}.")

    path = config_path()
    config = read_config_file(path)
    sources: dict[str, str] = {}
    name = _profile_name(profile, config, path, sources)
    settings = _profile_settings(name, config, path, conf, sources)

    if workers is not None:
        sources["workers"] = "argument"
    elif "workers" in settings:
        workers = int(settings["workers"])

    remote = _resolve_remote(name, settings.pop("remote", None), sources)
    if remote is not None:
        return _remote_profile(name, remote, settings, sources, path, app_name)
    if os.environ.get("SPARK_REMOTE"):
        raise ConfigError(
            f"SPARK_REMOTE is set ({os.environ['SPARK_REMOTE']}), which makes pyspark join "
            f"that Spark Connect server, but profile {name!r} ({sources['profile']}) starts "
            "a classic driver: use the connect profile (%spark --profile connect), or unset "
            "SPARK_REMOTE for a classic session"
        )
    return _classic_profile(name, settings, sources, workers, app_name, path)


def _classic_profile(
    name: str,
    settings: dict[str, Any],
    sources: dict[str, str],
    workers: int | None,
    app_name: str | None,
    path: Path | None,
) -> SparkProfile:
    """The plan of a classic driver: the master, the Spark settings with the profile's
    rules and the templates filled in, the data directory; checked against the machine."""
    values = template_values()
    master_raw = settings.pop("master", None)
    data_dir_raw = settings.pop("data_dir", _DEFAULT_DATA_DIR)
    sources.setdefault("data_dir", "default")
    monitor = settings.pop("sparkmonitor", None)
    log_level = str(settings.pop("log_level", "WARN")).upper()
    settings.pop("description", None)
    settings.pop("workers", None)
    spark_conf = {k: expand(v, values, where=f"{k}, {sources[k]}") for k, v in settings.items()}

    master = _resolve_master(name, master_raw, workers, sources, values)
    _apply_profile_rules(name, master, workers, spark_conf, sources, values)

    if app_name is not None:
        spark_conf["spark.app.name"], sources["spark.app.name"] = app_name, "argument"
    elif "spark.app.name" not in spark_conf:
        spark_conf["spark.app.name"] = f"mlcourse-{values['user']}"
        sources["spark.app.name"] = "default"

    data_dir = expand(data_dir_raw, values, where=f"data_dir, {sources['data_dir']}")
    check_settings(master, spark_conf, data_dir, sources)
    return SparkProfile(
        name=name,
        master=master,
        conf=spark_conf,
        data_dir=data_dir,
        workers=workers,
        sparkmonitor=None if monitor is None else bool(monitor),
        log_level=log_level,
        config_file=path,
        sources=sources,
    )


def _profile_name(
    profile: str | None, config: Mapping[str, Any], path: Path | None, sources: dict[str, str]
) -> str:
    """Which profile: the argument, ``$MLCOURSE_PROFILE``, the file's ``default``,
    ``connect`` when ``$SPARK_REMOTE`` is set, else ``local`` (recorded in ``sources``)."""
    where_file = f"config file {path}"
    if profile is not None:
        name, sources["profile"] = profile, "argument"
    elif os.environ.get("MLCOURSE_PROFILE"):
        name, sources["profile"] = os.environ["MLCOURSE_PROFILE"], "env MLCOURSE_PROFILE"
    elif "default" in config:
        name, sources["profile"] = str(config["default"]), where_file
    elif os.environ.get("SPARK_REMOTE"):  # Spark's own way to say: join this server
        name, sources["profile"] = "connect", "env SPARK_REMOTE"
    else:
        name, sources["profile"] = "local", "built-in default"
    known = sorted(set(BUILTIN_PROFILES) | set(config.get("profiles", {})))
    if name not in known:
        raise ConfigError(
            f"unknown profile {name!r} ({sources['profile']}). Known profiles: "
            f"{', '.join(known)}. Add [profiles.{name}] to an mlcourse.toml to define it."
        )
    return name


def _profile_settings(
    name: str,
    config: Mapping[str, Any],
    path: Path | None,
    conf: Mapping[str, Any] | None,
    sources: dict[str, str],
) -> dict[str, Any]:
    """A profile's keys, lowest first: built in, the file, the environment, the arguments
    (each one's origin recorded in ``sources``)."""
    file_profiles: dict[str, dict[str, Any]] = config.get("profiles", {})
    settings: dict[str, Any] = {}
    for key, value in BUILTIN_PROFILES.get(name, {}).items():
        settings[key] = value
        sources[key] = "built-in"
    for key, value in file_profiles.get(name, {}).items():
        check_key(key, where=f"[profiles.{name}] of {path}")
        settings[key] = value
        sources[key] = f"config file {path}"
    if os.environ.get("MLCOURSE_MASTER"):
        settings["master"], sources["master"] = os.environ["MLCOURSE_MASTER"], "env MLCOURSE_MASTER"
    if os.environ.get("MLCOURSE_DATA_DIR"):
        settings["data_dir"] = os.environ["MLCOURSE_DATA_DIR"]
        sources["data_dir"] = "env MLCOURSE_DATA_DIR"
    for key, value in (conf or {}).items():
        key = normalise_conf_key(key)
        check_key(key, where="the arguments")
        settings[key] = value
        sources[key] = "argument"
    return settings


def _resolve_remote(name: str, raw: Any, sources: dict[str, str]) -> str | None:
    """The Spark Connect address of a profile that has one (``SPARK_REMOTE`` wins)."""
    if raw is None:
        return None
    if os.environ.get("SPARK_REMOTE"):
        raw, sources["remote"] = os.environ["SPARK_REMOTE"], "env SPARK_REMOTE"
    text = str(raw)
    if not text.startswith("sc://"):
        raise ConfigError(
            f"profile {name!r}: remote must be a Spark Connect address such as "
            f"sc://localhost:15002, not {text!r} ({sources['remote']})"
        )
    return text


def _remote_profile(
    name: str,
    remote: str,
    settings: dict[str, Any],
    sources: dict[str, str],
    path: Path | None,
    app_name: str | None,
) -> SparkProfile:
    """A profile for a Spark Connect session: only runtime settings make sense (the
    server's driver and executors are the server's)."""
    data_dir = str(settings.pop("data_dir", _DEFAULT_DATA_DIR))
    sources.setdefault("data_dir", "default")
    sources["master"] = sources["remote"]
    log_level = str(settings.pop("log_level", "WARN")).upper()
    for key in ("description", "workers", "sparkmonitor", "master"):
        settings.pop(key, None)
    conf = {k: str(v) for k, v in settings.items()}
    if app_name is not None:
        conf["spark.app.name"] = app_name
    return SparkProfile(
        name=name,
        master=remote,
        conf=conf,
        data_dir=data_dir,
        log_level=log_level,
        config_file=path,
        sources=sources,
        remote=remote,
    )


def _resolve_master(
    name: str,
    raw: Any,
    workers: int | None,
    sources: dict[str, str],
    values: Mapping[str, Any],
) -> str:
    if raw is None and name == "k8s":
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if host:
            raw = f"k8s://https://{host}:{port}"
            sources["master"] = "env KUBERNETES_SERVICE_HOST (in-cluster API server)"
    if raw is None:
        hint = {
            "standalone": 'master = "spark://HOST:7077"',
            "k8s": 'master = "k8s://https://API-SERVER:443"',
        }.get(name, 'master = "local[*]"')
        raise ConfigError(
            f"profile {name!r} has no Spark master. Set it in mlcourse.toml under "
            f"[profiles.{name}] ({hint}) or export MLCOURSE_MASTER."
        )
    text = str(raw)
    if "{workers}" in text:
        n = workers if workers is not None else cpu_count()
        text = text.replace("{workers}", str(n))
        sources.setdefault("master", "built-in")
    elif workers is not None and local_cores(text) is not None and "," not in text:
        text = f"local[{workers}]"
        sources["master"] = "argument (workers)"
    sources.setdefault("master", "built-in")
    return expand(text, values, where=f"master, {sources['master']}")


def _apply_profile_rules(
    name: str,
    master: str,
    workers: int | None,
    conf: dict[str, str],
    sources: dict[str, str],
    values: Mapping[str, Any],
) -> None:
    """Defaults that depend on the kind of master rather than on the profile's name."""

    def default(key: str, value: str, origin: str = "built-in") -> None:
        if key not in conf:
            conf[key], sources[key] = value, origin

    # Spark truncates plans of wide rows with a warning otherwise: 29 HIGGS columns, and an
    # aggregation of every feature's mean and spread holds 140 buffer fields.
    default("spark.sql.debug.maxToStringFields", "1000")
    if master.startswith("local"):
        n = local_cores(master) or cpu_count()
        default("spark.driver.memory", default_driver_memory(), "built-in (a quarter of memory)")
        default("spark.sql.shuffle.partitions", str(max(4, 2 * n)))
        # Bind to loopback: avoids the hostname-resolution failures laptops are known for.
        default("spark.driver.host", "127.0.0.1")
        default("spark.driver.bindAddress", "127.0.0.1")
    else:
        if workers is not None:
            if master.startswith("spark://"):
                conf["spark.cores.max"] = str(workers * int(conf.get("spark.executor.cores", "1")))
                sources["spark.cores.max"] = "argument (workers)"
            else:
                conf["spark.executor.instances"] = str(workers)
                sources["spark.executor.instances"] = "argument (workers)"
    if master.startswith("k8s://"):
        if "spark.kubernetes.container.image" not in conf:
            raise ConfigError(
                f"profile {name!r} runs on Kubernetes but names no executor image. Add "
                '"spark.kubernetes.container.image" = "REGISTRY/IMAGE:TAG" under '
                f"[profiles.{name}] in mlcourse.toml (the instructor's config)."
            )
        namespace = None
        if _K8S_NAMESPACE_FILE.is_file():
            namespace = _K8S_NAMESPACE_FILE.read_text().strip() or None
        default("spark.kubernetes.namespace", namespace or "default", "pod service account")
        default("spark.driver.host", str(values["ip"]), "this pod's address")
        default("spark.executor.instances", "2")
        default("spark.kubernetes.executor.podNamePrefix", f"spark-{values['k8s_user']}")
        default("spark.kubernetes.executor.label.mlcourse-user", str(values["k8s_user"]))
    if master == "yarn" and not (
        os.environ.get("HADOOP_CONF_DIR") or os.environ.get("YARN_CONF_DIR")
    ):
        log.warning(
            "profile %r uses YARN but neither HADOOP_CONF_DIR nor YARN_CONF_DIR is set; "
            "Spark will not find the resource manager. Export HADOOP_CONF_DIR=/etc/hadoop/conf.",
            name,
        )


def data_dir(profile: str | None = None) -> str:
    """Return the data directory of a profile (default: the one :func:`resolve_profile`
    picks: ``$MLCOURSE_PROFILE``, the configuration file's default, else ``local``).

    The data directory of a running session is :func:`mlcourse.data.resolve_data_dir`
    ``(spark)``: the one its profile had when :func:`mlcourse.get_spark` built it.

    Parameters
    ----------
    profile : str, optional
        Profile name; resolved as in :func:`resolve_profile`.

    Returns
    -------
    str
        A local path or a Hadoop URI such as ``hdfs://namenode:8020/user/alice``.
    """
    return resolve_profile(profile).data_dir
