"""The translit reader trained by the shared fixture with the Russian intent model: Russian typed in
Latin letters is found and read in Cyrillic; English (Slavic names included), Cyrillic and numbers are
left alone."""

from __future__ import annotations

import json
import shutil

import pytest

from first_line.artifacts import ArtifactError
from first_line.domain import load_domain
from first_line.russian_intent_model import RussianIntentModel
from first_line.training_pipeline import russian_intents_missing
from first_line.translit_reader import DETECTOR, TranslitReader
from tests.conftest import DOMAIN_DIR

TRANSLIT = [
    ("gde moya karta? zakazal 2 nedeli nazad", "card_arrival"),
    ("Zdravstvuyte, hochu zablokirovat kartu, ee ukrali", "lost_or_stolen_card"),
    ("spasibo bol'shoe", "thanks"),
    ("po4emu s menya vzyali komissiyu za perevod", "transfer_fee_charged"),
]
ENGLISH = [
    "Where is my card? I ordered it 2 weeks ago",
    "I sent 500 euro to Ivan Petrov in Novosibirsk, he did not receive it",
    "hi, Svetlana Kuznetsova here, pls help with top up",
    "thx",
    "hiya",  # the detector alone read it as Russian: no Russian word in it
]


@pytest.fixture(scope="module")
def reader(artifacts_dir):
    reader = TranslitReader(artifacts_dir / "russian_intents")
    reader.warm_up()
    return reader


@pytest.mark.parametrize(("text", "intent"), TRANSLIT)
def test_translit_is_read_in_cyrillic_and_gets_its_intent(reader, artifacts_dir, text, intent):
    reading = reader.reading(text)
    assert reading is not None and not reading.isascii(), reading
    model = RussianIntentModel(artifacts_dir / "russian_intents")
    assert model.predict(reading).top == intent, (reading, model.predict(reading).top_k(3))


@pytest.mark.parametrize("text", [*ENGLISH, "Где моя карта?", "1234 5678", "", "👍"])
def test_english_cyrillic_and_no_letters_are_left_alone(reader, text):
    assert reader.reading(text) is None
    assert reader.text_to_read(text) == text


def test_an_artifact_without_the_reader_is_retrained(artifacts_dir, tmp_path):
    domain = load_domain(DOMAIN_DIR)
    assert not russian_intents_missing(artifacts_dir / "russian_intents", domain, DOMAIN_DIR)
    older = tmp_path / "russian_intents"
    shutil.copytree(artifacts_dir / "russian_intents", older)
    manifest = json.loads((older / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"][DETECTOR]
    (older / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert russian_intents_missing(older, domain, DOMAIN_DIR)
    with pytest.raises(ArtifactError, match="before the translit reader; run `twoline train intents`"):
        TranslitReader(older)
