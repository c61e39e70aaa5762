"""Apache Superset dashboards as code (``revops bi install | init | serve | bundle``).

Superset runs from its own virtualenv (``REVOPS_BI_VENV``, default ``<bi home>/venv``; the bi
home is ``REVOPS_BI_HOME``, default ``$REVOPS_HOME/bi``, i.e. ``./.revops/bi``), installed from
``bi/requirements.txt`` pinned by ``bi/constraints.txt``: its dependency tree would fight the
project's. The assets (database connection, datasets, charts, the dashboard) are YAML under
``bi/assets`` in Superset's export layout.

``init`` migrates Superset's metadata database (``bi/superset_config.py``: SQLite in the bi home
unless ``SUPERSET_METADATA_DB_URI`` says otherwise), creates or resets the admin user and imports
a bundle built from the assets with ImportAssetsCommand, which overwrites what an earlier init
imported (``superset import-dashboards`` keeps existing charts and datasets). The bundle is
written to a private temporary directory (0700) and removed afterwards. It points the
connection at the target server but holds no password: ``revops_bi``'s password and the admin's
reach ``bi/superset_setup.py`` through its environment, never argv or a file.

Nothing here imports Superset: every Superset step is a subprocess of the BI virtualenv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from revops import config, local_secrets

PASSWORD_MASK = "XXXXXXXXXX"  # noqa: S105 - Superset's placeholder, not a password
ADMIN_USER = "admin"
DEFAULT_PORT = 8088
BIND_HOST = "127.0.0.1"  # never anything else: teams reach it through SSM or a TLS proxy
DASHBOARD_PATH = "/superset/dashboard/revops-metrics/"
Progress = Callable[[str], None]


def source_dir(env: Mapping[str, str] | None = None) -> Path:
    """The project's ``bi/`` directory (``REVOPS_BI_DIR`` overrides it)."""
    env = os.environ if env is None else env
    explicit = env.get("REVOPS_BI_DIR")
    return Path(explicit) if explicit else Path(__file__).resolve().parents[2] / "bi"


def assets_dir(env: Mapping[str, str] | None = None) -> Path:
    return source_dir(env) / "assets"


def bi_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    explicit = env.get("REVOPS_BI_HOME")
    return Path(explicit).resolve() if explicit else config.revops_home(env) / "bi"


def venv_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    explicit = env.get("REVOPS_BI_VENV")
    return Path(explicit).resolve() if explicit else bi_home(env) / "venv"


def venv_bin(env: Mapping[str, str] | None = None) -> Path:
    return venv_dir(env) / "bin"


# -- assets ---------------------------------------------------------------------------------
def _yaml() -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - pyyaml is in the bi and dev extras
        raise config.ConfigError(
            "revops bi needs PyYAML: pip install 'revops-metrics[bi]'"
        ) from exc
    return yaml


def load_assets(directory: Path) -> dict[str, dict[str, Any]]:
    """Every YAML file of a bundle directory, keyed by its path relative to it."""
    yaml = _yaml()
    loaded: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if not isinstance(data, dict):
            raise config.ConfigError(f"{path}: not a YAML mapping")
        loaded[path.relative_to(directory).as_posix()] = data
    return loaded


def chart_uuids_in_position(position: Mapping[str, Any]) -> dict[int, str]:
    """chartId -> uuid of every CHART in a dashboard's position."""
    found: dict[int, str] = {}
    for item in position.values():
        if isinstance(item, dict) and item.get("type") == "CHART":
            meta = item.get("meta", {})
            found[int(meta.get("chartId", -1))] = str(meta.get("uuid"))
    return found


