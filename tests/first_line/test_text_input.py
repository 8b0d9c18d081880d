"""Client and operator text as the API reads it: what no store can hold becomes U+FFFD; invisible text
is empty."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from first_line.text_input import StorableText, has_visible_text, storable_text


def test_lone_surrogates_and_nul_become_replacement_characters():
    assert storable_text("card \ud83d lost\x00") == "card \ufffd lost\ufffd"
    assert storable_text("Привет 👋, карта *1234") == "Привет 👋, карта *1234"
    assert storable_text("half \udc00 emoji").encode("utf-8") == "half \ufffd emoji".encode()


def test_a_request_field_applies_it():
    """On a body parsed as FastAPI parses it (`json.loads`, which lets the lone surrogate through)."""

    class Body(BaseModel):
        text: StorableText

    assert Body.model_validate(json.loads('{"text": "a\\ud83db\\u0000"}')).text == "a\ufffdb\ufffd"


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("", False),
        (" \n\t", False),
        ("\u200b\u200b", False),
        ("\ufeff \u200d", False),
        ("👍", True),
        ("\u200bok", True),
    ],
)
def test_visible_text(text, visible):
    assert has_visible_text(text) is visible
