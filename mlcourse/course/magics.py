"""IPython magics of the course, registered by ``%load_ext mlcourse``.

==================  ======================================================
``%spark [N]``      the Spark session (``N`` workers), also bound to ``spark``;
                    on starting one, a link to its Spark UI
``%spark_stop``     stop it
``%data_path``      the profile's data directory
``%login_user``     the JupyterHub user, else the OS user
``%%classic_only``  a cell that needs the classic Spark driver: run as it is,
                    or over Spark Connect skipped with the reason given
==================  ======================================================

and the old course's names, so that its notebooks run unchanged: ``%sc [N]`` returns the
session's **SparkContext** (``spark = %sc $num_workers`` then ``SparkSession(spark)``, as
before) and ``%hdfs_path`` is ``%data_path``.

and the course's plots, on a notebook variable holding a DataFrame:

===========================================================  ============================
``%plotSignalvsBg df m_bb``                                  signal vs background of m_bb
``%plotSignalvsBgWithPrediction df predictions m_bb``        with predicted-class outlines
===========================================================  ============================

Both take ``--bins N``, ``--range LO HI``, ``--density`` and ``--save FILE``.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from mlcourse.config import login_user, resolve_profile
from mlcourse.errors import MlcourseError, describe_environment_error
from mlcourse.higgs import closest_names
from mlcourse.runtime.flavour import is_connect
from mlcourse.runtime.progress import show_progress
from mlcourse.runtime.session import active_profile, get_spark, live_session, stop_spark
from mlcourse.runtime.webui import spark_ui_url

__all__ = ["PlotMagics", "SessionMagics", "load_ipython_extension"]


def _plot_arguments(func: Any) -> Any:
    """The options the two plotting magics share."""
    for option in reversed(
        [
            argument("--bins", type=int, default=50, help="number of bins (default 50)"),
            argument("--range", nargs=2, type=float, metavar=("LO", "HI"), help="x range"),
            argument("--density", action="store_true", help="normalise each class to area 1"),
            argument("--save", metavar="FILE", help="also write the figure to FILE"),
        ]
    ):
        func = option(func)
    return func


class _NotebookMagics(Magics):
    """What every family of the course's magics shares: the notebook's variables."""

    @property
    def _user_ns(self) -> dict[str, Any]:
        """The notebook's variables."""
        if self.shell is None:
            raise UsageError("the mlcourse magics need an IPython shell (%load_ext mlcourse)")
        return self.shell.user_ns


