"""A real, throwaway PostgreSQL server for the DuckLake backend: initdb in a temporary folder, pg_ctl on a
free port, stopped and deleted afterwards. Used by the test fixtures and by bench/bench_backends.py."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

USER = "strategy"


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and createdb: on PATH, else Debian's versioned folder."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl") and shutil.which("createdb"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(Path(folder, name).exists() for name in ("initdb", "pg_ctl", "createdb")):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One server; ``location(database)`` is the DuckLake address of a database on it."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="strategy-pg-"))
        self.port = _free_port()
        # PostgreSQL refuses to run as root; as root, the server runs as the unprivileged user nobody.
        self._as_server = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self._as_server:
            shutil.chown(self.root, "nobody")

    def _server_command(self, name: str, *args: str) -> None:
        subprocess.run([*self._as_server, str(self.bin_dir / name), *args], check=True, capture_output=True,
                       text=True, timeout=120)

    def start(self) -> PostgresServer:
        data = self.root / "data"
        self._server_command("initdb", "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=200")
        self._server_command("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "server.log"),
                             "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._server_command("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        name = name or f"lake_{uuid.uuid4().hex[:12]}"
        args = ["-h", "127.0.0.1", "-p", str(self.port), "-U", USER]
        if template:
            args += ["-T", template]
        subprocess.run([str(self.bin_dir / "createdb"), *args, name], check=True, capture_output=True, text=True,
                       timeout=60)
        return name

    def location(self, database: str) -> str:
        return f"ducklake:postgres:dbname={database} host=127.0.0.1 port={self.port} user={USER}"
