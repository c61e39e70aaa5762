"""Superset configuration for the RevOps dashboards (loaded through SUPERSET_CONFIG_PATH by
`revops bi init|serve`, in the BI virtualenv, never in the project's).

Everything secret or deployment-specific comes from the environment:

- ``SUPERSET_SECRET_KEY``: signs sessions and encrypts the stored database password. Unset (local
  use), a key is generated once into ``<state>/superset_secret_key`` (mode 0600) and reused.
- ``SUPERSET_METADATA_DB_URI``: Superset's own metadata database. Default: SQLite in
  ``<state>/superset.db``. In production use a separate PostgreSQL database and role (e.g.
  ``postgresql+psycopg2://superset_meta@127.0.0.1:5432/superset``, password from a pgpass file
  via ``PGPASSFILE``), never ``revops_bi``: that role may only read the metrics.

``<state>`` is ``REVOPS_BI_HOME``, else ``$REVOPS_HOME/bi``, else ``./.revops/bi`` (the
project's local state directory, gitignored).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit


def state_dir() -> Path:
    explicit = os.environ.get("REVOPS_BI_HOME")
    if explicit:
        return Path(explicit)
    home = os.environ.get("REVOPS_HOME") or str(Path.cwd() / ".revops")
    return Path(home) / "bi"


def local_secret_key(state: Path) -> str:
    """The key in <state>/superset_secret_key, created with mode 0600 on first use."""
    path = state / "superset_secret_key"
    if not path.exists():
        state.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def metadata_uri(state: Path) -> str:
    uri = os.environ.get("SUPERSET_METADATA_DB_URI") or f"sqlite:///{state / 'superset.db'}"
    if urlsplit(uri).username == "revops_bi":
        raise RuntimeError(
            "SUPERSET_METADATA_DB_URI connects as revops_bi: Superset's metadata needs its own "
            "database and role (revops_bi may only read the metrics)"
        )
    return uri


STATE_DIR = state_dir()
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY") or local_secret_key(STATE_DIR)
SQLALCHEMY_DATABASE_URI = metadata_uri(STATE_DIR)
DATA_DIR = str(STATE_DIR)

# The dashboards only read: no DML from SQL Lab, no uploads, no SQLite or other unsafe URIs.
PREVENT_UNSAFE_DB_CONNECTIONS = True
FEATURE_FLAGS = {"DASHBOARD_NATIVE_FILTERS": True, "ALERT_REPORTS": False}

# No third-party beacons: Superset's pages embed a Scarf tracking image; leave it out of the
# Content-Security-Policy so browsers refuse it (the browser test also blocks it).
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}

# Served on 127.0.0.1 behind SSM port forwarding or a TLS proxy: sessions expire after a day.
PERMANENT_SESSION_LIFETIME = 86_400
SUPERSET_WEBSERVER_TIMEOUT = 60
SQLLAB_TIMEOUT = 60
ROW_LIMIT = 50_000
