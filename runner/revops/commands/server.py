"""``revops up``, ``down``, ``bootstrap``, ``psql``: the embedded server and the schema."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from revops import config, local_secrets
from revops.commands.common import Subparsers, cluster, progress
from revops.exitcodes import EXIT_CONNECT, EXIT_OK, EXIT_USAGE

PSQL_ROLES = {
    "bi": "revops_bi",
    "runner": "revops_runner",
    "etl": "revops_etl",
    "admin": "postgres",
}


def register(sub: Subparsers) -> None:
    up = sub.add_parser("up", help="start the embedded PostgreSQL (initialising it on first use)")
    up.add_argument("--bootstrap", action="store_true", help="also bootstrap both databases")
    up.add_argument("--timezone", help="with --bootstrap: business time zone")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the embedded PostgreSQL (data is kept)")
    down.set_defaults(func=cmd_down)

    boot = sub.add_parser(
        "bootstrap",
        help="create roles, databases, FDW, tables and functions (idempotent; needs a superuser)",
    )
    boot.add_argument(
        "--timezone",
        help="business time zone stored in metrics.settings (default: REVOPS_BUSINESS_TIMEZONE,"
        " else keep the current setting, UTC on a new install)",
    )
    boot.set_defaults(func=cmd_bootstrap)

    psql = sub.add_parser(
        "psql",
        help="open psql on the embedded server (extra arguments go to psql, e.g. -c 'SQL')",
    )
    psql.add_argument(
        "--role",
        choices=sorted(PSQL_ROLES),
        default="bi",
        help="bi (read-only, default), runner (runs metrics), etl (writes crm), admin (superuser)",
    )
    psql.add_argument("--db", help="database (default: revops_metrics; revops_training for etl)")
    psql.set_defaults(func=cmd_psql, passthrough=True)


def cmd_up(args: argparse.Namespace) -> int:
    if config.uses_external_server():
        progress("PG*/REVOPS_DSN variables are set: `up` only manages the embedded server")
        return EXIT_USAGE
    server = cluster()
    port = server.start()
    print(f"embedded PostgreSQL {server.version()} on 127.0.0.1:{port} (data: {server.data_dir})")
    if args.bootstrap:
        return cmd_bootstrap(args)
    if _metrics_db_exists():
        # the port may have moved: keep the FDW server pointing at it
        from revops.bootstrap import bootstrap

        bootstrap(progress=lambda _m: None)
        local_secrets.write_pgpass(config.revops_home(), port)
    return EXIT_OK


def _metrics_db_exists() -> bool:
    from revops.db import connect

    with connect(config.admin_target(), "postgres") as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (config.metrics_db_name(),)
        ).fetchone()
    return row is not None


def cmd_down(args: argparse.Namespace) -> int:
    server = cluster()
    server.stop()
    print(f"embedded PostgreSQL stopped (data kept in {server.data_dir})")
    return EXIT_OK


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from revops.bootstrap import bootstrap

    report = bootstrap(timezone=getattr(args, "timezone", None), progress=progress)
    for item in report.applied_migrations:
        print(f"applied migration {item}")
    for item in report.changed:
        print(item)
    if not report.applied_migrations and not report.changed:
        print("bootstrap: already up to date, nothing changed")
    if not config.uses_external_server():
        local_secrets.write_pgpass(config.revops_home(), cluster().port)
    return EXIT_OK


def cmd_psql(args: argparse.Namespace, extra: Sequence[str]) -> int:
    import shutil
    import subprocess

    if config.uses_external_server():
        progress("PG* variables are set: run psql directly against that server")
        return EXIT_USAGE
    server = cluster()
    if not server.is_running():
        progress("the embedded server is not running: `revops up` first")
        return EXIT_CONNECT
    home = config.revops_home()
    pgpass = local_secrets.write_pgpass(home, server.port)
    psql = server.bin_dir / "psql"
    binary = str(psql) if psql.exists() else shutil.which("psql")
    if binary is None:
        progress("no psql binary found")
        return EXIT_USAGE
    dbname = args.db or (
        config.source_db_name() if args.role == "etl" else config.metrics_db_name()
    )
    env = {
        **os.environ,
        "PGPASSFILE": str(pgpass),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(server.port),
        "PGUSER": PSQL_ROLES[args.role],
        "PGDATABASE": dbname,
    }
    return subprocess.run([binary, *extra], env=env, check=False).returncode  # noqa: S603
