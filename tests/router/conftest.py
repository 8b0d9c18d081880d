"""Store fixtures of the router's tests: `store` is a migrated DialogStore on SQLite and on a real
PostgreSQL server; `postgres_url` starts the local cluster if it is down (Debian's `pg_ctlcluster`),
creates a fresh database for the test module and drops it afterwards."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from filelock import FileLock
from sqlalchemy import create_engine, text

from router.store.database import create_store_engine, migrate
from router.store.dialog_store import DialogStore

ADMIN_URL = os.environ.get(
    "TWOLINE_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _ensure_postgres_running() -> None:
    """Under a file lock: `make test`'s two workers may both find the server down."""
    with FileLock(Path(tempfile.gettempdir()) / "twoline-test-postgres.lock"):
        _start_postgres_if_down()


def _start_postgres_if_down() -> None:
    engine = create_engine(ADMIN_URL)
    try:
        with engine.connect():
            return
    except Exception:
        clusters = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").exists() else []
        if not clusters:
            pytest.fail("PostgreSQL is not installed: run scripts/setup.sh (Debian package postgresql)")
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", clusters[-1].name, "main", "start"], check=False
        )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def postgres_url():
    _ensure_postgres_running()
    name = f"twoline_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


STORE_TABLES = ("feedback", "handoff_tickets", "decisions", "messages", "dialogs", "client_risk", "clients")
"""Children first, for the clean-up between tests on the shared PostgreSQL database."""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = create_store_engine(url)
    migrate(engine)
    migrate(engine)  # idempotent
    yield DialogStore(engine)
    if request.param == "postgresql":
        with engine.begin() as connection:
            for table in STORE_TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
