"""Which language a text is written in, from its letters alone (no model)."""

from __future__ import annotations


def looks_russian(text: str) -> bool:
    """More than half of the letters are Cyrillic."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum("а" <= c.lower() <= "я" or c in "ёЁ" for c in letters) > len(letters) / 2
