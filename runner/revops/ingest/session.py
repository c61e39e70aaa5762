"""One ingest invocation as the metrics side sees it: while it loads, it holds a shared advisory
lock in the source database, so a metrics run waits for the whole invocation instead of
consuming the files that happen to have committed (``crm.capture_horizon.ingest_running``);
when it is done it prunes the change log to its bounded history (``crm.prune_change_log``).

Shared: several ingests may load at once (they upsert row by row, last writer wins); only runs
wait. Session-level: the lock outlives each file's transaction and dies with the connection, so
a killed ingest never leaves it behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

# The key crm.capture_horizon looks for (db/source/views/capture_horizon.sql).
INGEST_LOCK = 7_311_003


@contextmanager
def ingest_session(conn: psycopg.Connection[Any]) -> Iterator[None]:
    conn.execute("SELECT pg_advisory_lock_shared(%s)", (INGEST_LOCK,))
    try:
        yield
        conn.execute("SELECT crm.prune_change_log()")
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock_shared(%s)", (INGEST_LOCK,))
