"""A throwaway PostgreSQL server for the test session, and a fresh database per test.

- ``CLIENTELA_TEST_POSTGRES=host:port:user`` uses a running server (pytest-postgresql "noproc").
- Otherwise a cluster is created in a temporary directory with the system's ``initdb``/``pg_ctl``:
  as root through ``runuser -u postgres`` (initdb refuses root), else with pytest-postgresql's
  process executor. It listens on 127.0.0.1 only and is stopped when the session ends.
- ``CLIENTELA_REQUIRE_POSTGRES=1`` turns "PostgreSQL is not available" from a skip into a failure.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pytest_postgresql.janitor import DatabaseJanitor

TEMPLATE = "clientela_template"
_counter = itertools.count()


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"


class Unavailable(Exception):
    pass


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if candidates:
        return candidates[-1]
    raise Unavailable(f"{name} not found (install Debian's postgresql package)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(settings: dict[str, str] | None = None) -> Iterator[Server]:
    """``settings``: server parameters for a cluster started here (benchmarks size its memory)."""
    given = os.environ.get("CLIENTELA_TEST_POSTGRES")
    if given:
        host, port, user = given.split(":")
        yield Server(host, int(port), user)
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    port = _free_port()
    root = Path(tempfile.mkdtemp(prefix="clientela-pg-"))
    data, log = root / "data", root / "server.log"
    as_root = os.geteuid() == 0
    if as_root:
        if shutil.which("runuser") is None:
            raise Unavailable("running as root needs runuser to start PostgreSQL as 'postgres'")
        shutil.chown(root, user="postgres")
        os.chmod(root, 0o700)
        prefix = ["runuser", "-u", "postgres", "--"]
    else:
        prefix = []
    user = "postgres"

    def run(*command: str) -> None:
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise Unavailable(f"{command[0]} failed: {result.stderr.strip()[-500:]}")

    run(initdb, "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -F -c fsync=off"
    options += "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
    run(pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    try:
        yield Server("127.0.0.1", port, user)
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_template(srv: Server, migrate: object) -> None:
    janitor = DatabaseJanitor(
        user=srv.user,
        host=srv.host,
        port=srv.port,
        dbname=TEMPLATE,
        as_template=True,
    )
    janitor.init()
    assert callable(migrate)
    migrate(srv.url(TEMPLATE))


@contextmanager
def database(srv: Server) -> Iterator[str]:
    """A fresh database cloned from the migrated template; dropped afterwards."""
    name = f"clientela_test_{os.getpid()}_{next(_counter)}"
    janitor = DatabaseJanitor(
        user=srv.user,
        host=srv.host,
        port=srv.port,
        dbname=name,
        template_dbname=TEMPLATE,
    )
    janitor.init()
    try:
        yield srv.url(name)
    finally:
        janitor.drop()


def dump(url: str) -> bytes:
    """``pg_dump`` of the database behind a store URL (plain SQL, data included)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    result = subprocess.run(
        [
            _pg_bin("pg_dump"),
            "-h",
            str(parsed.host),
            "-p",
            str(parsed.port),
            "-U",
            str(parsed.username),
            "--no-owner",
            str(parsed.database),
        ],
        capture_output=True,
        check=True,
    )
    return result.stdout
