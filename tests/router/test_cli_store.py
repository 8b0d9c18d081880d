"""`twoline store generate-key` and `twoline store reencrypt`, run as the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import text

from router.store.database import create_store_engine, migrate
from router.store.dialog_store import DialogStore
from router.store.encryption import MARKER, TextCipher
from tests.conftest import REPO


def twoline(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = os.environ | {"HF_HUB_OFFLINE": "1", "TWOLINE_LOG_JSON": "false"} | env
    return subprocess.run(
        [sys.executable, "-m", "router.cli", *args],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_generate_key_then_encrypt_the_plain_rows(tmp_path):
    first, second = twoline("store", "generate-key"), twoline("store", "generate-key")
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert key != second.stdout.strip()
    TextCipher([key])  # a valid Fernet key
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_store_engine(url, cipher=None)
    migrate(engine)
    DialogStore(engine).accept_message("c1", None, "card 4111 1111 1111 1111 lost")
    result = twoline("store", "reencrypt", TWOLINE_DATABASE_URL=url, TWOLINE_ENCRYPTION_KEY=key)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout[result.stdout.index("{") :])["rewritten"]["messages.text"] == 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT text FROM messages")).scalar_one().startswith(MARKER)
    bad = twoline("store", "reencrypt", TWOLINE_DATABASE_URL=url, TWOLINE_ENCRYPTION_KEY="oops-not-a-key")
    assert bad.returncode == 2 and "is not a Fernet key" in bad.stderr
    assert "oops-not-a-key" not in bad.stderr + bad.stdout
    unset = twoline("store", "reencrypt", TWOLINE_DATABASE_URL=url)
    assert unset.returncode == 2 and "TWOLINE_ENCRYPTION_KEY is not set" in unset.stderr
