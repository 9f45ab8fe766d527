"""Facts about the machine the kernel runs on: its cores and memory as its cgroup (v1 or
v2) allows them, not as the host has them, and memory sizes as Spark writes them
(:func:`size_bytes` reads ``"512m"``, ``"2g"``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = [
    "available_memory_bytes",
    "cpu_count",
    "default_driver_memory",
    "gib",
    "size_bytes",
    "total_memory_bytes",
]


_SIZE = re.compile(r"(\d+)\s*([kmgtp]?)b?", re.IGNORECASE)
_UNITS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def size_bytes(value: str, *, default_unit: str = "m") -> int | None:
    """Bytes of a Spark size (``768m``, ``2g``, ``4096``: MiB when no unit), or None."""
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        return None
    unit = match.group(2).lower() or default_unit
    return int(match.group(1)) * 1024 ** _UNITS[unit]


def gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


_CGROUP = Path("/sys/fs/cgroup")


def _cgroup_cpu_quota() -> float | None:
    """CPUs the cgroup may use (quota / period), or None without a quota."""
    root = _CGROUP
    try:  # cgroup v2: "max 100000" or "200000 100000"
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def cpu_count() -> int:
    """Cores this process may use: its CPU affinity, within its container's CPU quota.

    ``os.cpu_count()`` counts the host's cores; in a container (Binder, a JupyterHub pod,
    Docker with ``--cpus``) the quota is what the process gets. A quota of 1.5 CPUs counts
    as 1, never less than 1.

    Examples
    --------
    >>> cpu_count() >= 1
    True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, max(1, int(quota)))
    return cores


def _cgroup_memory() -> tuple[int, int | None] | None:
    """The cgroup's memory limit and its current use (None if unreadable), or None
    without a limit (cgroup v2, then v1)."""
    for limit_file, usage_file in (
        ("memory.max", "memory.current"),
        ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"),
    ):
        try:
            limit = (_CGROUP / limit_file).read_text().strip()
        except OSError:
            continue
        if limit.isdigit() and int(limit) < 1 << 60:
            try:
                usage: int | None = int((_CGROUP / usage_file).read_text())
            except (OSError, ValueError):
                usage = None
            return int(limit), usage
    return None


def available_memory_bytes() -> int | None:
    """Memory this process can still take: the cgroup's limit less its use, or the machine's
    available memory (``MemAvailable``: free memory and reclaimable cache), the smaller."""
    found: list[int] = []
    cgroup = _cgroup_memory()
    if cgroup is not None and cgroup[1] is not None:
        found.append(max(0, cgroup[0] - cgroup[1]))
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return min(found)


def total_memory_bytes() -> int | None:
    """Memory available to this process: the cgroup limit when one is set, else physical RAM."""
    cgroup = _cgroup_memory()
    if cgroup is not None:
        return cgroup[0]
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_driver_memory() -> str:
    """A quarter of the memory, between 1 and 8 GiB: room for the JVM without starving Python."""
    total = total_memory_bytes()
    if total is None:
        return "2g"
    gib = max(1, min(8, total // 4 // 2**30))
    return f"{gib}g"
