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


#: Where this process's cgroup is described (as the JVM finds it: /proc/self/cgroup, then
#: /proc/self/mountinfo for where each hierarchy is mounted).
_PROC_SELF = Path("/proc/self")


def _own_cgroup_dirs(controller: str) -> list[Path]:
    """The folders of this process's own cgroup for ``controller`` (``"cpu"``, ``"memory"``)
    and of each parent up to the hierarchy's mount, own first: v2 (the unified hierarchy)
    where it holds the controller, else v1. Empty when no cgroup file system is mounted.

    Limits may sit on the process's own group or on any parent (a systemd slice, a hub's
    spawner, a container): reading the files at the root of /sys/fs/cgroup alone sizes
    everything to the host.
    """
    try:
        groups = (_PROC_SELF / "cgroup").read_text().splitlines()
        mounts = (_PROC_SELF / "mountinfo").read_text().splitlines()
    except OSError:
        return []
    paths: dict[str, str] = {}  # "" for v2, else a v1 controller
    for line in groups:
        _, controllers, path = [*line.split(":", 2), "", ""][:3]
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    for line in mounts:
        before, _, after = line.partition(" - ")
        fields, kind = before.split(), after.split()
        if len(fields) < 5 or not kind:
            continue
        root, point = fields[3], Path(fields[4])
        if kind[0] == "cgroup2" and "" in paths:
            key = ""
            if not (point / "cgroup.controllers").is_file():
                continue
            if controller not in (point / "cgroup.controllers").read_text().split():
                continue
        elif kind[0] == "cgroup" and len(kind) > 2 and controller in kind[2].split(","):
            key = next((k for k in paths if controller in k.split(",")), controller)
        else:
            continue
        found = paths.get(key)
        if found is None:
            continue
        relative = found[len(root) :] if found.startswith(root) else found
        own = point / relative.lstrip("/")
        chain = [own, *[p for p in own.parents if p == point or point in p.parents]]
        return [d for d in chain if d.is_dir()]
    return []


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_cpu_quota() -> float | None:
    """CPUs this process's cgroup (and its parents) may use, the smallest quota / period,
    or None without a quota."""
    quotas = []
    for folder in _own_cgroup_dirs("cpu"):
        v2 = _read(folder / "cpu.max")  # "max 100000" or "200000 100000"
        if v2 is not None:
            quota, _, period = v2.partition(" ")
            if quota.isdigit() and period.isdigit() and int(period) > 0:
                quotas.append(int(quota) / int(period))
            continue
        quota_us, period_us = (
            _read(folder / "cpu.cfs_quota_us"),
            _read(folder / "cpu.cfs_period_us"),
        )
        try:
            q, p = int(quota_us or ""), int(period_us or "")
        except ValueError:
            continue
        if q > 0 and p > 0:
            quotas.append(q / p)
    return min(quotas) if quotas else None


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
    """This process's cgroup memory limit (the smallest of its own group's and its
    parents') and its own group's current use (None if unreadable), or None without a
    limit (v2: ``memory.max``, ``memory.current``; v1: ``memory.limit_in_bytes``,
    ``memory.usage_in_bytes``)."""
    folders = _own_cgroup_dirs("memory")
    limits = []
    for folder in folders:
        for name in ("memory.max", "memory.limit_in_bytes"):
            limit = _read(folder / name)
            if limit is not None and limit.isdigit() and int(limit) < 1 << 60:
                limits.append(int(limit))
    if not limits:
        return None
    usage = None
    for name in ("memory.current", "memory.usage_in_bytes"):
        text = _read(folders[0] / name)
        if text is not None and text.isdigit():
            usage = int(text)
            break
    return min(limits), usage


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
