"""Optional encryption at rest of what clients wrote: message texts, OCR texts, decision entities, ticket
summaries (the columns typed `EncryptedText` / `EncryptedJSON` in models.py).

`TWOLINE_ENCRYPTION_KEY` holds one or more Fernet keys (AES-128-CBC + HMAC-SHA256, from `cryptography`),
comma-separated: the first encrypts, all decrypt (key rotation: put the new key first, run
`twoline store reencrypt`, then drop the old key). Unset: texts are stored as written.

A stored value is `enc:v1:` + the Fernet token, so rows written before the key was set (plain text)
still read, and a row that is encrypted but cannot be decrypted raises `DecryptionError` instead of
returning ciphertext. The empty string stays empty (button clicks, image-only messages), so queries
that skip empty texts keep working. Nothing here logs or repeats a key, not even in an error message.

SQL cannot look inside an encrypted column: searching, grouping, `length()` or `LIKE` on these columns
must happen in Python after the rows are read (router/voc_risk/features.py does so).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, Engine, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from router.settings import Settings

MARKER = "enc:v1:"
KEY_SETTING = "TWOLINE_ENCRYPTION_KEY"
_DIALECT_ATTRIBUTE = "twoline_text_cipher"


class EncryptionKeyError(ValueError):
    """The configured key is malformed (the message says which one, never what it is)."""


class DecryptionError(RuntimeError):
    """A stored value is encrypted but none of the configured keys opens it (or no key is configured)."""


def generate_key() -> str:
    """A new random Fernet key (32 bytes, url-safe base64): the value for TWOLINE_ENCRYPTION_KEY."""
    return Fernet.generate_key().decode("ascii")


class TextCipher:
    """MultiFernet over the configured keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise EncryptionKeyError(f"{KEY_SETTING} is set but holds no key")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError, TypeError):
                raise EncryptionKeyError(
                    f"{KEY_SETTING}: key {position} of {len(keys)} is not a Fernet key (32 url-safe "
                    "base64-encoded bytes); make one with `twoline store generate-key`"
                ) from None
        self.key_count = len(fernets)
        self._first = fernets[0]
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_setting(cls, value: str) -> TextCipher:
        """`value`: one key, or several separated by commas (the first encrypts)."""
        return cls([key for key in value.split(",") if key.strip()])

    def encrypt(self, text: str) -> str:
        return MARKER + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The text of an `enc:v1:` value; raises DecryptionError when no configured key opens it."""
        try:
            return self._fernet.decrypt(stored[len(MARKER) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise DecryptionError(
                f"a stored value cannot be decrypted with the {self.key_count} key(s) in {KEY_SETTING}: "
                "it was written with another key (keep the old key after the new one until "
                "`twoline store reencrypt` has run) or it is damaged"
            ) from None

    def reencrypt(self, stored: str) -> str | None:
        """The value under the first key: a plain one encrypted, one under an older key rotated; None when
        it already is under the first key."""
        if not is_encrypted(stored):
            return self.encrypt(stored)
        token = stored[len(MARKER) :].encode("ascii")
        try:
            self._first.decrypt(token)
            return None
        except InvalidToken:
            pass
        return self.encrypt(self.decrypt(stored))


def is_encrypted(stored: str) -> bool:
    return stored.startswith(MARKER)


def cipher_from_settings(settings: Settings | None = None) -> TextCipher | None:
    """The cipher for `settings.encryption_key` (default: the process settings), or None when it is unset;
    raises EncryptionKeyError when it is malformed."""
    if settings is None:
        from router.settings import get_settings

        settings = get_settings()
    key = settings.encryption_key
    return None if key is None else TextCipher.from_setting(key.get_secret_value())


def bind_cipher(engine: Engine, cipher: TextCipher | None) -> None:
    """Encrypt and decrypt the engine's encrypted columns with `cipher` (None: store plain text)."""
    setattr(engine.dialect, _DIALECT_ATTRIBUTE, cipher)


def engine_cipher(engine: Engine) -> TextCipher | None:
    return getattr(engine.dialect, _DIALECT_ATTRIBUTE, None)


def _decrypt(stored: str, dialect: Dialect) -> str:
    cipher: TextCipher | None = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    if cipher is None:
        raise DecryptionError(f"the store holds encrypted texts but {KEY_SETTING} is not set")
    return cipher.decrypt(stored)


class EncryptedText(TypeDecorator):
    """A TEXT column whose values are encrypted when the engine has a cipher (see the module doc)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        cipher: TextCipher | None = getattr(dialect, _DIALECT_ATTRIBUTE, None)
        if cipher is None or not value:
            return value
        return cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not is_encrypted(value):
            return value
        return _decrypt(value, dialect)


class EncryptedJSON(TypeDecorator):
    """A JSON column stored as an encrypted JSON string when the engine has a cipher."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        cipher: TextCipher | None = getattr(dialect, _DIALECT_ATTRIBUTE, None)
        if cipher is None or value is None:
            return value
        return cipher.encrypt(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if not isinstance(value, str) or not is_encrypted(value):
            return value
        return json.loads(_decrypt(value, dialect))
