"""The ``mlcourse`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .errors import MlcourseError

__all__ = ["main"]


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import doctor

    report = doctor(args.profile, run_job=not args.no_job)
    print(report)
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mlcourse`` (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="mlcourse",
        description="Big Data Science and Machine Learning course: Spark on the HIGGS data set.",
    )
    parser.add_argument("--version", action="version", version=f"mlcourse {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("doctor", help="check Python, Java, Spark and the profile; run a tiny job")
    p.add_argument("--profile", help="profile to check (default: the active one)")
    p.add_argument("--no-job", action="store_true", help="do not start Spark")
    p.set_defaults(func=_cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except MlcourseError as exc:
        print(f"mlcourse {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
