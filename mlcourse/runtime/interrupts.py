"""How a command ends when it is stopped, or when Spark's JVM dies under it.

A command of the CLI (:func:`mlcourse.cli.main`) runs inside :func:`command`, which

- turns Ctrl-C, SIGTERM (a hub culling a server) and SIGHUP (a closed terminal) into
  one stop: while Spark runs, the signal cancels its jobs from another thread (the main
  thread is most likely inside a Py4J call, which must not be broken mid-answer) and the
  command ends through the same clean-up as any error, with :class:`Stopped`; a second
  signal stops it where it is;
- names the driver JVM's death (:func:`mlcourse.runtime.driver.death_of_driver`)
  instead of Py4J's "Connection refused";
- ends the driver JVM the command started and waits for it, so none outlives it.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mlcourse.errors import JavaError

__all__ = ["Stopped", "catch_ctrl_c", "command"]


class Stopped(KeyboardInterrupt):
    """A signal, raised where the program is, so that it ends as Ctrl-C does: every
    ``finally`` and ``except BaseException`` clean-up runs (no partial output)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: The signal that asked a command with running Spark jobs to stop, once one has.
_stopping: list[int] = []


def _stop_on_signal(signum: int, frame: object) -> None:  # noqa: ARG001 (signal's handler)
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None or _stopping:  # pure Python (a download), or a second signal
        raise Stopped(signum)
    _stopping.append(signum)
    threading.Thread(target=_cancel_jobs, args=(context,), daemon=True).start()


def _cancel_jobs(context: Any) -> None:
    """Cancel Spark's jobs now and any started later, until the command has ended."""
    while True:
        try:
            context.cancelAllJobs()
        except Exception:  # the JVM is gone: nothing left to cancel
            return
        time.sleep(0.2)


def catch_ctrl_c() -> None:
    """Take Ctrl-C back from pyspark once a session has started.

    pyspark's own handler raises inside the Py4J call the main thread is in: four Py4J
    tracebacks before the command's last line. Under :func:`command`, Ctrl-C cancels the
    jobs instead, as SIGTERM does.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _stop_on_signal)


def _driver_running() -> bool:
    """Whether a driver JVM runs in this process already (a test's, a notebook's)."""
    if "pyspark" not in sys.modules:
        return False
    from pyspark import SparkContext

    return SparkContext._gateway is not None


def _end_driver() -> None:
    """End the driver JVM the command started, and wait for it."""
    if not _driver_running():
        return
    from mlcourse.runtime.driver import end_driver
    from mlcourse.runtime.session import stop_spark

    end_driver(stop_spark)


def _cause(exc: BaseException) -> BaseException:
    """What ended the command: the signal after a stop (the error is the cancelled job's),
    the driver JVM's death when it caused ``exc``, else ``exc``."""
    if _stopping:
        return Stopped(_stopping[0])
    if "pyspark" not in sys.modules:
        return exc
    from mlcourse.runtime.driver import death_of_driver

    death = death_of_driver()
    return JavaError(f"{death}. Run the command again.") if death else exc


@contextmanager
def command() -> Iterator[list[BaseException]]:
    """The lifetime of one command: signals as stops, the driver ended with it.

    Yields a list that, when the block raised, holds what ended the command
    (:class:`Stopped`, a :class:`~mlcourse.errors.JavaError` naming the driver's death, or
    the exception itself); the block's exception is not raised again: the caller reports
    it. Handlers of signals are put back as they were when the block ends.
    """
    main = threading.current_thread() is threading.main_thread()
    before: dict[int, Any] = {}
    if main:  # signal handlers can only be set in the main thread
        before[signal.SIGINT] = signal.getsignal(signal.SIGINT)
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):  # no SIGHUP on Windows
                signum = getattr(signal, name)
                before[signum] = signal.getsignal(signum)
                signal.signal(signum, _stop_on_signal)
    had_driver = _driver_running()
    ended: list[BaseException] = []
    try:
        yield ended
    except BaseException as exc:
        ended.append(_cause(exc))
    finally:
        if not had_driver:
            _end_driver()
        _stopping.clear()
        for signum, handler in before.items():
            if handler is not None:  # None: a handler not set from Python
                signal.signal(signum, handler)
