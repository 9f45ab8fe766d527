"""Run an untrusted command in a box of its own: another user, its own processes and network.

``mlcourse grade`` runs each student's kernel here. As root on Linux the box is made of the
kernel's own namespaces and an unused user id, no container runtime needed:

* **a user of its own** (an id no account and no running process has), no supplementary
  groups, ``umask 077``: it can write only its own working folder and what the world may
  write (``/tmp``, where its files stay private to it);
* **a mount namespace** in which the folders it must not see (the gradebook, the other
  submissions) are covered by an empty read-only ``tmpfs``, with only the paths it needs
  (the prepared data) shown again under a writable layer of its own (an ``overlay``: the
  data stay unchanged, what it writes there is its own and goes with it), and with a fresh
  ``/proc`` showing only its own processes (no other command line, environment or path);
* **a PID namespace**: its first process is an init that the box's launcher watches; when the
  command ends, or the launcher is killed, the init exits and the kernel kills every process
  left in the namespace, new sessions and double forks included;
* **a network namespace** with loopback only: Spark's driver and its Python workers talk on
  their own ``127.0.0.1``; nothing outside the box can be reached, and the grading runner
  talks to the kernel through Unix sockets in the working folder.

Folders above the interpreter that the new user could not enter (a ``pyenv`` under a private
``/root``) are replaced in the box by an empty, enterable folder holding only the way to it.
Where the box cannot be made (not root, not Linux, namespaces forbidden) :func:`sandbox_problem`
says why, and the grader falls back to a private working folder under the grader's own user.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import json
import os
import signal
import socket
import stat
import struct
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "Box",
    "free_user_id",
    "kill_user",
    "make_work",
    "process_pss",
    "process_tree",
    "sandbox_problem",
]

_CLONE_NEWNS, _CLONE_NEWPID, _CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 0x4000, 1 << 18
_MNT_DETACH = 2
_PR_SET_PDEATHSIG = 1
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
#: The first user id the grader gives a box; ids in use on the machine are skipped.
FIRST_BOX_UID = 61_000


@dataclass
class Box:
    """What one box holds. Every path is absolute and, unless said, seen at the same place
    inside the box as outside.

    Attributes
    ----------
    uid : int
        The user (and group) id the command runs as.
    work : str
        The box's own folder (made by :func:`make_work`): its home, its ``/tmp``, its account
        files and the Unix sockets it talks through.
    hide : list of str
        Folders covered by an empty read-only file system in the box.
    readonly : list of str
        Folders inside ``hide`` that the box sees again (the prepared data): what is in them
        is the caller's and unchanged; what the box writes there goes to a layer of its own
        (an ``overlay``), gone with the box.
    reach : list of str
        Paths the command must be able to open (the interpreter, the package, Java).
    """

    uid: int
    work: str
    hide: list[str] = field(default_factory=list)
    readonly: list[str] = field(default_factory=list)
    reach: list[str] = field(default_factory=list)

    @property
    def home(self) -> str:
        """The command's working folder and ``$HOME``."""
        return str(Path(self.work) / "home")

    @property
    def runtime(self) -> str:
        """Where the command's connection file and sockets go (its user may write there)."""
        return str(Path(self.work) / "runtime")

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` as it runs in this box: the launcher, the work folder, then ``argv``. The
        box itself is written to ``work/box.json`` (the caller's alone): a command line is
        world-readable, and the folders it names are what the box must not learn."""
        spec = Path(self.work) / "box.json"
        spec.write_text(json.dumps(asdict(self)), encoding="utf-8")
        spec.chmod(0o600)
        return [sys.executable, "-m", "mlcourse.course.sandbox", self.work, "--", *argv]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def sandbox_problem() -> str | None:
    """Why a box cannot be made here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"namespaces are Linux's; this is {sys.platform}"
    if os.geteuid() != 0:
        return "the box needs root (it changes user and makes namespaces); grading runs as yourself"
    pid = os.fork()
    if pid == 0:  # try it in a child that exits at once
        code = 0 if _libc().unshare(_CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET) == 0 else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return "this machine forbids new namespaces (a container without CAP_SYS_ADMIN?)"
    return None


def make_work(uid: int, parent: str | None = None) -> Path:
    """A new work folder for a box of ``uid``: the folder itself the caller's (mode 711),
    ``home``, ``tmp`` and ``runtime`` the box user's (mode 700), ``etc`` with an account
    named ``student`` for ``uid`` (the JVM and Hadoop look the user up by id)."""
    work = Path(tempfile.mkdtemp(prefix="mlcourse-box-", dir=parent))
    work.chmod(0o711)
    for name in ("home", "tmp", "runtime"):
        (work / name).mkdir(mode=0o700)
        os.chown(work / name, uid, uid)
    etc = work / "etc"
    etc.mkdir()
    for name, line in (
        ("passwd", f"student:x:{uid}:{uid}:student:{work / 'home'}:/bin/sh"),
        ("group", f"student:x:{uid}:"),
    ):
        with contextlib.suppress(OSError):
            system = Path("/etc", name).read_text(encoding="utf-8")
            kept = [entry for entry in system.splitlines() if entry.split(":")[:1] == ["root"]]
            line = "\n".join([*kept, line])
        (etc / name).write_text(line + "\n", encoding="utf-8")
    return work


def _uids_in_use() -> set[int]:
    used = set()
    with contextlib.suppress(OSError):
        for line in Path("/etc/passwd").read_text(encoding="utf-8").splitlines():
            fields = line.split(":")
            if len(fields) > 3 and fields[2].isdigit():
                used.add(int(fields[2]))
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                used.add(entry.stat().st_uid)
    return used


def process_pss(pid: int) -> int:
    """The proportional set size of one process in bytes (shared pages counted once over
    the processes that share them, as a container's memory limit counts them); 0 once it
    is gone."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from Linux's /proc (a kernel runs in a session of its
    own, so a process group does not hold it)."""
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        with contextlib.suppress(OSError, ValueError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                queue += [int(c) for c in (task / "children").read_text().split()]
    return found


def kill_user(uid: int) -> int:
    """Kill every process of ``uid`` (what a box left, should anything have escaped its
    namespace); the number killed."""
    killed = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    os.kill(int(entry.name), signal.SIGKILL)
                    killed += 1
    return killed


def free_user_id(taken: Iterable[int] = ()) -> int:
    """A user id that no account, no running process and nothing in ``taken`` has."""
    used = _uids_in_use() | set(taken)
    uid = FIRST_BOX_UID
    while uid in used:
        uid += 1
    return uid


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(libc: ctypes.CDLL, source: str | None, target: str, kind: str | None, flags: int,
           data: str | None = None) -> None:  # fmt: skip
    encode = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(
        libc.mount(encode(source), encode(target), encode(kind), flags, encode(data)),
        f"mount {target}",
    )


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | _IFF_UP))


def _enterable(path: Path, uid: int) -> bool:
    info = path.stat()
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    return bool(info.st_mode & stat.S_IXOTH)


def _handle(path: Path) -> str:
    """A name for ``path`` that stays valid after what is above it is covered: the
    process's own descriptor of it, as ``/proc/self/fd/N`` (a bind mount follows it)."""
    return f"/proc/self/fd/{os.open(path, os.O_PATH)}"


def _open_the_way(libc: ctypes.CDLL, target: Path, uid: int) -> None:
    """Make every folder above ``target`` enterable for ``uid``: a folder it cannot enter is
    covered by an empty ``tmpfs`` (mode 711) holding only the next step, bound back."""
    parts = target.resolve().parts
    for depth in range(1, len(parts)):
        folder = Path(*parts[:depth])
        if _enterable(folder, uid):
            continue
        step = folder / parts[depth]
        original = _handle(step)
        _mount(libc, "tmpfs", str(folder), "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=711,size=64k")
        step.mkdir() if Path(original).is_dir() else step.touch()
        _mount(libc, original, str(step), None, _MS_BIND | _MS_REC)


def _build(box: Box, libc: ctypes.CDLL) -> None:
    """The mounts of the box, made by its init (root, in the new namespaces)."""
    work = Path(box.work)
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
    _mount(libc, "proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    for index, path in enumerate(box.readonly):  # an upper layer of its own over each
        layer = work / "layers" / str(index)
        (layer / "work").mkdir(parents=True)
        (layer / "upper").mkdir()
        os.chown(layer / "upper", box.uid, box.uid)
        (layer / "upper").chmod(0o755)
        options = f"lowerdir={path},upperdir={layer / 'upper'},workdir={layer / 'work'}"
        _mount(libc, "overlay", path, "overlay", _MS_NOSUID | _MS_NODEV, options)
    # (a handle, where it goes back, read-only?): the box's own folder, the data, and what it
    # must reach that the covers would hide (a virtual environment under /tmp)
    covers = [Path("/tmp"), *map(Path, box.hide)]
    under = [
        Path(p) for p in box.reach
        if Path(p).exists() and any(c in Path(p).resolve().parents for c in covers)
    ]  # fmt: skip
    kept = [(_handle(work), work, False)] + [
        (_handle(Path(p)), Path(p), False) for p in box.readonly
    ]
    kept += [(_handle(p.resolve()), p.resolve(), True) for p in under]
    _mount(libc, str(work / "tmp"), "/tmp", None, _MS_BIND)  # its own /tmp, cleared with it
    _mount(libc, "tmpfs", "/dev/shm", "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=1777")
    cover = "mode=755,size=64k"
    hide = [p for p in box.hide if Path(p).is_dir()]  # one under /tmp is gone already
    for covered in hide:
        _mount(libc, "tmpfs", covered, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, cover)
    for handle, back, readonly in kept:
        if Path(handle).is_dir():
            back.mkdir(parents=True, exist_ok=True)
        else:
            back.parent.mkdir(parents=True, exist_ok=True)
            back.touch()
        _mount(libc, handle, str(back), None, _MS_BIND | _MS_REC)
        if readonly:
            flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
            _mount(libc, None, str(back), None, flags)
    for name in ("passwd", "group"):
        _mount(libc, str(work / "etc" / name), f"/etc/{name}", None, _MS_BIND)
    for covered in hide:  # the covers themselves read-only
        flags = _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
        _mount(libc, "tmpfs", covered, "tmpfs", flags, cover)
    for path in box.reach:
        _open_the_way(libc, Path(path), box.uid)
    os.closerange(3, 4096)  # the handles: nothing of the outside stays open


def _forward(child: int) -> None:
    def send(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, send)


def _wait(child: int) -> int:
    """Reap every child until ``child`` ends; its exit code (128 + signal when killed)."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == child:
            return (
                os.waitstatus_to_exitcode(status) % 256
                if os.WIFEXITED(status)
                else (128 + os.WTERMSIG(status))
            )


def _launch(box: Box, argv: list[str]) -> int:
    """The launcher (root): new namespaces, an init inside them, the command as the box's user."""
    libc = _libc()
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # its starter gone: all gone
    _check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET), "unshare")
    _loopback_up()
    init = os.fork()
    if init:
        _forward(init)
        return _wait(init)
    try:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the launcher gone: all gone
        _build(box, libc)
        command = os.fork()
        if command == 0:
            os.setgroups([])
            os.setgid(box.uid)
            os.setuid(box.uid)
            os.umask(0o077)
            os.chdir(box.home)
            os.environ.update(HOME=box.home, USER="student", LOGNAME="student")
            os.environ.update(SPARK_USER="student", HADOOP_USER_NAME="student")
            # the parent's pid means nothing in here (an ipykernel would take its parent, the
            # box's init, for gone): the box ends the command when the launcher goes
            os.environ.pop("JPY_PARENT_PID", None)
            os.execvp(argv[0], argv)
        _forward(command)
        os._exit(_wait(command))
    except BaseException as error:  # the init must never return into the launcher's code
        print(f"mlcourse sandbox: {error}", file=sys.stderr, flush=True)
        os._exit(125)


def main(arguments: Sequence[str]) -> int:
    """``python -m mlcourse.course.sandbox WORK -- COMMAND...`` (the box in ``WORK/box.json``)."""
    if len(arguments) < 3 or arguments[1] != "--":
        print("usage: python -m mlcourse.course.sandbox WORK -- COMMAND...", file=sys.stderr)
        return 2
    try:
        spec = json.loads((Path(arguments[0]) / "box.json").read_text(encoding="utf-8"))
        return _launch(Box(**spec), list(arguments[2:]))
    except OSError as error:
        print(f"mlcourse sandbox: the box could not be made: {error}", file=sys.stderr)
        return 125


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
