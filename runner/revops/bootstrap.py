"""Bootstrap both databases from db/: roles, databases, migrations, FDW, functions, grants.

Apply order (also in db/README.md):
1. ``db/cluster/roles.sql`` (repeatable) then role passwords and LOGIN (SCRAM verifiers built
   here, so no plaintext password is ever in a role statement);
2. the source database: ``db/source/migrations/NNNN_*.sql`` once each, recorded in
   ``revops_meta.schema_migrations``, then the repeatable views in ``db/source/views``;
3. the metrics database: postgres_fdw, ``db/metrics/migrations`` (as the admin); then, as
   ``revops_owner`` (SET ROLE), the time zone setting; as the admin, the FDW server (options,
   the business time zone among them) and the owner's user mapping; then again as the owner
   ``IMPORT FOREIGN SCHEMA crm`` (per table, only when its columns changed), every repeatable
   file in ``db/metrics/functions``, then ``db/metrics/views`` (a view that reads a later one
   is retried after it) and finally ``db/metrics/grants.sql``.

Running it again on a bootstrapped cluster changes nothing and fails nothing: each step checks
what is there first. A session-level advisory lock keeps two bootstraps from interleaving.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from revops import config
from revops.config import Target
from revops.db import OWNER, as_owner, connect, db_dir, execute_file, fetch_one

log = logging.getLogger(__name__)

FDW_SERVER = "revops_source"
ZONE_NAME = re.compile(r"[A-Za-z0-9_/+-]+")
BOOTSTRAP_LOCK = 7_311_001  # arbitrary, fixed: pg_advisory_lock key for bootstrap

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass
class BootstrapReport:
    applied_migrations: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        self.changed.append(what)


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677)."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def verifier_matches(verifier: str | None, password: str) -> bool:
    if not verifier or not verifier.startswith("SCRAM-SHA-256$"):
        return False
    try:
        head, _keys = verifier.split("$", 2)[1:]
        iterations_text, salt_b64 = head.split(":")
        salt = base64.b64decode(salt_b64)
        expected = scram_verifier(password, salt, int(iterations_text))
    except ValueError:
        return False
    return hmac.compare_digest(expected, verifier)


def _one(conn: Conn, query: sql.Composable | str, params: tuple[object, ...] = ()) -> object:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    return None if row is None else row[0]


def _require_admin(conn: Conn) -> bool:
    """Check the connection can bootstrap; True when it is a superuser.

    A superuser, or (Amazon RDS and other managed servers) a role with CREATEROLE and CREATEDB:
    on PostgreSQL 16+ it administers the roles it creates (ADMIN OPTION), on 15 every
    non-superuser role. Such an admin cannot create postgres_fdw unless the extension is
    trusted or already there (RDS: its master user, an rds_superuser, may create it).
    """
    row = fetch_one(
        conn,
        "SELECT rolsuper, rolcreaterole AND rolcreatedb, current_user"
        " FROM pg_catalog.pg_roles WHERE rolname = current_user",
    )
    if row[0]:
        return True
    if not row[1]:
        raise config.ConfigError(
            f"bootstrap needs a superuser, or a role with CREATEROLE and CREATEDB such as the "
            f"RDS master user (connected as {row[2]}): it creates roles and databases"
        )
    return False


def _server_version(conn: Conn) -> int:
    return int(str(_one(conn, "SHOW server_version_num")))


def ensure_admin_membership(conn: Conn, report: BootstrapReport) -> None:
    """A non-superuser admin joins revops_owner and revops_runner (SET only, no inheritance on
    16+): bootstrap works as the owner, and migrations hand objects between the two (ALTER ...
    OWNER TO and REASSIGN OWNED need membership in the roles involved). A superuser needs none.
    """
    version = _server_version(conn)
    for role in (OWNER, "revops_runner"):
        kind = "SET" if version >= 160000 else "MEMBER"
        if _one(conn, "SELECT pg_catalog.pg_has_role(current_user, %s, %s)", (role, kind)):
            continue
        grant = sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role))
        if version >= 160000:
            grant = sql.SQL("{} WITH INHERIT FALSE, SET TRUE").format(grant)
        conn.execute(grant)
        report.note(f"bootstrap admin may SET ROLE {role}")


def _password_works(admin: Target, dbname: str, role: str, password: str) -> bool:
    """Whether ``role`` can log in with ``password`` (how a non-superuser admin, who cannot
    read pg_authid, tells that a password is already set)."""
    probe = Target(admin.kind, {**admin.params, "user": role, "password": password}, admin.dsn)
    try:
        with connect(probe, dbname, application="revops-bootstrap-probe"):
            return True
    except psycopg.OperationalError:
        return False


def ensure_roles(
    conn: Conn,
    home: Path,
    env: Mapping[str, str],
    report: BootstrapReport,
    *,
    probe: Callable[[str, str], bool] | None = None,
) -> None:
    """The roles, then LOGIN and a password for each login role where they differ.

    A superuser compares the stored SCRAM verifier (pg_authid). Without superuser, pg_authid is
    not readable: ``probe(role, password)`` logs in as the role instead, and the password is set
    again only when that login fails (so a second bootstrap still changes nothing).
    """
    execute_file(conn, db_dir() / "cluster" / "roles.sql")
    for role in config.ROLES:
        password = config.role_password(role, home, env)
        if probe is None:
            current, can_login = fetch_one(
                conn,
                "SELECT a.rolpassword, a.rolcanlogin FROM pg_catalog.pg_authid AS a "
                "WHERE a.rolname = %s",
                (role,),
            )
            if can_login and verifier_matches(str(current) if current else None, password):
                continue
        elif probe(role, password):
            continue
        conn.execute(
            sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(scram_verifier(password))
            )
        )
        report.note(f"password/login set for {role}")


def ensure_database(conn: Conn, name: str, report: BootstrapReport) -> None:
    if _one(conn, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (name,)):
        return
    conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8'").format(sql.Identifier(name)))
    report.note(f"database {name} created")


def apply_migrations(conn: Conn, folder: Path, report: BootstrapReport, label: str) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS revops_meta")
    conn.execute("REVOKE ALL ON SCHEMA revops_meta FROM PUBLIC")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS revops_meta.schema_migrations ("
        " version text PRIMARY KEY, file_name text NOT NULL, sha256 text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    applied = {
        str(r[0]): str(r[1])
        for r in conn.execute("SELECT version, sha256 FROM revops_meta.schema_migrations")
    }
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        version = path.name[:4]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if version in applied:
            if applied[version] != digest:
                log.warning(
                    "migration %s/%s changed after it was applied; migrations are never edited: "
                    "add a new one",
                    label,
                    path.name,
                )
            continue
        with conn.transaction():
            execute_file(conn, path)
            conn.execute(
                "INSERT INTO revops_meta.schema_migrations (version, file_name, sha256) "
                "VALUES (%s, %s, %s)",
                (version, path.name, digest),
            )
        report.applied_migrations.append(f"{label}/{path.name}")


def _options(raw: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in raw or []:  # type: ignore[attr-defined]
        key, _, value = str(item).partition("=")
        out[key] = value
    return out


def ensure_fdw(
    conn: Conn,
    *,
    source_db: str,
    fdw_host: str,
    fdw_port: str,
    reader_password: str,
    business_timezone: str,
    report: BootstrapReport,
    sslmode: str = "",
) -> None:
    """The foreign server (owned by the admin) and the one user mapping, for revops_owner.

    Only revops_owner may use the server: the SECURITY DEFINER entry points read the source as
    it. revops_runner gets no USAGE and no mapping (so it can neither read the source directly
    nor see the mapping's password), and the admin no mapping either. The server option
    ``options`` passes the business time zone to every source session; it is set here, never
    by a run (runs only check it: metrics.source_timezone). ``sslmode`` (REVOPS_FDW_SSLMODE,
    ``require`` on RDS) is a server option when set, and removed when unset.
    """
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
    wanted = {
        "host": fdw_host,
        "port": fdw_port,
        "dbname": source_db,
        "fetch_size": "10000",
        "use_remote_estimate": "true",
        # PostgreSQL 17's default price of a row crossing the FDW (it was 0.01 before), so
        # plans are the same on every supported version.
        "fdw_tuple_cost": "0.2",
        # the metrics side never writes the source, whatever a foreign table says
        "updatable": "false",
        "options": zone_option(business_timezone),
    }
    if sslmode:
        wanted["sslmode"] = sslmode
    exists = bool(
        _one(conn, "SELECT 1 FROM pg_catalog.pg_foreign_server WHERE srvname = %s", (FDW_SERVER,))
    )
    if not exists:
        opts = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in wanted.items()
        )
        conn.execute(
            sql.SQL("CREATE SERVER {} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({})").format(
                sql.Identifier(FDW_SERVER), opts
            )
        )
        report.note("FDW server created")
    else:
        set_server_options(conn, wanted, report, absent=() if sslmode else ("sslmode",))
    server = sql.Identifier(FDW_SERVER)
    conn.execute(sql.SQL("REVOKE ALL ON FOREIGN SERVER {} FROM PUBLIC").format(server))
    conn.execute(sql.SQL("REVOKE ALL ON FOREIGN SERVER {} FROM revops_runner").format(server))
    conn.execute(sql.SQL("GRANT USAGE ON FOREIGN SERVER {} TO revops_owner").format(server))
    _drop_other_mappings(conn, report)
    mapped = _one(
        conn,
        "SELECT 1 FROM pg_catalog.pg_user_mappings WHERE srvname = %s AND usename = %s",
        (FDW_SERVER, OWNER),
    )
    want = {"user": "revops_fdw_reader", "password": reader_password}
    if not mapped:
        opts = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in want.items()
        )
        conn.execute(
            sql.SQL("CREATE USER MAPPING FOR {} SERVER {} OPTIONS ({})").format(
                sql.Identifier(OWNER), server, opts
            )
        )
        report.note(f"user mapping for {OWNER} created")
        return
    with conn.transaction():
        # pg_user_mappings shows a mapping's options only to its user (or a superuser): read
        # them as revops_owner, so a non-superuser admin (the server's owner) sees them too
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER)))
        current_opts = _one(
            conn,
            "SELECT umoptions FROM pg_catalog.pg_user_mappings WHERE srvname = %s AND usename = %s",
            (FDW_SERVER, OWNER),
        )
    changes = _option_changes(_options(current_opts), want)
    if changes:
        conn.execute(
            sql.SQL("ALTER USER MAPPING FOR {} SERVER {} OPTIONS ({})").format(
                sql.Identifier(OWNER), server, sql.SQL(", ").join(changes)
            )
        )
        report.note(f"user mapping for {OWNER} updated")


def _option_changes(current: Mapping[str, str], wanted: Mapping[str, str]) -> list[sql.Composed]:
    """``SET k 'v'`` / ``ADD k 'v'`` for every wanted option whose value differs."""
    return [
        sql.SQL("{} {} {}").format(
            sql.SQL("SET" if k in current else "ADD"), sql.Identifier(k), sql.Literal(v)
        )
        for k, v in wanted.items()
        if current.get(k) != v
    ]


def set_server_options(
    conn: Conn,
    wanted: Mapping[str, str],
    report: BootstrapReport,
    absent: tuple[str, ...] = (),
) -> None:
    """ALTER SERVER for the options that differ, dropping those in ``absent`` (the caller is
    the server's owner, the admin)."""
    raw = _one(
        conn,
        "SELECT srvoptions FROM pg_catalog.pg_foreign_server WHERE srvname = %s",
        (FDW_SERVER,),
    )
    current = _options(raw)
    changes = _option_changes(current, wanted) + [
        sql.SQL("DROP {}").format(sql.Identifier(k)) for k in absent if k in current
    ]
    if changes:
        conn.execute(
            sql.SQL("ALTER SERVER {} OPTIONS ({})").format(
                sql.Identifier(FDW_SERVER), sql.SQL(", ").join(changes)
            )
        )
        report.note("FDW server options updated")


def zone_option(zone: str) -> str:
    """The server option value that makes every source session compute days in ``zone``."""
    return f"-c revops.business_timezone={zone}"


def set_business_timezone(
    timezone: str, env: Mapping[str, str] | None = None, admin: Target | None = None
) -> BootstrapReport:
    """Change the business time zone of a bootstrapped installation: the setting (as the owner)
    and the foreign server option the source views read (as the admin), nothing else."""
    env = dict(os.environ if env is None else env)
    report = BootstrapReport()
    with connect(
        admin or config.admin_target(env),
        config.metrics_db_name(env),
        application="revops-bootstrap",
    ) as met:
        _require_admin(met)
        as_owner(met)
        set_timezone(met, timezone, report)
        zone = stored_timezone(met)
        met.execute("RESET ROLE")
        set_server_options(met, {"options": zone_option(zone)}, report)
    return report


def _drop_other_mappings(conn: Conn, report: BootstrapReport) -> None:
    """Mappings of earlier versions (revops_runner, the admin, PUBLIC): only the owner keeps one."""
    others = conn.execute(
        "SELECT usename FROM pg_catalog.pg_user_mappings WHERE srvname = %s AND usename <> %s",
        (FDW_SERVER, OWNER),
    ).fetchall()
    for (user,) in others:
        target = sql.SQL("PUBLIC") if user == "public" else sql.Identifier(str(user))
        conn.execute(
            sql.SQL("DROP USER MAPPING FOR {} SERVER {}").format(target, sql.Identifier(FDW_SERVER))
        )
        report.note(f"user mapping for {user} dropped (only {OWNER} reads the source)")


def source_columns(conn: Conn) -> dict[str, list[tuple[str, str]]]:
    """Table -> [(column, type)] of schema crm in the connected (source) database."""
    rows = conn.execute(
        "SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)"
        " FROM pg_catalog.pg_attribute AS a"
        " JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid"
        " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'p') AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
        ("crm",),
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_name in rows:
        out.setdefault(str(table), []).append((str(column), str(type_name)))
    return out


def foreign_columns(conn: Conn) -> dict[str, list[tuple[str, str]]]:
    rows = conn.execute(
        "SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)"
        " FROM pg_catalog.pg_attribute AS a"
        " JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid"
        " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'crm_remote' AND c.relkind = 'f' AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_name in rows:
        out.setdefault(str(table), []).append((str(column), str(type_name)))
    return out


def source_views(conn: Conn) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_catalog.pg_class AS c"
        " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'crm' AND c.relkind = 'v'"
    ).fetchall()
    return {str(r[0]) for r in rows}


def ensure_view_estimates(metrics_conn: Conn, views: set[str], report: BootstrapReport) -> None:
    """Foreign tables over source views plan with local estimates (use_remote_estimate off).

    The views compute business days and categories; the remote planner cannot estimate how
    many groups such expressions make, guesses "one per row", and the local planner then
    declines to ship the GROUP BY. Local estimates (few groups) make it ship the aggregate,
    which is always right for these views: they exist to be aggregated remotely.
    """
    for view in sorted(views):
        row = metrics_conn.execute(
            "SELECT ft.ftoptions FROM pg_catalog.pg_foreign_table AS ft"
            " JOIN pg_catalog.pg_class AS c ON c.oid = ft.ftrelid"
            " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'crm_remote' AND c.relname = %s",
            (view,),
        ).fetchone()
        if row is None or _options(row[0]).get("use_remote_estimate") == "false":
            continue
        verb = "SET" if "use_remote_estimate" in _options(row[0]) else "ADD"
        metrics_conn.execute(
            sql.SQL("ALTER FOREIGN TABLE {} OPTIONS ({} use_remote_estimate 'false')").format(
                sql.Identifier("crm_remote", view), sql.SQL(verb)
            )
        )
        report.note(f"crm_remote.{view} plans with local estimates")


def ensure_foreign_tables(
    metrics_conn: Conn, wanted: dict[str, list[tuple[str, str]]], report: BootstrapReport
) -> None:
    """Import crm into crm_remote, table by table, only where the columns differ."""
    have = foreign_columns(metrics_conn)
    stale = sorted(t for t in wanted if have.get(t) != wanted[t])
    extra = sorted(t for t in have if t not in wanted)
    if not stale and not extra:
        return
    with metrics_conn.transaction():
        # The foreign tables belong to revops_owner and are imported through its mapping.
        metrics_conn.execute("SET LOCAL ROLE revops_owner")
        for table in stale + extra:
            metrics_conn.execute(
                # CASCADE: views over it (metrics.data_quality) are re-created right after,
                # with the other repeatable files
                sql.SQL("DROP FOREIGN TABLE IF EXISTS {}.{} CASCADE").format(
                    sql.Identifier("crm_remote"), sql.Identifier(table)
                )
            )
        if stale:
            metrics_conn.execute(
                sql.SQL(
                    "IMPORT FOREIGN SCHEMA crm LIMIT TO ({}) FROM SERVER {} INTO crm_remote"
                ).format(
                    sql.SQL(", ").join(sql.Identifier(t) for t in stale), sql.Identifier(FDW_SERVER)
                )
            )
    report.note(
        f"foreign tables imported: {', '.join(stale) or '-'}; dropped: {', '.join(extra) or '-'}"
    )


def apply_repeatables(conn: Conn, folders: list[Path], grants: Path | None = None) -> None:
    """Re-apply every function/view file (CREATE OR REPLACE), folder by folder, then the grants.

    Function bodies are not checked at creation, so functions apply in any order. A view is
    checked against what it reads, so view files that name an object a later file creates are
    retried after the others (each attempt in a savepoint) until all apply; a real error is
    raised once no file makes progress.
    """
    with conn.transaction():
        conn.execute("SET LOCAL check_function_bodies = off")
        for folder in folders:
            pending = sorted(folder.glob("*.sql"))
            while pending:
                failed: list[tuple[Path, psycopg.Error]] = []
                for path in pending:
                    try:
                        with conn.transaction():
                            execute_file(conn, path)
                    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction) as exc:
                        failed.append((path, exc))
                if len(failed) == len(pending):
                    raise failed[0][1]
                pending = [path for path, _ in failed]
        if grants is not None:
            execute_file(conn, grants)


def set_timezone(conn: Conn, timezone: str, report: BootstrapReport) -> None:
    """Store the business time zone in metrics.settings (the caller is revops_owner)."""
    if not _one(conn, "SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = %s", (timezone,)):
        raise config.ConfigError(f"unknown time zone {timezone!r}: use an IANA name such as UTC")
    current = _one(
        conn,
        "SELECT setting_value #>> '{}' FROM metrics.settings WHERE setting_name = 'business_timezone'",
    )
    if current == timezone:
        return
    conn.execute(
        "UPDATE metrics.settings SET setting_value = to_jsonb(%s::text), updated_at = now()"
        " WHERE setting_name = 'business_timezone'",
        (timezone,),
    )
    report.note(f"business_timezone set to {timezone}")


def stored_timezone(conn: Conn) -> str:
    """The business time zone in metrics.settings, checked before it goes into a server option.

    The zone becomes part of the libpq ``options`` string of every source session, so beyond
    being a known zone it must be a plain name (no spaces that could add other ``-c`` options).
    """
    zone = _one(
        conn,
        "SELECT setting_value #>> '{}' FROM metrics.settings WHERE setting_name = 'business_timezone'",
    )
    known = zone is not None and _one(
        conn, "SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = %s", (zone,)
    )
    if not isinstance(zone, str) or not ZONE_NAME.fullmatch(zone) or not known:
        raise config.ConfigError(
            f"business_timezone {zone!r} in metrics.settings is not a known time zone: "
            "run `revops bootstrap --timezone ZONE`"
        )
    return zone


def ensure_metrics_database(
    met: Conn,
    env: Mapping[str, str],
    *,
    home: Path,
    source_db: str,
    server_port: str,
    wanted: dict[str, list[tuple[str, str]]],
    views: set[str],
    timezone: str | None,
    report: BootstrapReport,
) -> None:
    """Migrations (as the admin), then everything else as revops_owner, except the foreign
    server and its user mapping, which only the admin (the server's owner) may change."""
    met.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
    apply_migrations(met, db_dir() / "metrics" / "migrations", report, "metrics")
    as_owner(met)
    if timezone:
        set_timezone(met, timezone, report)
    zone = stored_timezone(met)
    met.execute("RESET ROLE")
    ensure_fdw(
        met,
        source_db=source_db,
        fdw_host=env.get("REVOPS_FDW_HOST") or "127.0.0.1",
        fdw_port=env.get("REVOPS_FDW_PORT") or server_port,
        reader_password=config.role_password("revops_fdw_reader", home, env),
        business_timezone=zone,
        report=report,
        sslmode=env.get("REVOPS_FDW_SSLMODE") or "",
    )
    as_owner(met)
    ensure_foreign_tables(met, wanted, report)
    ensure_view_estimates(met, views, report)
    apply_repeatables(
        met,
        [db_dir() / "metrics" / "functions", db_dir() / "metrics" / "views"],
        db_dir() / "metrics" / "grants.sql",
    )
    met.execute("RESET ROLE")


def bootstrap(
    timezone: str | None = None,
    env: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
    admin: Target | None = None,
) -> BootstrapReport:
    """Bootstrap as ``admin`` (default: config.admin_target), a superuser or a CREATEROLE and
    CREATEDB role (see _require_admin)."""
    env = dict(os.environ if env is None else env)
    say = progress or (lambda _msg: None)
    timezone = timezone or env.get("REVOPS_BUSINESS_TIMEZONE") or None
    home = config.revops_home(env)
    admin = admin or config.admin_target(env)
    source_db, metrics_db = config.source_db_name(env), config.metrics_db_name(env)
    maintenance_db = env.get("PGDATABASE") or "postgres"
    report = BootstrapReport()

    with connect(admin, maintenance_db, application="revops-bootstrap") as conn:
        superuser = _require_admin(conn)
        conn.execute("SELECT pg_advisory_lock(%s)", (BOOTSTRAP_LOCK,))
        say(f"roles on {admin.describe()}")

        def probe(role: str, password: str, target: Target = admin) -> bool:
            return _password_works(target, maintenance_db, role, password)

        ensure_roles(conn, home, env, report, probe=None if superuser else probe)
        if not superuser:
            ensure_admin_membership(conn, report)
        ensure_database(conn, source_db, report)
        ensure_database(conn, metrics_db, report)
        server_port = str(_one(conn, "SHOW port"))
        try:
            say(f"source database {source_db}")
            with connect(admin, source_db, application="revops-bootstrap") as src:
                apply_migrations(src, db_dir() / "source" / "migrations", report, "source")
                apply_repeatables(
                    src, [db_dir() / "source" / "functions", db_dir() / "source" / "views"]
                )
                wanted = source_columns(src)
                views = source_views(src)
            say(f"metrics database {metrics_db}")
            with connect(admin, metrics_db, application="revops-bootstrap") as met:
                ensure_metrics_database(
                    met,
                    env,
                    home=home,
                    source_db=source_db,
                    server_port=server_port,
                    wanted=wanted,
                    views=views,
                    timezone=timezone,
                    report=report,
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (BOOTSTRAP_LOCK,))
    return report
