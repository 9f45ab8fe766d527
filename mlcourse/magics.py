"""IPython magics of the course, registered by ``%load_ext mlcourse``.

==================  ======================================================
``%spark [N]``      the Spark session (``N`` workers), also bound to ``spark``
``%spark_stop``     stop it
``%data_path``      the profile's data directory
``%login_user``     the JupyterHub user, else the OS user
==================  ======================================================
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .config import login_user, resolve_profile
from .errors import MlcourseError
from .session import active_profile, get_spark, stop_spark

__all__ = ["CourseMagics", "load_ipython_extension"]


@magics_class
class CourseMagics(Magics):
    """The course's line magics; see the module docstring for the list."""

    @magic_arguments()
    @argument("workers", nargs="?", type=int, help="number of local cores or cluster executors")
    @argument("-p", "--profile", help="profile name (local, binder, standalone, k8s, yarn, ...)")
    @line_magic
    def spark(self, line: str) -> Any:
        """Start (or return) the Spark session and bind it to ``spark``.

        Usage: ``spark = %spark``, ``%spark 4``, ``%spark --profile k8s 10``.
        """
        args = parse_argstring(self.spark, line)
        if args.workers is not None and args.workers < 1:
            raise UsageError(
                f"%spark: the number of workers must be at least 1, not {args.workers}"
            )
        try:
            session = get_spark(args.profile, workers=args.workers)
        except MlcourseError as exc:
            raise UsageError(f"%spark: {exc}") from None
        self.shell.user_ns["spark"] = session
        return session

    @line_magic
    def spark_stop(self, line: str) -> None:
        """Stop the Spark session started with ``%spark``."""
        if line.strip():
            raise UsageError("%spark_stop takes no arguments")
        stop_spark()
        if self.shell.user_ns.get("spark") is not None:
            self.shell.user_ns.pop("spark", None)

    @magic_arguments()
    @argument("-p", "--profile", help="profile name; default the active one")
    @line_magic
    def data_path(self, line: str) -> str:
        """The data directory of the active (or named) profile (replaces ``%hdfs_path``)."""
        args = parse_argstring(self.data_path, line)
        live = active_profile()
        if args.profile is None and live is not None:
            return live.data_dir
        try:
            return resolve_profile(args.profile).data_dir
        except MlcourseError as exc:
            raise UsageError(f"%data_path: {exc}") from None

    @line_magic
    def login_user(self, line: str) -> str:
        """The JupyterHub user when on a hub, else the operating-system user."""
        if line.strip():
            raise UsageError("%login_user takes no arguments")
        return login_user()


def load_ipython_extension(ipython: Any) -> None:
    """Register the course magics; called by ``%load_ext mlcourse``. Safe to call twice."""
    ipython.register_magics(CourseMagics)
