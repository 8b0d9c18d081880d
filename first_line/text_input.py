"""Text as clients and operators send it, made safe to store and to read.

JSON lets a client send a lone UTF-16 surrogate (`"\\ud83d"`: half of an emoji an app cut in two), which
no UTF-8 store can keep and no tokenizer can read, and a NUL character, which PostgreSQL refuses. Both
become U+FFFD (the replacement character) where the API reads the text, so the message is kept, stored
the same way in SQLite and PostgreSQL, and read the same way by every model. A message with nothing
visible in it (spaces, zero-width spaces, a byte-order mark) counts as empty.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with every lone surrogate and NUL character replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def has_visible_text(text: str) -> bool:
    """True when `text` holds a character other than white space and invisible format characters."""
    return any(not character.isspace() and unicodedata.category(character) != "Cf" for character in text)


StorableText = Annotated[str, AfterValidator(storable_text)]
"""A request field holding what a client or an operator wrote."""
