"""The course's ``mlcourse.toml``: where it is found, how it is read, and the values its
settings may use (``{user}``, ``{k8s_user}``, ``{hostname}``, ``{ip}``, ``{env[NAME]}``).

The file is the first that exists of ``./mlcourse.toml``, ``$MLCOURSE_CONFIG`` and
``<user config dir>/mlcourse/mlcourse.toml``; :func:`cache_dir` is where downloads are kept.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlcourse.errors import ConfigError, MlcourseError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "cache_dir",
    "check_key",
    "config_path",
    "decode_text",
    "expand",
    "login_user",
    "normalise_conf_key",
    "read_config",
    "read_config_file",
    "template_values",
]


#: Keys of a profile table that are not Spark settings.
_META_KEYS = {
    "master",
    "remote",
    "data_dir",
    "description",
    "workers",
    "sparkmonitor",
    "log_level",
}


def login_user() -> str:
    """Return the JupyterHub user when running on a hub, else the operating-system user.

    Returns
    -------
    str
        ``$JUPYTERHUB_USER`` if set, else the login name of this process.
    """
    hub_user = os.environ.get("JUPYTERHUB_USER")
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. some containers
        return os.environ.get("USER") or os.environ.get("USERNAME") or "student"


def _k8s_safe(name: str) -> str:
    """Make ``name`` a valid DNS-1123 label (lowercase alphanumerics and dashes)."""
    safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return (safe or "user")[:63]


def template_values() -> dict[str, Any]:
    user = login_user()
    hostname = socket.gethostname()
    try:
        ip = socket.gethostbyname(hostname)
    except OSError:
        ip = "127.0.0.1"
    return {
        "user": user,
        "k8s_user": _k8s_safe(user),
        "hostname": hostname,
        "ip": ip,
        "env": dict(os.environ),
    }


def expand(value: Any, values: Mapping[str, Any], *, where: str) -> str:
    """Render a configuration value as a string, filling ``{user}``-style templates."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if "{" not in text:
        return text
    try:
        return text.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"cannot fill in {text!r} ({where}): unknown or malformed placeholder {exc}. "
            "Known placeholders: {user}, {k8s_user}, {hostname}, {ip}, {env[NAME]}; "
            "write literal braces as {{ and }}."
        ) from None


def _platform_dir(*, windows: tuple[str, str], macos: str, xdg: tuple[str, str]) -> Path:
    """This user's ``mlcourse`` folder of a kind: Windows ``(env var, default under ~)``,
    macOS ``~/Library/...``, else XDG ``(env var, default under ~)``."""
    if sys.platform == "win32":
        base = Path(os.environ.get(windows[0]) or Path.home() / windows[1])
    elif sys.platform == "darwin":
        base = Path.home() / macos
    else:
        base = Path(os.environ.get(xdg[0]) or Path.home() / xdg[1])
    return base / "mlcourse"


def _user_config_dir() -> Path:
    return _platform_dir(
        windows=("APPDATA", "AppData/Roaming"),
        macos="Library/Application Support",
        xdg=("XDG_CONFIG_HOME", ".config"),
    )


def cache_dir() -> Path:
    """This user's local folder for downloads that feed a remote data directory (``hdfs://``):
    ``$MLCOURSE_CACHE_DIR``, else the platform's cache folder (``~/.cache/mlcourse``)."""
    if os.environ.get("MLCOURSE_CACHE_DIR"):
        return Path(os.environ["MLCOURSE_CACHE_DIR"])
    return _platform_dir(
        windows=("LOCALAPPDATA", "AppData/Local"),
        macos="Library/Caches",
        xdg=("XDG_CACHE_HOME", ".cache"),
    )


def config_path() -> Path | None:
    """Return the configuration file that applies here, or None.

    The first that exists of ``./mlcourse.toml``, ``$MLCOURSE_CONFIG`` and
    ``<user config dir>/mlcourse/mlcourse.toml``.

    Returns
    -------
    Path or None
        The file to read.

    Raises
    ------
    ConfigError
        If ``$MLCOURSE_CONFIG`` names a file that does not exist.
    """
    local = Path.cwd() / "mlcourse.toml"
    if local.is_file():
        return local
    env = os.environ.get("MLCOURSE_CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"MLCOURSE_CONFIG={env} but there is no such file; "
                "point it at an existing mlcourse.toml or unset it."
            )
        return path
    user = _user_config_dir() / "mlcourse.toml"
    return user if user.is_file() else None


def decode_text(
    data: bytes,
    path: str | os.PathLike[str],
    *,
    what: str,
    error: type[MlcourseError] = ConfigError,
) -> str:
    """UTF-8 text of a file's bytes, a leading byte-order mark dropped (Windows editors
    write one); a byte that is not UTF-8 is an ``error`` (:class:`ConfigError` unless
    told) naming the file, the line, the column and the byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(
            f"{os.fspath(path)}, line {line}, column {column}: byte 0x{data[exc.start]:02x} is "
            f"not UTF-8, the encoding {what} must have (the file was probably saved as "
            "Windows-1252 or Latin-1). Save it as UTF-8 in your editor, or replace that "
            "character."
        ) from None


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The course's ``mlcourse.toml`` as a dict: ``path``, else :func:`config_path`'s file
    ({} when there is none).

    Raises
    ------
    ConfigError
        When the file is not valid TOML or its profiles are not tables.
    """
    return read_config_file(path if path is not None else config_path())


def read_config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    text = decode_text(path.read_bytes(), path, what="an mlcourse.toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(
            f"{path}: profiles must be tables, e.g. [profiles.local] followed by key = value lines."
        )
    return data


def check_key(key: str, *, where: str) -> None:
    if key not in _META_KEYS and not key.startswith("spark."):
        known = ", ".join(sorted(_META_KEYS))
        raise ConfigError(
            f"unknown setting {key!r} in {where}: use a Spark key (spark.…) or one of {known}."
        )


def normalise_conf_key(key: str) -> str:
    """Accept ``spark_executor_memory`` as a spelling of ``spark.executor.memory``."""
    if key.startswith("spark_"):
        return key.replace("_", ".")
    return key
