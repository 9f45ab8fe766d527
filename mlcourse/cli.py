"""The ``mlcourse`` command line."""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcourse._version import __version__
from mlcourse.errors import DataError, MlcourseError, describe_environment_error
from mlcourse.runtime.interrupts import Stopped, catch_ctrl_c, command

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["main"]


def _events(text: str) -> int | None:
    """An ``--events`` value read once, here, into the number of events (None: the full
    file); a typo is a usage message, not a traceback. Every command passes the number on."""
    from mlcourse.data.sizes import parse_events

    try:
        return parse_events(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    """A TCP port, 1 to 65535, checked here so that 99999 is a usage message."""
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: give a port between 1 and 65535")
    return int(text)


def _master(text: str) -> str:
    """A Spark master URL, its syntax checked before anything launches."""
    from mlcourse.config.validation import master_problem

    problem = master_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text.strip()


def _at_least_one(text: str) -> int:
    """A count of 1 or more (``--jobs``), checked here so that 0 or -1 is a usage message."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number, 1 or more")
    return value


def _cmd_doctor(args: argparse.Namespace) -> int:
    from mlcourse.runtime.doctor import doctor

    report = doctor(args.profile, run_job=not args.no_job)
    print(report)
    return 0 if report.ok else 1


def _spark(profile: str | None = None, **conf: Any) -> SparkSession:
    from mlcourse.runtime.session import get_spark

    spark = get_spark(profile, **conf)
    catch_ctrl_c()  # pyspark took Ctrl-C over when the session started
    return spark


def _cmd_demo(args: argparse.Namespace) -> int:
    from mlcourse.course.demo import run_demo
    from mlcourse.data import check_room
    from mlcourse.runtime.session import active_profile

    events: int | None = args.events
    if events is not None:  # before Spark starts: no JVM for a size that cannot fit
        check_room(events, Path(args.out) / "data", generate=args.source != "real")

    # One line per step instead of Spark's progress bars, which garble the summary (a
    # setting fixed when Spark starts, so only given to a session this command starts).
    logging.getLogger("mlcourse.course.demo").setLevel(logging.INFO)
    quiet = {} if active_profile() else {"spark.ui.showConsoleProgress": "false"}
    result = run_demo(
        _spark(args.profile, **quiet),
        args.events,
        source=args.source,
        out=args.out,
        seed=args.seed,
        url=args.url,
        command=shlex.join(["mlcourse", *args.argv]),
    )
    print(result)
    return 0


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from mlcourse.data.fetch import fetch_higgs

    dest = args.dest
    if dest is None:
        from mlcourse.data import resolve_data_dir
        from mlcourse.data.storage import is_local, local_path

        base = resolve_data_dir()
        if not is_local(base):
            raise DataError(
                f"the data directory {base} is not local; download to a local --dest, then "
                "convert into it with `mlcourse data convert`."
            )
        dest = local_path(base)
        Path(dest).mkdir(parents=True, exist_ok=True)
    path = fetch_higgs(args.events, dest, url=args.url, quiet=args.quiet, overwrite=args.overwrite)
    print(path)
    if args.parquet:
        from mlcourse.data.convert import csv_to_parquet

        print(csv_to_parquet(_spark(), str(path), args.parquet, overwrite=args.overwrite))
    return 0


def _cmd_data_synth(args: argparse.Namespace) -> int:
    from mlcourse.data import check_room, resolve_data_dir
    from mlcourse.data.parquet import write_parquet_atomic
    from mlcourse.data.sizes import FULL_EVENTS, parquet_name
    from mlcourse.data.storage import is_local, local_path
    from mlcourse.data.synthetic import synthesize_higgs

    n = args.events or FULL_EVENTS
    base = resolve_data_dir()
    dest = args.dest or base.rstrip("/") + "/" + parquet_name(n, "synthetic", args.seed)
    if is_local(dest):  # before Spark starts: a size that fits (Spark generates in blocks)
        check_room(n, Path(local_path(dest)).parent, generate=False)
    spark = _spark()
    rows = write_parquet_atomic(
        synthesize_higgs(spark, n, seed=args.seed), dest, overwrite=args.overwrite
    )
    print(f"{rows:,} synthetic events (seed {args.seed}) -> {dest}")
    return 0


def _cmd_data_prepare(args: argparse.Namespace) -> int:
    from mlcourse.data.loading import (
        check_room,
        load_higgs,
        prepared,
        resolve_data_dir,
        source_of,
    )
    from mlcourse.data.storage import is_local, local_path

    ready = prepared(args.events, source=args.source, seed=args.seed)
    if ready is not None:  # nothing to do: no JVM to start
        path, kind, rows = ready
        print(f"{rows:,} {kind} HIGGS events ready as Parquet in {path}")
        return 0
    events, base = args.events, resolve_data_dir()
    if events is not None and is_local(base):  # before Spark starts: a size that fits
        check_room(events, local_path(base), generate=False)  # Spark generates in blocks
    # the data folder checked above, also when a session with another one is running
    df = load_higgs(_spark(), args.events, source=args.source, seed=args.seed, data_dir=base)
    where = df.inputFiles()[0].rsplit("/", 1)[0]  # a URI: file:///home/a%20b/...
    where = local_path(where) if is_local(where) else where
    print(f"{df.count():,} {source_of(df)} HIGGS events ready as Parquet in {where}")
    return 0


def _cmd_data_convert(args: argparse.Namespace) -> int:
    from mlcourse.data.convert import csv_to_parquet

    spark = _spark()
    print(csv_to_parquet(spark, args.src, args.dest, overwrite=args.overwrite, force=args.force))
    return 0


def _cmd_data_info(args: argparse.Namespace) -> int:
    from mlcourse.data import data_info

    info = data_info(_spark(), args.path)
    print(info)
    return 0 if info.schema_ok and info.values_ok else 1


def _cmd_notebooks_build(args: argparse.Namespace) -> int:
    from mlcourse.course.notebooks import build_notebooks

    changed = build_notebooks(args.folder, check=args.check)
    for path in changed:
        print(f"{'out of date' if args.check else 'wrote'}: {path}")
    if args.check and changed:
        print("run `mlcourse notebooks build` and commit the student versions", file=sys.stderr)
        return 1
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    from mlcourse.course.grading import NOTEBOOK_ROW, grade

    rows = grade(
        args.submissions,
        args.notebook,
        args.out,
        timeout=args.timeout,
        memory=args.memory,
        jobs=args.jobs,
        events=args.events,
        source=args.source,
        profile=args.profile,
    )
    students = sorted({r.student for r in rows})
    for student in students:
        mine = [r for r in rows if r.student == student and r.exercise != NOTEBOOK_ROW]
        notes = [r.message for r in rows if r.student == student and r.exercise == NOTEBOOK_ROW]
        passed = sum(r.passed for r in mine)
        print(f"{student}: {passed}/{len(mine)} passed" + (f" ({notes[0]})" if notes else ""))
    print(f"{len(students)} submissions graded: {Path(args.out) / 'grades.csv'}, summary.html")
    return 0


def _cmd_connect_server(args: argparse.Namespace) -> int:
    from mlcourse.runtime.connect import TOKEN_VARIABLE, server_status, start_server, stop_server

    if args.action == "start":
        conf = {}
        for item in args.conf:
            key, sep, value = item.partition("=")
            if not sep or not key.startswith("spark."):
                raise SystemExit(f"--conf takes spark.KEY=VALUE, not {item!r}")
            conf[key] = value
        server = start_server(
            port=args.port, host=args.host, memory=args.memory, master=args.master, conf=conf
        )
        print(server.address)
        print(f"started: pid {server.pid}, log {server.log}", file=sys.stderr)
        if server.token:
            print(f"clients need the same {TOKEN_VARIABLE}", file=sys.stderr)
        return 0
    if args.action == "stop":
        stopped = stop_server()
        print(f"stopped {stopped}" if stopped else "no Spark Connect server of yours runs")
        return 0
    running = server_status()
    print(f"running: {running}" if running else "not running")
    return 0 if running else 1


def _cmd_notebooks_get(args: argparse.Namespace) -> int:
    from mlcourse.course.notebooks import get_notebooks

    done = get_notebooks(args.folder)
    for path in done["copied"]:
        print(f"copied     {path}")
    for path in done["unchanged"]:
        print(f"up to date {path}")
    for path in done["kept"]:
        print(f"kept yours {path} (it differs from the course's; rename it to get a fresh copy)")
    for path in done["blocked"]:
        print(f"not copied {path}: that name is taken by a folder; rename it and run again")
    return 1 if done["blocked"] else 0


def _cmd_data_calibrate(args: argparse.Namespace) -> int:
    from mlcourse.data.synthetic import calibrate_on_csv

    calibrate_on_csv(
        args.csv,
        output=args.output,
        evaluations=args.evaluations,
        parameters=args.parameters.split(",") if args.parameters else None,
        step=args.step,
        log=print,
    )
    return 0


def _add_doctor_and_demo(sub: Any) -> None:
    """``doctor`` and ``demo``: the two commands of the README's set-up."""
    p = sub.add_parser("doctor", help="check Python, Java, Spark and the profile; run a tiny job")
    p.add_argument("--profile", help="profile to check (default: the active one)")
    p.add_argument("--no-job", action="store_true", help="do not start Spark")
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser(
        "demo",
        help="the course's analysis end to end: data, Parquet, plots, GBT, ROC, report.html",
    )
    p.add_argument(
        "--events", type=_events, default="100k", help="20k, 100k, 1M or a number (default 100k)"
    )
    p.add_argument(
        "--source",
        choices=["synthetic", "real", "uci", "auto"],
        default="synthetic",
        help="synthetic (offline, default), real (download the UCI events; also 'uci') or auto",
    )
    p.add_argument("--out", default="mlcourse-demo", help="output folder (default mlcourse-demo)")
    p.add_argument("--seed", type=int, default=0, help="seed of data, split and model")
    p.add_argument("--url", help="mirror URL or local HIGGS.csv.gz for --source real/auto")
    p.add_argument("--profile", help="Spark profile (default: the active one)")
    p.set_defaults(func=_cmd_demo)


def _add_notebook_commands(sub: Any) -> None:
    """``notebooks get`` and ``notebooks build``."""
    nbs = sub.add_parser("notebooks", help="the course notebooks: get them, or build them")
    nsub = nbs.add_subparsers(dest="notebooks_command", required=True, metavar="ACTION")
    p = nsub.add_parser(
        "get", help="copy the student notebooks into FOLDER; never replaces your edited ones"
    )
    p.add_argument(
        "folder", nargs="?", default="mlcourse-notebooks", help="default: mlcourse-notebooks"
    )
    p.set_defaults(func=_cmd_notebooks_get)
    p = nsub.add_parser(
        "build", help="write the student versions (solutions replaced by stubs) of FOLDER"
    )
    p.add_argument("folder", nargs="?", default="notebooks", help="default: notebooks")
    p.add_argument("--check", action="store_true", help="write nothing; fail if out of date")
    p.set_defaults(func=_cmd_notebooks_build)


def _add_course_commands(sub: Any) -> None:
    """The instructor's commands: ``grade`` and ``connect-server``."""
    p = sub.add_parser(
        "grade",
        help="run submitted notebooks, each in its own kernel, and write a gradebook",
        description="Execute each submission under a time and a memory limit, collect its "
        "exercise checks, and write grades.csv, summary.html and the executed notebooks "
        "into --out. The submissions are only read.",
    )
    p.add_argument("submissions", nargs="+", help="notebooks, or folders holding them")
    p.add_argument("--notebook", required=True, help="which course notebook: day1, day2_gbt...")
    p.add_argument("--out", default="grades", help="gradebook folder (default: grades)")
    p.add_argument("--timeout", type=float, default=1200, help="seconds per notebook")
    p.add_argument("--memory", default="3g", help="kernel + JVM + workers, per notebook")
    p.add_argument(
        "--jobs", type=_at_least_one, help="notebooks at once (default: one per two cores)"
    )
    p.add_argument("--events", type=_events, default="10k", help="the same data for everyone")
    p.add_argument("--source", choices=["auto", "real", "uci", "synthetic"], default="synthetic")
    p.add_argument("--profile", default="binder", help="Spark profile (default: binder)")
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser(
        "connect-server",
        help="start, stop or check a Spark Connect server that thin kernels join",
        description="Spark's own Spark Connect server from the installed pyspark, in the "
        "background; `start` prints the sc:// address (the `connect` profile's default).",
    )
    p.add_argument("action", choices=["start", "stop", "status"])
    p.add_argument("--port", type=_port, default=15002, help="gRPC port (default 15002)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs "
        "SPARK_CONNECT_AUTHENTICATE_TOKEN)",
    )
    p.add_argument("--memory", default="1g", help="the server's driver memory (default 1g)")
    p.add_argument(
        "--master", type=_master, default="local[*]", help="where it runs jobs (default local[*])"
    )
    p.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting of the server (repeatable), e.g. "
        "spark.connect.session.manager.defaultSessionTimeout=2h",
    )
    p.set_defaults(func=_cmd_connect_server)


