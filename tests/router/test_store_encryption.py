"""Encryption at rest of client texts (router/store/encryption.py) on SQLite and on a real PostgreSQL:
the raw columns hold no plain text, the store still returns it, plain rows written before the key was
set still read, a wrong or missing key is a clear error, and `reencrypt` rotates keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from router.dialog_export import export_dialogs
from router.policy import Decision
from router.store.database import create_store_engine, migrate
from router.store.dialog_store import DialogStore, StoredReading
from router.store.encryption import (
    MARKER,
    DecryptionError,
    EncryptionKeyError,
    TextCipher,
    bind_cipher,
    generate_key,
)
from router.store.reencrypt import encrypted_columns, reencrypt_store
from router.store.ticket_store import TicketStore
from router.voc_risk.features import client_features

SECRET = "My card 4111 1111 1111 1111 was stolen by John Smith!"
OCR = "Transfer 1,250.00 to IBAN GB33BUKB20201555555555"
READING = StoredReading("0123456789abcdef", "c2VjcmV0IHZlY3Rvcg==")
"""An embedding can be read back into words: it is encrypted like the text it was read from."""
RAW_COLUMNS = (
    "messages.text",
    "messages.ocr_text",
    "messages.reading",
    "decisions.scores",
    "handoff_tickets.summary",
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    database = request.getfixturevalue("postgres_url")
    yield database
    engine = create_store_engine(database, cipher=None)
    with engine.begin() as connection:
        for table in ("feedback", "handoff_tickets", "decisions", "messages", "dialogs", "clients"):
            connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


def open_store(url: str, cipher: TextCipher | None) -> DialogStore:
    engine = create_store_engine(url, cipher=cipher)
    migrate(engine)
    return DialogStore(engine)


def write_turn(store: DialogStore, client: str = "c1") -> tuple[str, int]:
    """A client message with a screenshot's text and a stored reading, a decision with entities and a
    hand-off ticket."""
    accepted = store.accept_message(client, None, SECRET)
    store.set_ocr_text(accepted.message_id, OCR)
    decision = Decision(
        kind="handoff",
        reason="operator_requested",
        reply="Passing you to a colleague.",
        scores={"entities": [{"kind": "person", "value": "John Smith"}]},
    )
    summary = {"last_messages": [{"role": "client", "text": SECRET, "ocr_text": OCR}], "ocr_texts": [OCR]}
    store.record_decision(accepted, decision, 2.0, summary, 0.2, READING)
    return accepted.dialog_id, accepted.message_id


def raw_values(store: DialogStore) -> list[str]:
    """Every encrypted column's values as stored, as text."""
    values = []
    with store.engine.connect() as connection:
        for name in RAW_COLUMNS:
            table, column = name.split(".")
            rows = connection.execute(text(f"SELECT CAST({column} AS TEXT) FROM {table}")).scalars().all()
            values += [row for row in rows if row is not None]
    return values


def test_raw_columns_hold_no_plain_text_and_the_store_reads_it(url):
    store = open_store(url, TextCipher([generate_key()]))
    dialog_id, message_id = write_turn(store)
    raw = raw_values(store)
    assert len(raw) == 6, "client text, bot reply, OCR text, reading, decision scores, ticket summary"
    for value in raw:
        assert MARKER in value
        for plain in ("4111", "John Smith", "GB33", "stolen", "Passing you", READING.vector):
            assert plain not in value
    messages, decisions = store.dialog_history(dialog_id)
    assert [m.text for m in messages] == [SECRET, "Passing you to a colleague."]
    assert messages[0].ocr_text == OCR
    assert decisions[0].scores["entities"] == [{"kind": "person", "value": "John Smith"}]
    assert store.handoffs()[0].summary["last_messages"][0]["text"] == SECRET
    assert store.dialog_client_turns(dialog_id, message_id + 100) == [(SECRET, None)]
    later = store.accept_message("c1", dialog_id, "and now?")
    known = store.turn_context("c1", later, datetime.now(UTC) - timedelta(days=1), 3)
    assert known.dialog_turns == [(SECRET, None)]
    assert (known.recent_texts, known.recent_readings) == ([SECRET], [READING])
    assert known.previous_reason == "operator_requested", "what the bot decided on the message before"


def test_plain_rows_written_before_the_key_still_read(url):
    plain_store = open_store(url, None)
    old_dialog, _ = write_turn(plain_store, "old")
    store = open_store(url, TextCipher([generate_key()]))
    new_dialog, _ = write_turn(store, "new")
    for dialog_id in (old_dialog, new_dialog):
        messages, decisions = store.dialog_history(dialog_id)
        assert messages[0].text == SECRET and messages[0].ocr_text == OCR
        assert decisions[0].scores["entities"][0]["value"] == "John Smith"
    assert sum(MARKER in value for value in raw_values(store)) == 6, "only the new rows are encrypted"


