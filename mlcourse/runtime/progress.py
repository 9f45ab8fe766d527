"""Job progress under the running cell for Spark Connect sessions, where sparkmonitor
cannot go.

sparkmonitor listens to the driver's Spark listener bus, which a Spark Connect client
has not (the driver is the server's; sparkmonitor's issue #36). What a Connect client
does get is the server's progress reports for each query it runs: the stages with their
task counts and bytes read (``spark.registerProgressHandler``, Spark 4). :func:`show_progress`
registers a handler that shows them live under the running cell: one line per query,
named after the mlcourse step that ran it (``mlcourse: histogram of m_bb by label``),
updated in place and folded to its summary when the query is done.

``%spark`` calls it when it starts a Connect session; in classic mode the sparkmonitor
panel stays.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mlcourse.runtime.jobs import current_step

__all__ = ["ProgressDisplay", "QueryProgress", "show_progress"]

#: The CSS class of the display, for styling and for tests to find it.
CSS_CLASS = "mlcourse-progress"


@dataclass
class QueryProgress:
    """What the server reported for one query (one Spark Connect operation)."""

    name: str
    stages: dict[int, tuple[int, int, int, bool]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None

    @property
    def done(self) -> bool:
        return self.seconds is not None

    def totals(self) -> tuple[int, int, int, int]:
        """Stages, tasks, completed tasks, bytes read."""
        values = list(self.stages.values())
        return (
            len(values),
            sum(v[0] for v in values),
            sum(v[1] for v in values),
            sum(v[2] for v in values),
        )

    def text(self) -> str:
        """The query's line: its name, then stages, tasks and bytes."""
        stages, tasks, completed, read = self.totals()
        seconds = self.seconds if self.done else time.monotonic() - self.started
        if not stages:
            detail = "done before the server's first progress report" if self.done else "…"
        else:
            done = f"{tasks}" if self.done else f"{completed}/{tasks}"
            detail = (
                f"{stages} stage{'s' * (stages != 1)}, {done} task{'s' * (tasks != 1)}, "
                f"{_size(read)} read"
            )
        mark = "✓" if self.done else "▶"
        return f"{mark} {self.name}: {detail}, {seconds:.1f} s"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class ProgressDisplay:
    """A Spark Connect progress handler that shows each query's stages under the cell.

    Its display is one block per cell: the running query's line updated in place, the
    finished ones folded into a ``<details>`` list whose summary counts them. Outside a
    notebook (no IPython display) it keeps the queries without showing them.

    Parameters
    ----------
    interval : float
        The fewest seconds between two updates of a running query's line (the server
        reports far more often; a notebook need not redraw each time).
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.queries: dict[str, QueryProgress] = {}
        self._lock = threading.Lock()
        self._handle: Any = None
        self._cell: Any = None
        self._last = 0.0
        self._unnamed = 0
        #: The queries of the cell that runs (or ran last), in order.
        self.cell_queries: list[QueryProgress] = []

    def __call__(
        self,
        stages: Any,
        inflight_tasks: int,  # noqa: ARG002 (Spark Connect's progress handler protocol)
        operation_id: str | None,
        done: bool,
    ) -> None:
        """Spark Connect calls this for every progress report of a query."""
        with self._lock:
            key = operation_id or "query"
            query = self.queries.get(key)
            if query is None:
                query = self.queries[key] = QueryProgress(self._name())
                cell = _execution_count()
                if cell != self._cell:  # a new cell: a new display under it
                    self._cell, self._handle, self.cell_queries = cell, None, []
                self.cell_queries.append(query)
            for s in stages or ():
                query.stages[s.stage_id] = (
                    s.num_tasks,
                    s.num_completed_tasks,
                    s.num_bytes_read,
                    s.done,
                )
            if done and not query.done:
                # the server's last report can predate the end by up to its interval:
                # a finished query's stages ran all their tasks
                query.stages = {k: (v[0], v[0], v[2], True) for k, v in query.stages.items()}
                query.seconds = time.monotonic() - query.started
            now = time.monotonic()
            if done or now - self._last >= self.interval:
                self._last = now
                self._show()

    def _name(self) -> str:
        step = current_step()
        if step:
            return step
        self._unnamed += 1
        return f"Spark query {self._unnamed}"

    def render(self, queries: list[QueryProgress]) -> tuple[str, str]:
        """The display's plain text and HTML for ``queries``."""
        running = [q for q in queries if not q.done]
        finished = [q for q in queries if q.done]
        plain = "\n".join(q.text() for q in queries)
        lines = "".join(f"<div>{html.escape(q.text())}</div>" for q in finished)
        count = len(finished)
        summary = f"Spark Connect: {count} quer{'y' if count == 1 else 'ies'} done"
        if running:
            summary += f", {len(running)} running"
        body = f"<details><summary>{html.escape(summary)}</summary>{lines}</details>"
        body = "".join(f"<div><b>{html.escape(q.text())}</b></div>" for q in running) + body
        return plain, f'<div class="{CSS_CLASS}" style="font-size:90%">{body}</div>'

    def _show(self) -> None:
        if _shell() is None:
            return
        from IPython.display import display

        plain, rich = self.render(self.cell_queries)
        bundle = {"text/plain": plain, "text/html": rich}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)


def _execution_count() -> Any:
    shell = _shell()
    return None if shell is None else shell.execution_count


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "kernel") else None


_installed: dict[int, ProgressDisplay] = {}


def show_progress(spark: Any) -> ProgressDisplay | None:
    """Show the progress of ``spark``'s queries under the running cell (Spark Connect).

    Parameters
    ----------
    spark : SparkSession
        A Spark Connect session; for a classic one nothing is done (sparkmonitor's panel
        shows its jobs) and None is returned.

    Returns
    -------
    ProgressDisplay or None
        The handler, registered once per session.
    """
    from mlcourse.runtime.flavour import is_connect

    if not is_connect(spark):
        return None
    key = id(spark)
    if key not in _installed:
        handler = ProgressDisplay()
        spark.registerProgressHandler(handler)
        _installed[key] = handler
    return _installed[key]
