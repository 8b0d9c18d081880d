"""Logs carry no message text; the terminal chat runs the same policy."""

from __future__ import annotations

import logging
import subprocess
import sys

from router.logging_setup import JsonFormatter
from tests.router.test_server_e2e import server_env


def test_decision_logs_carry_no_message_text(assistant, caplog):
    secret = "my card 4111 1111 1111 1111 was stolen by John Smith"
    with caplog.at_level(logging.INFO):
        assistant.handle("log-client", secret)
    records = [r for r in caplog.records if r.name.startswith("twoline")]
    assert records, "the decision is logged"
    formatted = "\n".join(JsonFormatter().format(r) for r in records)
    for fragment in ("4111", "1111", "John", "Smith", "was stolen by"):
        assert fragment not in formatted
    assert '"kind"' in formatted and '"reason"' in formatted


def test_formatter_drops_fields_outside_the_whitelist():
    record = logging.LogRecord("twoline.x", logging.INFO, __file__, 1, "event", None, None)
    record.text = "private words"
    record.dialog_id = "d-1"
    line = JsonFormatter().format(record)
    assert "private words" not in line and '"dialog_id": "d-1"' in line


def test_terminal_chat(artifacts_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "router.cli", "chat", "--client-id", "tty"],
        input="hello\nI want to talk to a human\n\n",
        env=server_env(artifacts_dir, tmp_path / "chat.db"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "bot [handoff/operator_requested]" in result.stdout
