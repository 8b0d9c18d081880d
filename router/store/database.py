"""Engine creation and migrations: SQLite (WAL) by default, PostgreSQL by URL; encryption at rest of
client texts when TWOLINE_ENCRYPTION_KEY is set (router/store/encryption.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from router.store.encryption import TextCipher, bind_cipher, cipher_from_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_store_engine(url: str, cipher: TextCipher | Literal["settings"] | None = "settings") -> Engine:
    """`cipher`: "settings" reads TWOLINE_ENCRYPTION_KEY (EncryptionKeyError when malformed); None stores
    plain text; a TextCipher encrypts with its keys."""
    engine = _create_engine(url)
    bind_cipher(engine, cipher_from_settings() if cipher == "settings" else cipher)
    return engine


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes; WAL checkpoints fsync
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision (idempotent)."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


_URL_PASSWORD = re.compile(r"://[^/@\s]*@")


def store_error_line(error: BaseException) -> str:
    """One line about a store that would not open, for an operator's terminal: the error's type and first
    line, with any password in a database URL masked."""
    lines = str(error).strip().splitlines()
    masked = _URL_PASSWORD.sub("://***@", lines[0] if lines else "")
    return f"{type(error).__name__}: {masked}"