@magics_class
class SessionMagics(_NotebookMagics):
    """The session's magics: ``%spark``, ``%spark_stop``, ``%data_path``, ``%login_user``,
    ``%%classic_only``, and the old course's ``%sc`` and ``%hdfs_path``."""

    @magic_arguments()
    @argument("workers", nargs="?", type=int, help="number of local cores or cluster executors")
    @argument("-p", "--profile", help="profile name (local, binder, standalone, k8s, yarn, ...)")
    @line_magic
    def spark(self, line: str) -> Any:
        """Start (or return) the Spark session and bind it to ``spark``.

        Usage: ``spark = %spark``, ``%spark 4``, ``%spark --profile k8s 10``.
        """
        args = parse_argstring(self.spark, line)
        started = live_session() is None
        session = self._session("spark", args)
        self._user_ns["spark"] = session
        if started:
            _show_ui_link(session)
            show_progress(session)  # Spark Connect: sparkmonitor cannot see its jobs
        return session

    @cell_magic
    def classic_only(self, line: str, cell: str) -> None:
        """Run a cell that needs the classic Spark driver (RDDs, the SparkContext, libraries
        built on them); on a Spark Connect session, skip it and print why.

        Usage: the cell's first line is ``%%classic_only REASON``, e.g.
        ``%%classic_only xgboost.spark trains through the driver's SparkContext``; the rest
        is the cell's code. Its last expression is not echoed: print what you want to see.
        """
        reason = line.strip()
        if not reason:
            raise UsageError(
                "%%classic_only needs a reason on its line, e.g. "
                "%%classic_only xgboost.spark trains through the driver's SparkContext"
            )
        names = self._user_ns
        session = live_session() or names.get("spark")
        if session is not None and is_connect(session):
            print(f"Skipped over Spark Connect: {reason}. Run it with a classic profile.")
            return
        shell = self.shell
        assert shell is not None  # _user_ns has checked it
        code = shell.transform_cell(cell)  # the magics in the cell's body work too
        # compiled as IPython compiles a cell, so that a traceback shows the cell's lines
        exec(shell.compile(code, shell.compile.cache(code), "exec"), shell.user_global_ns, names)

    @magic_arguments()
    @argument("workers", nargs="?", type=int, help="number of local cores or cluster executors")
    @argument("-p", "--profile", help="profile name (local, binder, standalone, k8s, yarn, ...)")
    @line_magic
    def sc(self, line: str) -> Any:
        """The old course's ``%sc N``: the SparkContext of the session ``%spark N`` gives.

        Usage: ``spark = %sc $num_workers``; ``SparkSession(spark)`` then returns the
        session, as in the old notebooks. New notebooks use ``spark = %spark``.
        """
        args = parse_argstring(self.sc, line)
        return self._session("sc", args).sparkContext

    def _session(self, magic: str, args: Any) -> Any:
        if args.workers is not None and args.workers < 1:
            raise UsageError(
                f"%{magic}: the number of workers must be at least 1, not {args.workers}"
            )
        try:
            return get_spark(args.profile, workers=args.workers)
        except MlcourseError as exc:
            raise UsageError(f"%{magic}: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:  # a config file unreadable, ...
            raise UsageError(f"%{magic}: {describe_environment_error(exc)}") from None

    @line_magic
    def spark_stop(self, line: str) -> None:
        """Stop the Spark session started with ``%spark``."""
        if line.strip():
            raise UsageError("%spark_stop takes no arguments")
        stop_spark()
        if self._user_ns.get("spark") is not None:
            self._user_ns.pop("spark", None)

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
    def hdfs_path(self, line: str) -> str:
        """The old course's name of ``%data_path``."""
        return str(self.data_path(line))

    @line_magic
    def login_user(self, line: str) -> str:
        """The JupyterHub user when on a hub, else the operating-system user."""
        if line.strip():
            raise UsageError("%login_user takes no arguments")
        return login_user()


@magics_class
class PlotMagics(_NotebookMagics):
    """The course's plots on a notebook variable: ``%plotSignalvsBg`` and
    ``%plotSignalvsBgWithPrediction``."""

    def _dataframe(self, magic: str, name: str) -> Any:
        """The user's variable ``name``, which must hold a Spark DataFrame."""
        from pyspark.sql import DataFrame

        ns = self._user_ns
        if name not in ns:
            frames = [
                k for k, v in ns.items() if isinstance(v, DataFrame) and not k.startswith("_")
            ]
            hint = ", ".join(closest_names(name, frames)) or ", ".join(sorted(frames)) or "none"
            raise UsageError(
                f"%{magic}: there is no variable {name!r} in the notebook "
                f"(DataFrames you have: {hint}). Run the cell that defines it first."
            )
        value = ns[name]
        if not isinstance(value, DataFrame):
            raise UsageError(
                f"%{magic}: {name!r} is a {type(value).__name__}, not a Spark DataFrame."
            )
        return value

    def _plot(self, magic: str, args: Any, predictions: Any = None) -> None:
        import matplotlib.pyplot as plt

        from mlcourse.analysis.plots import plot_signal_vs_background

        if args.bins < 1:
            raise UsageError(f"%{magic}: --bins must be at least 1, not {args.bins}")
        df = self._dataframe(magic, args.dataframe)
        _fig, ax = plt.subplots()
        try:
            plot_signal_vs_background(
                df,
                args.column,
                ax=ax,
                bins=args.bins,
                range=tuple(args.range) if args.range else None,
                density=args.density,
                predictions=predictions,
                save=args.save,
            )
        except (MlcourseError, ValueError) as exc:
            plt.close(_fig)
            raise UsageError(f"%{magic}: {exc}") from None
        except OSError as exc:  # --save into a read-only or full folder, ...
            plt.close(_fig)
            raise UsageError(f"%{magic}: {describe_environment_error(exc)}") from None

    @magic_arguments()
    @argument("dataframe", help="name of a variable holding a DataFrame with a 'label' column")
    @argument("column", help="the feature to histogram, e.g. m_bb")
    @_plot_arguments
    @line_magic
    def plotSignalvsBg(self, line: str) -> None:
        """Signal against background of one column: ``%plotSignalvsBg df m_bb``."""
        args = parse_argstring(self.plotSignalvsBg, line)
        self._plot("plotSignalvsBg", args)

    @magic_arguments()
    @argument("dataframe", help="name of a variable holding the events with their 'label'")
    @argument("predictions", help="name of a variable holding a model's predictions")
    @argument("column", help="the feature to histogram, e.g. m_bb")
    @_plot_arguments
    @line_magic
    def plotSignalvsBgWithPrediction(self, line: str) -> None:
        """The same with the predicted classes drawn as outlines:
        ``%plotSignalvsBgWithPrediction test predictions m_bb``."""
        args = parse_argstring(self.plotSignalvsBgWithPrediction, line)
        predictions = self._dataframe("plotSignalvsBgWithPrediction", args.predictions)
        self._plot("plotSignalvsBgWithPrediction", args, predictions)


def _show_ui_link(session: Any) -> None:
    """One line under the cell: where the new session's Spark UI opens (through the Jupyter
    server on Binder and hubs, see :mod:`mlcourse.runtime.webui`)."""
    from html import escape

    from IPython.display import display

    url = spark_ui_url(session)
    if url:
        link = f'<a href="{escape(url)}" target="_blank">{escape(url)}</a>'
        display({"text/plain": f"Spark UI: {url}", "text/html": f"Spark UI: {link}"}, raw=True)


def load_ipython_extension(ipython: Any) -> None:
    """Register the course magics; called by ``%load_ext mlcourse``. Safe to call twice."""
    ipython.register_magics(SessionMagics)
    ipython.register_magics(PlotMagics)
