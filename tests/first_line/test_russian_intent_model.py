"""The Russian intent model (multilingual E5 head), trained by the shared fixture on the English slice plus
the domain's Russian messages: Russian messages get their intent, not `out_of_scope`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from first_line.artifacts import ArtifactError
from first_line.russian_intent_model import DEV_PROBABILITIES, RussianIntentModel
from first_line.russian_intent_training import (
    russian_examples,
    russian_message_files,
    train_russian_intent_model,
)
from first_line.training_data import Example
from first_line.training_pipeline import russian_follow_ups_missing, russian_intents_missing
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


def test_a_domain_with_two_intents_reads_both(tmp_path):
    """Two intents make a two-class head: both are read, left-out calibration included."""
    english = [Example("where is my card", "card_arrival"), Example("hello there", "greeting")]
    first = [Example("Где моя карта?", "card_arrival"), Example("Привет!", "greeting")]
    dev = [Example("Когда придёт моя карта?", "card_arrival"), Example("Здравствуйте", "greeting")]
    train_russian_intent_model(english, first, dev, tmp_path / "ru", writers=[first, dev])
    model = RussianIntentModel(tmp_path / "ru")
    assert model.predict("Карта до сих пор не пришла").top == "card_arrival"
    assert model.predict("Добрый день, привет").top == "greeting"


def test_each_writer_file_is_left_out_in_turn_for_the_calibration(tmp_path):
    """Every `russian_messages_train*.csv` is read; the calibration scores each file, dev included, with a
    head fitted without it, so a message reads less sure there than to the head that learnt it."""
    files = russian_message_files(DOMAIN_DIR)
    assert len(files) >= 3 and all(files)
    english = [Example("where is my card", "card_arrival"), Example("hello there", "greeting")]
    english += [Example("thanks a lot", "thanks")]
    first = [Example("Где моя карта?", "card_arrival"), Example("Привет!", "greeting")]
    second = [Example("Карта так и не пришла", "card_arrival"), Example("Спасибо большое", "thanks")]
    dev = [Example("Когда придёт моя карта?", "card_arrival"), Example("Здравствуйте", "greeting")]
    dev += [Example("Благодарю вас", "thanks")]
    manifest = train_russian_intent_model(
        english, first + second, dev, tmp_path / "ru", writers=[first, second, list(dev)]
    )  # the dev file is found by its messages, not by the list object
    assert manifest.params["left_out_files"] == 3
    calibration = np.load(tmp_path / "ru" / DEV_PROBABILITIES)
    model = RussianIntentModel(tmp_path / "ru")
    written = first + second + dev
    assert [model.intents[i] for i in calibration["labels"]] == [e.intent for e in written]
    rows = np.arange(len(written))
    left_out = calibration["probabilities"][rows, calibration["labels"]]
    learnt = model.probabilities([e.text for e in written])[rows, calibration["labels"]]
    assert (learnt > left_out).all(), (learnt, left_out)
    assert 0.0 <= manifest.metrics["left_out_accuracy"] <= 1.0 and manifest.metrics["dev_log_loss"] > 0


def test_a_new_russian_message_file_makes_both_russian_models_stale(artifacts_dir, domain, tmp_path):
    """A bank that adds a writer's file gets the Russian intent model and follow-up detector retrained at
    the next `make run` (their manifests record the hash of the Russian messages they were trained on)."""
    intents, follow_ups = artifacts_dir / "russian_intents", artifacts_dir / "follow_ups_ru"
    assert not russian_intents_missing(intents, domain, DOMAIN_DIR)
    assert not russian_follow_ups_missing(follow_ups, DOMAIN_DIR, domain)
    edited = tmp_path / "bank"
    shutil.copytree(DOMAIN_DIR, edited)
    (edited / "training" / "russian_messages_train9.csv").write_text(
        "text,category\nКарта не пришла уже месяц,card_arrival\n", encoding="utf-8"
    )
    assert russian_intents_missing(intents, domain, edited)
    assert russian_follow_ups_missing(follow_ups, edited, domain)
