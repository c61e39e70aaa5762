"""Exit codes of the ``revops`` command, and which exception means which.

0 ok; 1 a metric run or ingest step failed; 2 bad usage or configuration; 3 data is stale
(status/check); 4 cannot connect to PostgreSQL. :func:`exit_code_for` is the one place an
exception escaping a command becomes a code and a message (``revops.cli.main`` logs the message
and returns the code); anything it does not know propagates as a traceback.
"""

from __future__ import annotations

import os

import psycopg

from revops.config import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STALE, EXIT_CONNECT = 0, 1, 2, 3, 4


def exit_code_for(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, message to log) for an exception a command raised; None when not ours."""
    if isinstance(exc, ConfigError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, psycopg.OperationalError):
        return EXIT_CONNECT, f"cannot connect to PostgreSQL: {scrub(str(exc))}"
    if isinstance(exc, psycopg.errors.InvalidParameterValue):
        return EXIT_USAGE, str(exc.diag.message_primary or exc)
    if isinstance(exc, psycopg.Error):
        return EXIT_FAILED, f"database error: {scrub(str(exc))}"
    return None


def scrub(message: str) -> str:
    """Drop anything that looks like a password from a libpq message (belt and braces)."""
    for name in ("PGPASSWORD",):
        value = os.environ.get(name)
        if value:
            message = message.replace(value, "***")
    return message
