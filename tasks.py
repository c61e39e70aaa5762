"""Developer and operator tasks (`invoke --list`). Each is a thin wrapper over the `revops` CLI
(revops.cli.main) or a test/lint tool, so everything here also works without invoke."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

ROOT = Path(__file__).resolve().parent
PY = sys.executable


def _revops(*args: str) -> None:
    from revops.cli import main

    code = main(list(args))
    if code != 0:
        raise Exit(code=code)


def second_postgres_bin() -> Path | None:
    """A system PostgreSQL (not 18) to run the database suite on a second major version."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    for initdb in found:
        if initdb.parent.parent.name != "18":
            return initdb.parent
    return None


@task(help={"bootstrap": "also bootstrap both databases"})
def up(c: Context, bootstrap: bool = False) -> None:
    """Start the embedded PostgreSQL in ./.revops (initialised on first use)."""
    _revops("up", *(["--bootstrap"] if bootstrap else []))


@task
def down(c: Context) -> None:
    """Stop the embedded PostgreSQL (the data stays in ./.revops)."""
    _revops("down")


@task(help={"timezone": "business time zone, e.g. America/New_York (default: keep / UTC)"})
def bootstrap(c: Context, timezone: str = "") -> None:
    """Create roles, both databases, the FDW, tables and functions on the targeted server
    (the embedded one, or the server the PG* variables point at). Idempotent."""
    _revops("bootstrap", *(["--timezone", timezone] if timezone else []))


@task(help={"scale": "generator scale (default 0.02)", "seed": "random seed"})
def demo(c: Context, scale: float = 0.02, seed: int = 42) -> None:
    """Run the whole pipeline locally: start, bootstrap, generate, backfill, summarise."""
    _revops("demo", "--scale", str(scale), "--seed", str(seed))


@task(
    help={
        "scale": "1 = 200k leads, 50k opportunities, 1M activities (with --next-day: the size"
        " of the day, default the data's own)",
        "seed": "random seed",
        "next_day": "write the next business day of changes to crm.* into this directory"
        " instead (then `invoke ingest --paths DIR`)",
    }
)
def generate(c: Context, scale: float = 0.0, seed: int = 42, next_day: str = "") -> None:
    """Replace crm.* with deterministic synthetic CRM data, or write the next day of changes."""
    sized = ["--scale", str(scale)] if scale else []
    if next_day:
        _revops("generate", "--next-day", "--out", next_day, *sized, "--seed", str(seed))
    else:
        _revops("generate", *(sized or ["--scale", "1"]), "--seed", str(seed))


@task(help={"trigger": "systemd | github | manual | backfill", "date": "one day (YYYY-MM-DD)"})
def run(c: Context, trigger: str = "manual", date: str = "") -> None:
    """Compute yesterday plus the lookback days and any recent day never computed."""
    _revops("run", "--trigger", trigger, *(["--date", date] if date else []))


@task(
    help={
        "days": "the N days ending yesterday",
        "from_date": "first day (with --to-date)",
        "to_date": "last day, inclusive",
        "resume": "skip days that already have a successful run",
    }
)
def backfill(
    c: Context, days: int = 0, from_date: str = "", to_date: str = "", resume: bool = False
) -> None:
    """Recompute a range of days set-based, one transaction per chunk, with progress."""
    args = ["--days", str(days)] if days else ["--from", from_date, "--to", to_date]
    _revops("backfill", *args, *(["--resume"] if resume else []))


@task(help={"json": "machine-readable output"})
def status(c: Context, json: bool = False) -> None:
    """Recent runs, newest day per table, freshness (fails when stale)."""
    _revops("status", *(["--json"] if json else []))


@task(
    help={
        "day": "the day, YYYY-MM-DD (default: yesterday in the business time zone)",
        "out": "the HTML file (default: revops-digest-DAY.html)",
        "summary_md": "also append a Markdown summary to this file",
    }
)
def report(c: Context, day: str = "", out: str = "", summary_md: str = "") -> None:
    """The daily digest: one self-contained HTML page (charts inlined), read as revops_bi."""
    _revops(
        "report",
        *(["--day", day] if day else []),
        *(["--out", out] if out else []),
        *(["--summary-md", summary_md] if summary_md else []),
    )


