"""Exceptions to exit codes: by SQLSTATE, so only a real connection failure is "cannot connect"."""

from __future__ import annotations

import errno

import psycopg
import pytest

from revops import exitcodes
from revops.config import ConfigError


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (psycopg.OperationalError("connection refused"), exitcodes.EXIT_CONNECT, "cannot connect"),
        (psycopg.errors.AdminShutdown("terminating"), exitcodes.EXIT_CONNECT, "cannot connect"),
        (psycopg.errors.InvalidPassword("auth"), exitcodes.EXIT_CONNECT, "cannot connect"),
        (psycopg.errors.LockNotAvailable("holds the lock"), exitcodes.EXIT_SKIPPED, "skipped"),
        (psycopg.errors.QueryCanceled("timeout"), exitcodes.EXIT_FAILED, "cancelled"),
        (psycopg.errors.SerializationFailure("x"), exitcodes.EXIT_FAILED, "run again"),
        (psycopg.errors.DeadlockDetected("x"), exitcodes.EXIT_FAILED, "run again"),
        (psycopg.errors.DiskFull("could not extend"), exitcodes.EXIT_DISK_FULL, "revops up"),
        (
            psycopg.errors.InternalError_("could not write: No space left on device"),
            exitcodes.EXIT_DISK_FULL,
            "disk is full",
        ),
        (OSError(errno.ENOSPC, "No space left on device"), exitcodes.EXIT_DISK_FULL, "free space"),
        (psycopg.errors.InvalidParameterValue("bad day"), exitcodes.EXIT_USAGE, "bad day"),
        (psycopg.errors.UndefinedTable("x"), exitcodes.EXIT_FAILED, "database error"),
        (ConfigError("give --days"), exitcodes.EXIT_USAGE, "give --days"),
    ],
)
def test_exit_code_by_sqlstate(exc: BaseException, code: int, words: str) -> None:
    got = exitcodes.exit_code_for(exc)
    assert got is not None
    assert got[0] == code
    assert words in got[1]


def test_unknown_exceptions_propagate() -> None:
    assert exitcodes.exit_code_for(ValueError("bug")) is None
