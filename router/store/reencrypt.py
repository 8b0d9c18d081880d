"""`twoline store reencrypt`: every encrypted column's rows under the first configured key.

Run it after putting a new key first in TWOLINE_ENCRYPTION_KEY (rotation), or after setting a key for
the first time (encrypts the rows written in plain text before). It reads the raw column values in
batches by primary key and rewrites only the ones that change; a value no configured key opens stops
the run with DecryptionError before anything of its batch is written. Safe to run twice, and while the
service runs (each row is one UPDATE of an immutable text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, Text, select, update

from router.store.encryption import EncryptedJSON, EncryptedText, TextCipher, is_encrypted
from router.store.models import Base

BATCH = 500


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    is_json: bool


def encrypted_columns() -> list[EncryptedColumn]:
    """The models' columns typed EncryptedText / EncryptedJSON."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText | EncryptedJSON):
                found.append(EncryptedColumn(table.name, column.name, isinstance(column.type, EncryptedJSON)))
    return found


def reencrypt_store(engine: Engine, cipher: TextCipher, batch: int = BATCH) -> dict[str, int]:
    """Rewrite every value under the cipher's first key; returns {"table.column": rows rewritten}."""
    return {f"{c.table}.{c.column}": _reencrypt_column(engine, cipher, c, batch) for c in encrypted_columns()}


def _raw_table(column: EncryptedColumn) -> Table:
    """The table with plain types: values as stored, no encryption layer."""
    value_type = JSON() if column.is_json else Text()
    return Table(
        column.table, MetaData(), Column("id", Integer, primary_key=True), Column(column.column, value_type)
    )


def _reencrypt_column(engine: Engine, cipher: TextCipher, column: EncryptedColumn, batch: int) -> int:
    table = _raw_table(column)
    value_column = table.c[column.column]
    rewritten, last_id = 0, 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(table.c.id, value_column).where(table.c.id > last_id).order_by(table.c.id).limit(batch)
            ).all()
            if not rows:
                return rewritten
            for row_id, value in rows:
                new = _new_value(cipher, value, column.is_json)
                if new is not None:
                    connection.execute(update(table).where(table.c.id == row_id).values({column.column: new}))
                    rewritten += 1
            last_id = rows[-1][0]


def _new_value(cipher: TextCipher, value, is_json: bool) -> str | None:
    """The value under the first key, or None when it needs no rewrite (null, empty, already current)."""
    if value is None or value == "":
        return None
    if is_json and not isinstance(value, str):  # a plain JSON object written before the key was set
        return cipher.encrypt(json.dumps(value, ensure_ascii=False))
    if is_json and not is_encrypted(value):  # a plain JSON string value
        return cipher.encrypt(json.dumps(value, ensure_ascii=False))
    return cipher.reencrypt(value)
