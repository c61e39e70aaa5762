"""``revops bi install | init | serve | bundle``: the Superset dashboards (:mod:`revops.bi`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from revops.commands import args as types
from revops.commands.common import Subparsers, progress
from revops.exitcodes import EXIT_OK


def register(sub: Subparsers) -> None:
    bi = sub.add_parser(
        "bi",
        help="Apache Superset dashboards (own virtualenv): install, init, serve, bundle",
        description="Superset runs from its own virtualenv (REVOPS_BI_VENV, default"
        " .revops/bi/venv) and keeps its state in REVOPS_BI_HOME (default .revops/bi)."
        " The dashboards are YAML under bi/assets.",
    )
    steps = bi.add_subparsers(dest="bi_command", required=True, metavar="STEP")
    install = steps.add_parser(
        "install", help="create the BI virtualenv and install Superset (bi/constraints.txt)"
    )
    install.set_defaults(func=cmd_install)
    init = steps.add_parser(
        "init",
        help="migrate Superset's metadata, create the admin, import bi/assets (overwrites)",
        description="Idempotent: run it again after changing bi/assets. The admin password is"
        " REVOPS_BI_ADMIN_PASSWORD, else generated once into .revops/bi/secrets.json (0600).",
    )
    init.set_defaults(func=cmd_init)
    serve = steps.add_parser(
        "serve", help="serve Superset on 127.0.0.1 (foreground; Ctrl-C stops it)"
    )
    serve.add_argument(
        "--port", type=types.bounded_int(1024, 65535), default=8088, help="default 8088"
    )
    serve.add_argument("--workers", type=types.bounded_int(1, 32), default=2, help="default 2")
    serve.set_defaults(func=cmd_serve)
    bundle = steps.add_parser(
        "bundle",
        help="write the assets as a ZIP for Superset's import (password masked, not included)",
    )
    bundle.add_argument("--out", type=Path, default=Path("revops_bi_assets.zip"))
    bundle.set_defaults(func=cmd_bundle)


def cmd_install(args: argparse.Namespace) -> int:
    from revops import bi

    target = bi.install(progress=progress)
    print(f"Superset installed in {target}")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from revops import bi

    bi.init(progress=progress)
    secrets_file = bi.bi_home() / "secrets.json"
    where = (
        "REVOPS_BI_ADMIN_PASSWORD"
        if os.environ.get("REVOPS_BI_ADMIN_PASSWORD")
        else f"{secrets_file} (superset_admin)"
    )
    print(f"Superset ready: log in as {bi.ADMIN_USER}, password in {where}")
    print(f"next: `revops bi serve`, then open http://{bi.BIND_HOST}:8088{bi.DASHBOARD_PATH}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from revops import bi

    progress(f"Superset on http://{bi.BIND_HOST}:{args.port}{bi.DASHBOARD_PATH} (Ctrl-C stops it)")
    bi.serve(port=args.port, workers=args.workers)
    return EXIT_OK  # pragma: no cover - serve replaces the process


def cmd_bundle(args: argparse.Namespace) -> int:
    from revops import bi

    count = bi.write_bundle_zip(args.out, bi.bi_database(with_password=False))
    print(f"wrote {args.out}: {count} files; the import asks for revops_bi's password")
    return EXIT_OK