def check_references(assets: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Problems in a bundle: duplicate uuids, and references (dataset -> database, chart ->
    dataset, dashboard -> chart, native filter -> dataset, filter scope -> chart) that resolve
    to nothing. Empty when the bundle is consistent."""
    problems: list[str] = []
    kinds: dict[str, dict[str, str]] = {"databases": {}, "datasets": {}, "charts": {}}
    seen: dict[str, str] = {}
    for name, data in assets.items():
        kind = name.split("/")[0]
        if name == "metadata.yaml":
            if data.get("type") != "assets":
                problems.append("metadata.yaml: type must be 'assets'")
            continue
        uuid = str(data.get("uuid", ""))
        if not uuid:
            problems.append(f"{name}: no uuid")
            continue
        if uuid in seen:
            problems.append(f"{name}: uuid {uuid} also used by {seen[uuid]}")
        seen[uuid] = name
        if kind in kinds:
            kinds[kind][uuid] = name
    for name, data in assets.items():
        kind = name.split("/")[0]
        if kind == "datasets" and str(data.get("database_uuid")) not in kinds["databases"]:
            problems.append(f"{name}: database_uuid {data.get('database_uuid')} is no database")
        if kind == "charts" and str(data.get("dataset_uuid")) not in kinds["datasets"]:
            problems.append(f"{name}: dataset_uuid {data.get('dataset_uuid')} is no dataset")
        if kind == "dashboards":
            problems.extend(_dashboard_problems(name, data, kinds))
    return problems


def _dashboard_problems(
    name: str, data: Mapping[str, Any], kinds: Mapping[str, Mapping[str, str]]
) -> list[str]:
    problems: list[str] = []
    charts = chart_uuids_in_position(data.get("position", {}))
    for chart_id, uuid in charts.items():
        if uuid not in kinds["charts"]:
            problems.append(f"{name}: chart {chart_id} has uuid {uuid}, which is no chart")
    for native in data.get("metadata", {}).get("native_filter_configuration", []):
        label = f"{name}: filter {native.get('name')!r}"
        for target in native.get("targets", []):
            dataset = target.get("datasetUuid")
            if dataset is not None and str(dataset) not in kinds["datasets"]:
                problems.append(f"{label} targets {dataset}, which is no dataset")
        for chart_id in native.get("scope", {}).get("excluded", []):
            if chart_id not in charts:
                problems.append(f"{label} excludes chart {chart_id}, not on the dashboard")
    return problems


# -- the database connection ----------------------------------------------------------------
@dataclass(frozen=True)
class BiDatabase:
    """Where Superset reads the metrics, as revops_bi. ``password`` never goes to a file."""

    host: str
    port: int
    dbname: str
    password: str
    sslmode: str = ""

    def sqlalchemy_uri(self) -> str:
        """The connection URI with Superset's password mask in place of the password."""
        uri = (
            f"postgresql+psycopg2://revops_bi:{PASSWORD_MASK}@{self.host}:{self.port}/"
            f"{quote(self.dbname, safe='')}"
        )
        return f"{uri}?sslmode={quote(self.sslmode, safe='')}" if self.sslmode else uri


def bi_database(env: Mapping[str, str] | None = None, *, with_password: bool = True) -> BiDatabase:
    """The embedded server, or ``REVOPS_BI_DB_HOST``/``REVOPS_BI_DB_PORT`` (else ``PGHOST``/
    ``PGPORT``, else 127.0.0.1:5432); the password of revops_bi as bootstrap set it
    (``REVOPS_BI_SECRET_ID``, ``REVOPS_BI_PASSWORD``, or the local secrets file); an empty
    password when ``with_password`` is false (a bundle for Superset's import dialog)."""
    env = os.environ if env is None else env
    home = config.revops_home(env)
    dbname = config.metrics_db_name(env)
    sslmode = env.get("REVOPS_BI_DB_SSLMODE", "")
    external = (
        config.uses_external_server(env)
        or bool(env.get("REVOPS_DB_SECRET_ID"))
        or bool(env.get("REVOPS_BI_DB_HOST"))
    )
    if not external:
        target = config.role_target("revops_bi", env)
        password = target.params["password"] if with_password else ""
        return BiDatabase(target.params["host"], int(target.params["port"]), dbname, password)
    host = env.get("REVOPS_BI_DB_HOST") or env.get("PGHOST") or "127.0.0.1"
    port = int(env.get("REVOPS_BI_DB_PORT") or env.get("PGPORT") or 5432)
    if not with_password:
        return BiDatabase(host, port, dbname, "", sslmode)
    has_password = (
        env.get("REVOPS_BI_SECRET_ID")
        or env.get("REVOPS_BI_PASSWORD")
        or "revops_bi" in local_secrets.load_local_secrets(home)
    )
    if not has_password:
        raise config.ConfigError(
            "no password for revops_bi: set REVOPS_BI_PASSWORD or REVOPS_BI_SECRET_ID "
            "(the one bootstrap used)"
        )
    return BiDatabase(host, port, dbname, config.role_password("revops_bi", home, env), sslmode)


# -- bundle ---------------------------------------------------------------------------------
def write_bundle(destination: Path, database: BiDatabase, source: Path | None = None) -> int:
    """Copy the assets into ``destination`` with the connection pointed at ``database`` (the
    password stays masked). Raises ConfigError when a reference does not resolve."""
    yaml = _yaml()
    source = assets_dir() if source is None else source
    assets = load_assets(source)
    problems = check_references(assets)
    if problems:
        raise config.ConfigError("bi assets: " + "; ".join(problems))
    for name, data in assets.items():
        if name.startswith("databases/"):
            data = {**data, "sqlalchemy_uri": database.sqlalchemy_uri()}
        path = destination / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return len(assets)


@contextmanager
def private_bundle(database: BiDatabase, source: Path | None = None) -> Iterator[Path]:
    """A bundle in a fresh 0700 temporary directory, removed when the block ends."""
    directory = Path(tempfile.mkdtemp(prefix="revops-bi-bundle-"))  # mode 0700
    try:
        write_bundle(directory, database, source)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_bundle_zip(out: Path, database: BiDatabase, source: Path | None = None) -> int:
    """A ZIP for Superset's import dialog or API (``/api/v1/assets/import/``): the password is
    masked, and the importer asks for it."""
    with private_bundle(database, source) as directory:
        files = sorted(p for p in directory.rglob("*.yaml"))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, f"revops_bi_assets/{path.relative_to(directory).as_posix()}")
    return len(files)


