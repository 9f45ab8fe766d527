"""Checking a profile's settings against the machine before a JVM starts: memory sizes
and core counts that Spark would only refuse later (or that would swap), a local master
that cannot be read, and a data directory that is not a folder one can write into.
"""

from __future__ import annotations

import errno
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from mlcourse.config.machine import (
    cpu_count,
    default_driver_memory,
    gib,
    size_bytes,
    total_memory_bytes,
)
from mlcourse.errors import ConfigError

__all__ = ["check_settings", "local_cores", "master_problem"]


_LOCAL_MASTER = re.compile(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?")


def local_cores(master: str) -> int | None:
    """Cores of a local master, the one parser of ``local[N]`` in the package.

    ``local`` -> 1, ``local[N]`` and ``local[N, F]`` (F task retries) -> N, ``local[*]``
    -> every core of this machine; None for any other master.

    Examples
    --------
    >>> local_cores("local[2]"), local_cores("local[4, 3]"), local_cores("local")
    (2, 4, 1)
    >>> local_cores("spark://127.0.0.1:7077") is None
    True
    """
    match = _LOCAL_MASTER.fullmatch(master.strip())
    if match is None:
        return None
    if match.group(1) is None:
        return 1
    return cpu_count() if match.group(1) == "*" else int(match.group(1))


_CLUSTER_MASTER = re.compile(
    r"spark://[^\s/:,]+:\d{1,5}(?:,[^\s/:,]+:\d{1,5})*|k8s://https?://\S+|yarn"
)


def master_problem(master: str) -> str | None:
    """What is wrong with a Spark master URL as written (None when nothing is), so that a
    typo is refused before a JVM starts.

    Examples
    --------
    >>> master_problem("local[2]") is None, master_problem("spark://10.0.0.5:7077") is None
    (True, True)
    >>> master_problem("local[two]").split(":")[0]
    "'local[two]' is not a master Spark understands"
    """
    text = master.strip()
    if local_cores(text) is not None or _CLUSTER_MASTER.fullmatch(text):
        return None
    return (
        f"{master!r} is not a master Spark understands: write local, local[N], local[*], "
        "spark://HOST:PORT, k8s://https://HOST:PORT or yarn"
    )


_MIN_HEAP = 512 * 2**20
_COUNT_KEYS = ("spark.executor.cores", "spark.driver.cores", "spark.cores.max", "spark.task.cpus")


def check_settings(
    master: str, conf: Mapping[str, str], data_dir: str, sources: Mapping[str, str]
) -> None:
    """Check what the JVM would refuse only after starting (with a Java stack trace, or
    not at all until the machine swaps): sizes, memory against this machine's, core
    counts, a ``local[N]`` master, the data directory."""

    def origin(key: str) -> str:
        return sources.get(key, "built-in")

    for key, value in conf.items():
        if not key.endswith((".memory", ".memoryOverhead", ".maxResultSize")):
            continue
        size = size_bytes(str(value))
        if size is None:
            raise ConfigError(
                f"{key} = {value!r} ({origin(key)}) is not a size: write a whole number with "
                "a unit, such as 768m, 2g or 4096m."
            )
        if key in ("spark.driver.memory", "spark.executor.memory") and size < _MIN_HEAP:
            raise ConfigError(
                f"{key} = {value!r} ({origin(key)}) is too small: Spark needs at least 450 "
                "MiB of heap and refuses to start with less. Use 512m or more, e.g. 1g."
            )
    local = master.startswith("local") and not master.startswith("local-cluster")
    if local and local_cores(master) is None:
        raise ConfigError(
            f"master {master!r} ({origin('master')}) is not a local master Spark understands: "
            "write local, local[N] with N a whole number of cores (local[2]), or local[*] "
            "for every core."
        )
    if local and local_cores(master) == 0:
        raise ConfigError(
            f"master {master!r} ({origin('master')}) asks for no cores: use local[1] or more."
        )
    total = total_memory_bytes()
    driver = size_bytes(str(conf.get("spark.driver.memory", "1g"))) or 0
    if local and total and driver > total:
        raise ConfigError(
            f"spark.driver.memory = {conf['spark.driver.memory']!r} "
            f"({origin('spark.driver.memory')}) is more than this machine has "
            f"({gib(total)}, a container's limit included): the JVM would swap or be "
            f"killed. Use at most {max(1, total // 2**30 - 1)}g, e.g. "
            f"{default_driver_memory()} (mlcourse's default, a quarter of the memory)."
        )
    for key in _COUNT_KEYS:
        if key in conf and not (str(conf[key]).strip().isdigit() and int(conf[key]) >= 1):
            raise ConfigError(
                f"{key} = {conf[key]!r} ({origin(key)}) must be a whole number of at least 1, "
                "e.g. 1 or 2."
            )
    _check_data_dir(data_dir, origin("data_dir"))


def _check_data_dir(data_dir: str, origin: str) -> None:
    if not data_dir.strip():
        raise ConfigError(
            f"data_dir is empty ({origin}): name the folder for the course's data, such as "
            './data or ~/data (data_dir = "./data" in mlcourse.toml, or MLCOURSE_DATA_DIR).'
        )
    if "://" in data_dir and not data_dir.startswith("file:"):
        return  # a Hadoop file system: checked when Spark reaches it
    local = Path(data_dir.removeprefix("file://").removeprefix("file:")).expanduser()
    try:
        mode = local.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(
                f"data_dir {data_dir} ({origin}) is a symbolic link loop: a link in it leads "
                "back to itself (ls -l shows where each points). Fix or remove the link, or "
                "name another folder."
            ) from None
        if exc.errno == errno.ENOTDIR:
            raise ConfigError(
                f"data_dir {data_dir} ({origin}) cannot be a folder: a part of its path is a "
                "file. Name another folder."
            ) from None
        return  # missing: created when data are first written
    if not stat.S_ISDIR(mode):
        raise ConfigError(
            f"data_dir {data_dir} ({origin}) is a file, not a folder: name a folder (it is "
            "created when missing), or move the file away."
        )
