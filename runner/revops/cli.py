"""The ``revops`` command line: assembles the subcommands of :mod:`revops.commands` (and
``ingest`` from :mod:`revops.ingest.cli`), parses, runs one, and turns known exceptions into
exit codes (:mod:`revops.exitcodes`: 0 ok; 1 a metric run or ingest step failed; 2 bad usage
or configuration; 3 data is stale; 4 cannot connect to PostgreSQL; 5 skipped, another run held
the metrics lock; 6 the server's disk is full).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from revops import __version__
from revops.commands import bi, compute, digest, generate, report, server, showcase
from revops.exitcodes import exit_code_for
from revops.ingest import cli as ingest_cli

log = logging.getLogger("revops")

# Registration order is the order of `revops --help`.
COMMAND_GROUPS = (server, generate, compute, report, digest, showcase, ingest_cli, bi)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revops",
        description=(
            "RevOps daily metrics. With no PG* variables set, every command targets the embedded "
            "PostgreSQL in ./.revops (start it with `revops up`); set PGHOST/PGPORT/PGUSER/"
            "PGPASSWORD or REVOPS_DSN to use another server."
        ),
        epilog="Exit codes: 0 ok, 1 a run failed, 2 bad usage/config, 3 stale data,"
        " 4 no connection, 5 skipped (another run held the metrics lock), 6 disk full.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    passthrough = getattr(args, "passthrough", False)
    if extra and not passthrough:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    check_args = getattr(args, "check_args", None)
    problem = check_args(args) if check_args else None
    if problem:
        parser.error(problem)
    try:
        code: int = args.func(args, extra) if passthrough else args.func(args)
    except Exception as exc:
        mapped = exit_code_for(exc)
        if mapped is None:
            raise
        code, message = mapped
        log.error("%s", message)
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