# -- Superset processes ---------------------------------------------------------------------
def admin_password(env: Mapping[str, str] | None = None) -> str:
    """``REVOPS_BI_ADMIN_PASSWORD``, else one generated once into ``<bi home>/secrets.json``
    (mode 0600)."""
    env = os.environ if env is None else env
    direct = env.get("REVOPS_BI_ADMIN_PASSWORD")
    if direct:
        return direct
    home = bi_home(env)
    stored = local_secrets.load_local_secrets(home)
    if "superset_admin" not in stored:
        stored["superset_admin"] = local_secrets.new_password()
        local_secrets.save_local_secrets(home, stored)
    return stored["superset_admin"]


def superset_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every Superset process: its config file, its state directory."""
    env = os.environ if env is None else env
    home = bi_home(env)
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    values = {
        **env,
        "SUPERSET_CONFIG_PATH": str(source_dir(env) / "superset_config.py"),
        "REVOPS_BI_HOME": str(home),
        "FLASK_APP": "superset",
        "PYTHONUNBUFFERED": "1",
    }
    values.pop("PYTHONPATH", None)  # nothing of the project's venv leaks into Superset's
    return values


def _require_venv(env: Mapping[str, str]) -> Path:
    bin_dir = venv_bin(env)
    if not (bin_dir / "superset").exists():
        raise config.ConfigError(
            f"no Superset virtualenv at {venv_dir(env)}: run `revops bi install` first"
        )
    return bin_dir


def _run(argv: list[str], env: Mapping[str, str], what: str, progress: Progress) -> None:
    """Run one Superset step; its output goes to stderr only when it fails."""
    done = subprocess.run(  # noqa: S603 - fixed argv, no secret in it
        argv, env=dict(env), capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        progress(tail)
        raise RuntimeError(f"{what} failed (exit {done.returncode})")


def install(env: Mapping[str, str] | None = None, progress: Progress = print) -> Path:
    """Create the BI virtualenv and install Superset pinned by bi/constraints.txt."""
    env = os.environ if env is None else env
    target = venv_dir(env)
    python = target / "bin" / "python"
    if not python.exists():
        progress(f"creating the BI virtualenv {target}")
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)  # noqa: S603
    bi = source_dir(env)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    clean = {k: v for k, v in env.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    progress("installing Apache Superset (bi/requirements.txt, pinned by bi/constraints.txt)")
    subprocess.run(  # noqa: S603 - fixed argv
        [*pip, "-r", str(bi / "requirements.txt"), "-c", str(bi / "constraints.txt")],
        env=clean,
        check=True,
    )
    return target


def init(
    env: Mapping[str, str] | None = None,
    progress: Progress = print,
    source: Path | None = None,
) -> None:
    """Migrate the metadata database, sync roles, create/reset the admin, import the assets."""
    env = os.environ if env is None else env
    bin_dir = _require_venv(env)
    database = bi_database(env)
    run_env = superset_env(env)
    superset = str(bin_dir / "superset")
    progress("superset db upgrade")
    _run([superset, "db", "upgrade"], run_env, "superset db upgrade", progress)
    progress("superset init (roles and permissions)")
    _run([superset, "init"], run_env, "superset init", progress)
    setup = str(source_dir(env) / "superset_setup.py")
    secret_env = {
        **run_env,
        "REVOPS_BI_ADMIN_USER": ADMIN_USER,
        "REVOPS_BI_ADMIN_PASSWORD": admin_password(env),
        "REVOPS_BI_DB_PASSWORD": database.password,
    }
    with private_bundle(database, source) as bundle:
        progress(
            f"importing bi/assets (connection revops_bi@{database.host}:{database.port}/"
            f"{database.dbname})"
        )
        _run(
            [str(bin_dir / "python"), setup, "admin", "import", str(bundle)],
            secret_env,
            "asset import",
            progress,
        )


def serve_argv(env: Mapping[str, str], port: int, workers: int = 2) -> list[str]:
    """gunicorn serving Superset on 127.0.0.1:port (threads: a dashboard fires many queries)."""
    return [
        str(_require_venv(env) / "gunicorn"),
        "--bind",
        f"{BIND_HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--timeout",
        "120",
        "--access-logfile",
        "-",
        "superset.app:create_app()",
    ]


def serve(env: Mapping[str, str] | None = None, port: int = DEFAULT_PORT, workers: int = 2) -> None:
    """Replace this process with gunicorn (foreground; Ctrl-C or SIGTERM stops it)."""
    env = os.environ if env is None else env
    argv = serve_argv(env, port, workers)
    os.execve(argv[0], argv, superset_env(env))  # noqa: S606 - fixed argv
