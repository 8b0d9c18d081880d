"""Client sentiment: the labelled data, the trained detector (small slice), empathetic variants, storage."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from first_line.domain import DomainConfigError, load_domain
from first_line.responses import ClientProfile, render_response
from first_line.sentiment_data import split_tone, tone_examples
from first_line.sentiment_model import SentimentModel
from tests.conftest import DATA_DIR, DOMAIN_DIR

ANGRY = [
    "This is outrageous, you blocked my card AGAIN and nobody answers me!!",
    "Вы издеваетесь?! Третий раз пишу, а деньги так и не вернули, позорище",
]
CALM = [
    "Hello, could you tell me when my new card will be delivered?",
    "Здравствуйте, подскажите, пожалуйста, как поменять PIN-код",
]


def test_tone_data_has_both_labels_in_both_languages_and_a_stratified_split():
    examples = tone_examples(DATA_DIR, DOMAIN_DIR)
    groups = Counter((e.language, e.negative) for e in examples)
    assert set(groups) == {("en", 0), ("en", 1), ("ru", 0), ("ru", 1)}
    # Russian toxic sentences are subsampled so that the label does not stand in for the language.
    assert groups[("ru", 1)] <= 2 * groups[("ru", 0)]
    train, held_out = split_tone(examples)
    assert len(train) + len(held_out) == len(examples)
    assert abs(len(held_out) / len(examples) - 0.2) < 0.01
    assert Counter((e.language, e.negative) for e in held_out).keys() == groups.keys()


def test_calm_bank_problems_are_calm_examples_in_both_languages():
    """Without them the Russian calm side was voice-assistant commands only, and any Russian message about
    a bank problem read as upset."""
    examples = tone_examples(DATA_DIR, DOMAIN_DIR)
    by_source = Counter((e.source, e.language, e.negative) for e in examples)
    assert by_source[("russian_bank_requests", "ru", 0)] > 600
    assert by_source[("domain_calm", "ru", 0)] > 150 and by_source[("domain_calm", "en", 0)] > 80
    assert by_source[("domain_negative", "ru", 1)] > 150 and by_source[("domain_negative", "en", 1)] > 80
    assert not {("russian_bank_requests", "ru", 1), ("domain_calm", "ru", 1), ("domain_calm", "en", 1)} & set(
        by_source
    )


def test_trained_detector_scores_angry_above_calm_in_both_languages(artifacts_dir):
    model = SentimentModel(artifacts_dir / "sentiment")
    metrics = model.manifest.metrics
    assert metrics["accuracy"] > 0.7, metrics  # held-out split, even on the tiny test slice
    angry, calm = model.negativity(ANGRY), model.negativity(CALM)
    assert ((angry >= 0) & (angry <= 1)).all()
    assert angry[0] > calm[0] and angry[1] > calm[1], (angry, calm)


def test_english_is_read_through_the_intent_encoder_and_russian_through_e5(artifacts_dir):
    from first_line.artifacts import ArtifactError
    from first_line.intent_model import IntentModel

    intents = IntentModel(artifacts_dir / "intents")
    model = SentimentModel(artifacts_dir / "sentiment", None, intents.encoder, intents.manifest)
    assert model.manifest.depends_on["intents"] == intents.manifest.files["encoder.int8.onnx"]
    sent_to_e5: list[list[str]] = []
    e5_encode = model.encoder.encode
    model.encoder.encode = lambda texts, **kw: sent_to_e5.append(list(texts)) or e5_encode(texts, **kw)
    scores = model.negativity(ANGRY + CALM)
    assert sent_to_e5 == [[ANGRY[1], CALM[1]]]  # the English texts never reach E5
    assert scores[0] > scores[2] and scores[1] > scores[3], scores
    # E5 was trained only on what it reads in service (English rows would cost minutes for nothing).
    assert model.manifest.params["e5_reads_english"] == 0.0
    assert "ru_accuracy_e5_plus_chars" in model.manifest.metrics
    with pytest.raises(ArtifactError, match="another intent model"):
        another = intents.manifest.model_copy(update={"files": {"encoder.int8.onnx": "another-hash"}})
        SentimentModel(artifacts_dir / "sentiment", None, intents.encoder, another)


def test_negative_client_gets_the_empathetic_variant_where_the_scenario_has_one(domain):
    profile = ClientProfile(language="en", age=45)
    plain = render_response(domain, "failed_transfer", profile, {}, "dialog-1")
    caring = render_response(domain, "failed_transfer", profile, {}, "dialog-1", negative=True)
    assert not plain.empathetic and caring.empathetic
    assert caring.text.startswith("I am sorry") and caring.style == "formal"
    russian = render_response(domain, "failed_transfer", ClientProfile(language="ru", age=20), {}, "d", True)
    assert russian.empathetic and russian.style == "friendly" and "Извини" in russian.text
    # A scenario without empathetic variants keeps its plain answer.
    no_variant = render_response(domain, "activate_my_card", profile, {}, "dialog-1", negative=True)
    assert not no_variant.empathetic


def test_unknown_register_key_is_refused(tmp_path):
    folder = tmp_path / "bank"
    shutil.copytree(DOMAIN_DIR, folder)
    path = folder / "responses" / "en.yaml"
    path.write_text(path.read_text(encoding="utf-8") + '\ncard_arrival:\n  caring:\n    - "Sorry!"\n')
    with pytest.raises(DomainConfigError, match="register must be one of"):
        load_domain(folder)


def test_sentiment_is_stored_with_the_message_and_picks_the_empathetic_answer(api):
    angry = api.post(
        "/v1/messages",
        json={"client_id": "tone-1", "text": "My transfer failed AGAIN, this is ridiculous, fix it now!!"},
    ).json()
    calm = api.post(
        "/v1/messages", json={"client_id": "tone-2", "text": "Hello, why did my transfer fail yesterday?"}
    ).json()
    threshold = load_domain(DOMAIN_DIR).settings.policy.negative_sentiment_threshold
    scores = []
    for body in (angry, calm):
        dialog = api.get(f"/v1/dialogs/{body['dialog_id']}").json()
        client_message = dialog["messages"][0]
        assert client_message["role"] == "client" and 0.0 <= client_message["sentiment"] <= 1.0
        assert dialog["decisions"][0]["scores"]["sentiment"] == pytest.approx(
            client_message["sentiment"], abs=1e-3
        )
        scores.append(client_message["sentiment"])
        if dialog["decisions"][0]["reason"] == "scripted_answer":
            empathetic = dialog["decisions"][0]["scores"]["response"]["empathetic"]
            assert empathetic == (client_message["sentiment"] >= threshold and body["decision"]["intent"] in {
                "failed_transfer", "declined_transfer", "Refund_not_showing_up", "request_refund",
                "transaction_charged_twice", "card_payment_not_recognised"})  # fmt: skip
    assert scores[0] > scores[1]
    bot_messages = [
        m for m in api.get(f"/v1/dialogs/{angry['dialog_id']}").json()["messages"] if m["role"] == "bot"
    ]
    assert all(m["sentiment"] is None for m in bot_messages)