@task(help={"role": "bi (default), runner, etl or admin"})
def psql(c: Context, role: str = "bi") -> None:
    """Open psql on the embedded server as a revops role (password from .revops/pgpass)."""
    _revops("psql", "--role", role)


@task(help={"scale": "generator scale (default 1; 2 shows how each number grows)"})
def bench(c: Context, scale: float = 1.0) -> None:
    """Benchmark on generated data: prints medians, ratios to one full FDW read, peak memory."""
    _revops("bench", "--scale", str(scale))


@task(
    help={
        "paths": "files, directories or globs (- for stdin)",
        "object_type": "for bare arrays/JSONL",
        "retry_failed": "also load again what failed or was interrupted",
    }
)
def ingest(c: Context, paths: str = "", object_type: str = "", retry_failed: bool = False) -> None:
    """Load Salesforce-style JSON exports into crm.* (quarantining bad records)."""
    _revops(
        "ingest",
        *paths.split(),
        *(["--object", object_type] if object_type else []),
        *(["--retry-failed"] if retry_failed else []),
    )


@task(name="bench-ingest", help={"scale": "1 = 100,000 records"})
def bench_ingest(c: Context, scale: float = 1.0) -> None:
    """Ingest benchmark: records/second, ratio to a plain COPY of the same rows, peak memory."""
    from revops.ingest.bench import run_benchmark

    run_benchmark(dict(os.environ), scale)


@task
def lint(c: Context) -> None:
    """ruff (lint + format check) and mypy --strict on the package and tasks.py."""
    c.run(f"{PY} -m ruff check .", pty=False)
    c.run(f"{PY} -m ruff format --check .", pty=False)
    c.run(f"{PY} -m mypy", pty=False)


@task(
    help={
        "quick": "unit tests only (no database)",
        "pg_bin": "bin directory of a second PostgreSQL for the database suite "
        "(default: a system PostgreSQL other than 18 under /usr/lib/postgresql)",
    }
)
def test(c: Context, quick: bool = False, pg_bin: str = "") -> None:
    """All tests: unit + infra + database suite on the embedded PostgreSQL 18, then the database
    suite again on a second PostgreSQL major version (15 here; required when CI=true)."""
    pytest = f"{PY} -m pytest"
    if quick:
        c.run(f"{pytest} tests/unit", pty=False)
        return
    c.run(f"{pytest} tests", pty=False)
    second = Path(pg_bin) if pg_bin else second_postgres_bin()
    if second is None:
        message = (
            "no second PostgreSQL found under /usr/lib/postgresql (apt-get install postgresql-15)"
        )
        if os.environ.get("CI"):
            raise Exit(message, code=1)
        print(f"NOTE: {message}; the database suite ran on PostgreSQL 18 only", file=sys.stderr)
        return
    c.run(f"{pytest} tests/db --pg-bin {second}", pty=False)


@task(name="bi-install")
def bi_install(c: Context) -> None:
    """Create Superset's own virtualenv (.revops/bi/venv; REVOPS_BI_VENV moves it) and install
    Apache Superset pinned by bi/constraints.txt."""
    _revops("bi", "install")


@task(name="bi-init")
def bi_init(c: Context) -> None:
    """Migrate Superset's metadata, create the admin, import bi/assets (again after a change)."""
    _revops("bi", "init")


@task(name="bi-serve", help={"port": "port on 127.0.0.1 (default 8088)"})
def bi_serve(c: Context, port: int = 8088) -> None:
    """Serve Superset on 127.0.0.1 (foreground; Ctrl-C stops it)."""
    _revops("bi", "serve", "--port", str(port))


@task(name="bi-bundle", help={"out": "ZIP to write (default revops_bi_assets.zip)"})
def bi_bundle(c: Context, out: str = "revops_bi_assets.zip") -> None:
    """Write bi/assets as a ZIP for Superset's import dialog (no password inside)."""
    _revops("bi", "bundle", "--out", out)


@task(name="test-bi")
def test_bi(c: Context) -> None:
    """The browser suite (tests/browser): Debian's chromium against Superset (needs
    `invoke bi-install`) and the other served pages."""
    c.run(f"{PY} -m pytest tests/browser", pty=False)
