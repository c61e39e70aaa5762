"""Exit codes of the ``revops`` command, and which exception means which.

0 ok; 1 a metric run or ingest step failed; 2 bad usage or configuration; 3 data is stale
(status/check); 4 cannot connect to PostgreSQL; 5 skipped: another run or backfill held the
metrics lock longer than ``lock_wait_seconds`` (nothing was computed; the next run does it);
6 the database server's disk is full. :func:`exit_code_for` is the one place an exception
escaping a command becomes a code and a message (``revops.cli.main`` logs the message and
returns the code); anything it does not know propagates as a traceback.

Database errors are told apart by SQLSTATE, not by exception class: psycopg raises
``OperationalError`` for a refused connection and for a lock timeout alike, and only the first
means "cannot connect".
"""

from __future__ import annotations

import errno
import os

import psycopg

from revops.config import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STALE, EXIT_CONNECT = 0, 1, 2, 3, 4
EXIT_SKIPPED, EXIT_DISK_FULL = 5, 6

# the server went away or refuses connections: admin_shutdown, crash_shutdown,
# cannot_connect_now, database_dropped; plus authentication failures (class 28)
_CONNECTION_STATES = {"57P01", "57P02", "57P03", "57P04"}
_RETRY_STATES = {"40001": "serialization failure", "40P01": "deadlock"}
DISK_FULL_HINT = (
    "the database server's disk is full (SQLSTATE 53100): free space on the volume that holds "
    "the data directory (embedded: ./.revops), then `revops up` (it restarts the embedded "
    "server if it stopped) and run the command again; nothing half-done was kept"
)


def exit_code_for(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, message to log) for an exception a command raised; None when not ours."""
    if isinstance(exc, ConfigError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return EXIT_DISK_FULL, DISK_FULL_HINT
    if isinstance(exc, psycopg.Error):
        return _database_error(exc)
    return None


def _database_error(exc: psycopg.Error) -> tuple[int, str]:
    state = exc.sqlstate or ""
    text = scrub(str(exc))
    primary = str(exc.diag.message_primary or text) if exc.diag else text
    if state == "53100" or "No space left on device" in text:
        return EXIT_DISK_FULL, DISK_FULL_HINT
    if state == "55P03":
        return EXIT_SKIPPED, f"skipped: {primary} (another run or backfill is still working)"
    if state == "22023":
        return EXIT_USAGE, primary
    if state == "57014":
        return EXIT_FAILED, f"cancelled (statement timeout or an operator): {primary}"
    if state in _RETRY_STATES:
        return EXIT_FAILED, f"{_RETRY_STATES[state]}, nothing was changed; run again: {primary}"
    connecting = isinstance(exc, psycopg.OperationalError) and not state
    if connecting or state.startswith(("08", "28")) or state in _CONNECTION_STATES:
        return EXIT_CONNECT, f"cannot connect to PostgreSQL: {text}"
    return EXIT_FAILED, f"database error: {text}"


def scrub(message: str) -> str:
    """Drop anything that looks like a password from a libpq message (belt and braces)."""
    for name in ("PGPASSWORD",):
        value = os.environ.get(name)
        if value:
            message = message.replace(value, "***")
    return message
