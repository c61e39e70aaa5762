"""Connections and the one place a repository SQL file is executed."""

from __future__ import annotations

from pathlib import Path

import psycopg
import psycopg.conninfo
from psycopg import sql

from revops import __version__
from revops.config import Target

DB_DIR = Path(__file__).resolve().parents[2] / "db"
OWNER = "revops_owner"  # NOLOGIN owner of the metrics database's objects


def db_dir() -> Path:
    """The repository's db/ directory (the package is installed editable from the repo)."""
    if not DB_DIR.is_dir():
        raise FileNotFoundError(f"SQL directory not found at {DB_DIR}")
    return DB_DIR


def connect(
    target: Target, dbname: str, *, autocommit: bool = True, application: str = "revops"
) -> psycopg.Connection[tuple[object, ...]]:
    """Open a connection; libpq fills in whatever the target leaves unset (PG* variables)."""
    conninfo = psycopg.conninfo.make_conninfo(
        target.dsn,
        dbname=dbname,
        application_name=f"{application}/{__version__}",
        connect_timeout=10,
        **target.params,
    )
    return psycopg.connect(conninfo, autocommit=autocommit)


def execute_file(conn: psycopg.Connection[tuple[object, ...]], path: Path) -> None:
    """Run a whole SQL file from the repository.

    This is the one place where a non-literal string is executed: the text is a file under
    version control in db/, never anything derived from user input. psycopg sends a string
    without parameters through the simple query protocol, so multi-statement files work.
    """
    text = path.read_text()
    conn.execute(sql.SQL(text))  # type: ignore[arg-type,unused-ignore]  # repository file


def fetch_one(
    conn: psycopg.Connection[tuple[object, ...]],
    query: str | sql.SQL | sql.Composed,
    params: tuple[object, ...] = (),
) -> tuple[object, ...]:
    """The single row a query must return (raises rather than returning None)."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise RuntimeError(f"query returned no row: {query}")
    return row


def as_owner(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Become revops_owner for the rest of the session (until RESET ROLE); needs the admin.

    Every admin-side step that creates, alters, reads or runs metrics objects does this first,
    so nothing a login role could create, replace or trigger ever runs with the admin's rights.
    """
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(OWNER)))
