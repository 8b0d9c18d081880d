"""The Russian intent model (multilingual E5 head), trained by the shared fixture on the English slice plus
the domain's Russian messages: Russian messages get their intent, not `out_of_scope`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from first_line.artifacts import ArtifactError
from first_line.russian_intent_model import RussianIntentModel
from first_line.russian_intent_training import russian_examples, train_russian_intent_model
from first_line.training_data import Example
from tests.conftest import DOMAIN_DIR

MESSAGES = [
    ("Заблокируйте мою карту, её украли", "lost_or_stolen_card"),
    ("Спасибо большое, вы мне очень помогли!", "thanks"),
    ("Здравствуйте", "greeting"),
    ("Мой перевод так и не дошёл до получателя", "transfer_not_received_by_recipient"),
    ("Как пополнить счёт с карты другого банка?", "topping_up_by_card"),
]


@pytest.fixture(scope="module")
def model(artifacts_dir):
    return RussianIntentModel(artifacts_dir / "russian_intents")


@pytest.mark.parametrize(("text", "intent"), MESSAGES)
def test_russian_messages_get_their_intent(model, text, intent):
    prediction = model.predict(text, context=["earlier messages are not read"])
    assert prediction.top == intent, prediction.top_k(3)
    assert np.isclose(prediction.probabilities.sum(), 1.0)


def test_one_threshold_for_every_intent_and_overrides_win(model):
    thresholds = model.thresholds(0.98, overrides={"thanks": 0.5})
    assert 0.0 < thresholds.global_threshold < 1.0
    assert thresholds.per_intent["thanks"] == 0.5
    others = {t for intent, t in thresholds.per_intent.items() if intent != "thanks"}
    assert others == {thresholds.global_threshold}
    assert model.thresholds(0.99).global_threshold >= model.thresholds(0.9).global_threshold


def test_the_manifest_records_its_data_and_a_stale_e5_is_refused(model, tmp_path):
    manifest = model.manifest
    assert manifest.data_sizes["russian"] > 600 and manifest.data_sizes["dev"] > 200
    assert manifest.depends_on["e5"] and len(manifest.data_hash) == 64
    assert 0.5 < manifest.metrics["dev_accuracy"] <= 1.0
    stale = tmp_path / "stale"
    shutil.copytree(model.artifact_dir, stale)
    raw = json.loads((stale / "manifest.json").read_text(encoding="utf-8"))
    raw["depends_on"]["e5"] = "another graph"
    (stale / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ArtifactError, match="another E5 graph"):
        RussianIntentModel(stale)
    with pytest.raises(ArtifactError, match="twoline train intents`"):  # the command that trains it
        RussianIntentModel(tmp_path / "never-trained")


def test_training_refuses_dev_intents_it_cannot_learn(domain, tmp_path):
    train, dev = russian_examples(DOMAIN_DIR, domain)
    assert {e.intent for e in dev} <= set(domain.intents)
    assert {e.intent for e in train} == set(domain.intents), "every intent has Russian messages"
    with pytest.raises(ValueError, match="no training message"):
        train_russian_intent_model(
            [Example("hello", "greeting")], train[:5], [Example("что-то", "no_such_intent")], tmp_path / "x"
        )


def test_without_dev_messages_nothing_is_answered(tmp_path):
    """A bank that speaks Russian but wrote no dev messages gets a model whose threshold no probability
    reaches: every Russian message is unsure (a clarifying question or an operator), none answered blind."""
    english = [Example("where is my card", "card_arrival"), Example("hello there", "greeting")]
    russian = [Example("Где моя карта", "card_arrival"), Example("Привет", "greeting")]
    train_russian_intent_model(english, russian, [], tmp_path / "ru")
    model = RussianIntentModel(tmp_path / "ru")
    assert model.thresholds(0.98).global_threshold > 1.0
    assert model.predict("Где моя карта?").top == "card_arrival"
