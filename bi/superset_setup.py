"""Runs inside the BI virtualenv (``<bi venv>/bin/python bi/superset_setup.py ...``), called by
`revops bi init`: the steps that need Superset's own Python API. Secrets arrive through the
environment, never argv, and are never printed.

Steps run in the order given, in one app: ``superset_setup.py admin import BUNDLE``.

- ``admin``: create the admin user ``REVOPS_BI_ADMIN_USER`` (default ``admin``) with the password
  in ``REVOPS_BI_ADMIN_PASSWORD``, or reset that user's password to it.
- ``import BUNDLE``: import an asset bundle (a directory laid out like ``bi/assets``) with
  ImportAssetsCommand, which overwrites the database connection, datasets, charts and dashboards
  with the bundle's (``superset import-dashboards`` leaves existing charts and datasets as they
  were). The password of every ``databases/*.yaml`` comes from ``REVOPS_BI_DB_PASSWORD``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def _app() -> Any:
    from superset.app import create_app

    return create_app()


def create_admin() -> int:
    from superset import db, security_manager

    user = os.environ.get("REVOPS_BI_ADMIN_USER") or "admin"
    password = os.environ["REVOPS_BI_ADMIN_PASSWORD"]
    existing = security_manager.find_user(username=user)
    if existing is None:
        role = security_manager.find_role("Admin")
        created = security_manager.add_user(
            user, "RevOps", "Admin", f"{user}@localhost", role, password=password
        )
        if not created:
            print(f"could not create the Superset user {user}", file=sys.stderr)
            return 1
        print(f"created Superset admin {user}", file=sys.stderr)
    else:
        security_manager.reset_password(existing.id, password)
        print(f"Superset admin {user} exists; password set", file=sys.stderr)
    db.session.commit()
    return 0


def import_bundle(bundle: Path) -> int:
    from superset import security_manager
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.utils.core import override_user

    contents = {
        str(path.relative_to(bundle)): path.read_text() for path in sorted(bundle.rglob("*.yaml"))
    }
    password = os.environ["REVOPS_BI_DB_PASSWORD"]
    passwords = {name: password for name in contents if name.startswith("databases/")}
    user = security_manager.find_user(username=os.environ.get("REVOPS_BI_ADMIN_USER") or "admin")
    with override_user(user):
        ImportAssetsCommand(contents, passwords=passwords).run()
    print(f"imported {len(contents)} asset files (overwrite)", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    """Steps in order, in one Superset app (it takes seconds to start): ``admin``, ``import DIR``."""
    steps: list[Path | None] = []  # None: admin; a path: import that bundle
    args = list(argv)
    while args:
        step = args.pop(0)
        if step == "admin":
            steps.append(None)
        elif step == "import" and args:
            steps.append(Path(args.pop(0)))
        else:
            print("usage: superset_setup.py [admin] [import BUNDLE_DIR]", file=sys.stderr)
            return 2
    with _app().app_context():
        for bundle in steps:
            code = create_admin() if bundle is None else import_bundle(bundle)
            if code:
                return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