def _add_data_commands(sub: Any) -> None:
    """``data fetch``, ``synth``, ``prepare``, ``convert``, ``info`` and ``calibrate``."""
    data = sub.add_parser("data", help="fetch, generate, convert and inspect HIGGS data")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = dsub.add_parser("fetch", help="download real events from UCI (or --url)")
    p.add_argument("--events", type=_events, default="100k", help="100k, 1M, 10M, full or a number")
    p.add_argument("--dest", help="output file or folder (default: the data directory)")
    p.add_argument("--url", help="mirror URL or local HIGGS.csv.gz")
    p.add_argument("--parquet", metavar="DEST", help="also convert to this Parquet dataset")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a --dest file that is not an mlcourse download, and an existing --parquet",
    )
    p.add_argument("-q", "--quiet", action="store_true", default=None, help="no progress bar")
    p.set_defaults(func=_cmd_data_fetch)
    p = dsub.add_parser("synth", help="generate synthetic events as Parquet")
    p.add_argument("--events", type=_events, default="100k", help="100k, 1M, 10M or a number")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dest", help="output Parquet dataset (default: the data directory)")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_data_synth)
    p = dsub.add_parser(
        "prepare", help="have a named size ready as Parquet: real if reachable, else synthetic"
    )
    p.add_argument("--events", type=_events, default="100k", help="100k, 1M, 10M or a number")
    p.add_argument("--source", choices=["auto", "real", "uci", "synthetic"], default="auto")
    p.add_argument("--seed", type=int, default=0, help="seed of synthetic events")
    p.set_defaults(func=_cmd_data_prepare)
    p = dsub.add_parser("convert", help="convert a HIGGS CSV (UCI or course form) to Parquet")
    p.add_argument("src")
    p.add_argument("dest")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace DEST when it is a dataset mlcourse or Spark wrote (never the input, "
        "a folder holding it, the current folder, a home folder or a root)",
    )
    p.add_argument(
        "--force", action="store_true", help="with --overwrite: also replace any other folder"
    )
    p.set_defaults(func=_cmd_data_convert)
    p = dsub.add_parser(
        "info",
        help="rows, schema and value checks, signal fraction, real or synthetic (exit 1 when a "
        "check fails)",
    )
    p.add_argument("path")
    p.set_defaults(func=_cmd_data_info)
    p = dsub.add_parser(
        "calibrate",
        help="fit the generator's physical parameters on real events (a course form CSV)",
        description="Calibrate the event generator on a real HIGGS CSV's odd rows and write "
        "its parameters (higgs_synthetic.json); report the fit on the even rows.",
    )
    p.add_argument("csv", help="real HIGGS events, course form (header row), .csv or .gz")
    p.add_argument(
        "--evaluations",
        type=_at_least_one,
        default=400,
        help="trial parameter sets at most (~1 s each)",
    )
    p.add_argument("--parameters", help="fit only these, comma-separated (default: all)")
    p.add_argument("--step", type=float, default=0.3, help="first step (log/logit space)")
    p.add_argument("-o", "--output", help="JSON file (default: the one this installation ships)")
    p.set_defaults(func=_cmd_data_calibrate)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mlcourse`` (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="mlcourse",
        description="Big Data Science and Machine Learning course: Spark on the HIGGS data set.",
    )
    parser.add_argument("--version", action="version", version=f"mlcourse {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    parser.add_argument(
        "--debug", action="store_true", help="on an error, show the full trace (for reports)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_doctor_and_demo,
        _add_notebook_commands,
        _add_course_commands,
        _add_data_commands,
    ):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Errors of mlcourse, of the file system (:class:`OSError`) and of a file's encoding
    are one line on stderr and exit status 2 (``--debug`` shows the trace); Ctrl-C exits
    130, SIGTERM 143 and SIGHUP 129, after the same clean-up.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    with command() as ended:
        return int(args.func(args))
    error = ended[0]
    if args.debug and not isinstance(error, KeyboardInterrupt):
        raise error
    return _report(error, f"mlcourse {args.command}")


def _report(exc: BaseException, prefix: str) -> int:
    """One line on stderr for an error of the command; its exit status. Anything else
    than the errors below is a bug: it is raised again, with its trace."""
    if isinstance(exc, MlcourseError):
        message = str(exc)
    elif isinstance(exc, (OSError, UnicodeDecodeError)):
        message = describe_environment_error(exc)
    elif isinstance(exc, Stopped) and exc.signum != signal.SIGINT:
        print(f"{prefix}: stopped by {exc.args[0]}", file=sys.stderr)
        return 128 + exc.signum
    elif isinstance(exc, KeyboardInterrupt):
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    else:
        raise exc
    print(f"{prefix}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