def test_a_wrong_or_missing_key_is_a_clear_error_not_ciphertext(url):
    key = generate_key()
    dialog_id, _ = write_turn(open_store(url, TextCipher([key])))
    other_key = generate_key()
    with pytest.raises(DecryptionError, match="cannot be decrypted with the 1 key") as wrong:
        open_store(url, TextCipher([other_key])).dialog_history(dialog_id)
    with pytest.raises(DecryptionError, match="TWOLINE_ENCRYPTION_KEY is not set"):
        open_store(url, None).dialog_history(dialog_id)
    assert key not in str(wrong.value) and other_key not in str(wrong.value)


def test_key_rotation_with_reencrypt(url):
    old, new = generate_key(), generate_key()
    plain_dialog, _ = write_turn(open_store(url, None), "plain")
    old_dialog, _ = write_turn(open_store(url, TextCipher([old])), "old")
    rotating = open_store(url, TextCipher.from_setting(f"{new}, {old}"))
    assert rotating.dialog_history(old_dialog)[0][0].text == SECRET, "the old key still decrypts"
    counts = reencrypt_store(rotating.engine, TextCipher.from_setting(f"{new},{old}"), batch=2)
    assert set(counts) == set(RAW_COLUMNS) == {f"{c.table}.{c.column}" for c in encrypted_columns()}
    assert counts["messages.text"] == 4 and counts["messages.ocr_text"] == counts["messages.reading"] == 2
    assert sum(counts.values()) == 12, "every non-empty value of both turns, plain ones included"
    new_only = open_store(url, TextCipher([new]))
    for dialog_id in (plain_dialog, old_dialog):
        messages, decisions = new_only.dialog_history(dialog_id)
        assert messages[0].text == SECRET and decisions[0].scores["entities"][0]["value"] == "John Smith"
    assert all(MARKER in value for value in raw_values(new_only))
    assert sum(reencrypt_store(new_only.engine, TextCipher([new])).values()) == 0, "already current"
    with pytest.raises(DecryptionError):
        reencrypt_store(new_only.engine, TextCipher([generate_key()]))


def test_empty_texts_stay_empty_so_queries_that_skip_them_work(url):
    store = open_store(url, TextCipher([generate_key()]))
    first = store.accept_message("c1", None, "")
    second = store.accept_message("c1", first.dialog_id, "where is my card?")
    since = datetime.now(UTC) - timedelta(days=1)
    assert store.recent_client_texts("c1", since, 5, second.message_id + 1) == ["where is my card?"]


def test_features_exports_and_the_operator_side_read_through_the_cipher(url, tmp_path):
    store = open_store(url, TextCipher([generate_key()]))
    accepted = store.accept_message("c1", None, "hi!")
    store.accept_message("c1", accepted.dialog_id, "hello")
    features = client_features(store.engine, ["c1"], datetime.now(UTC) + timedelta(seconds=1))
    assert features.loc["c1", "message_chars_mean_30d"] == 4.0
    assert features.loc["c1", "exclamations_30d"] == 1.0
    assert export_dialogs(store, tmp_path / "dialogs.tsv") == 2
    assert "hi!" in (tmp_path / "dialogs.tsv").read_text(encoding="utf-8")
    assert [m.text for m in TicketStore(store.engine).dialog_update(accepted.dialog_id).messages] == [
        "hi!",
        "hello",
    ]


def test_malformed_keys_are_refused_without_repeating_them():
    good = generate_key()
    for setting in ("not-a-key", f"{good},short", " , "):
        with pytest.raises(EncryptionKeyError) as error:
            TextCipher.from_setting(setting)
        assert "short" not in str(error.value) and "not-a-key" not in str(error.value)
    with pytest.raises(EncryptionKeyError, match="key 2 of 2"):
        TextCipher.from_setting(f"{good},short")


def test_the_engine_takes_the_key_from_settings(tmp_path, monkeypatch):
    from router.settings import get_settings

    key = generate_key()
    monkeypatch.setenv("TWOLINE_ENCRYPTION_KEY", key)
    get_settings.cache_clear()
    try:
        store = open_store(f"sqlite:///{tmp_path / 'settings.db'}", "settings")
        write_turn(store)
        assert all(MARKER in value for value in raw_values(store))
        monkeypatch.setenv("TWOLINE_ENCRYPTION_KEY", "garbage")
        get_settings.cache_clear()
        with pytest.raises(EncryptionKeyError, match="not a Fernet key"):
            create_store_engine(f"sqlite:///{tmp_path / 'other.db'}")
    finally:
        get_settings.cache_clear()
    bind_cipher(store.engine, None)
    with pytest.raises(DecryptionError):
        store.dialog_history(store.handoffs()[0].dialog_id)
