"""The follow-up detector on the shared fixture's intent encoder (real MiniLM, trained on the domain's written
follow-ups): it tells a message that leans on the one before it from one that stands alone."""

from __future__ import annotations

import json
import shutil

import pytest

from first_line.follow_up_model import CUT, RUSSIAN_CUT, FollowUpDetector, read_follow_ups
from first_line.intent_model import IntentModel
from first_line.training_pipeline import follow_ups_missing
from tests.conftest import DOMAIN_DIR

LEANS_ON_THE_MESSAGE_BEFORE = [
    "how long?",
    "why was I charged?",
    "it was rejected again",
    "where is it then?",
]
STANDS_ALONE = [
    "How long does it take for a new card to arrive?",
    "Why was I charged a fee for topping up by bank transfer?",
    "My identity verification was rejected, what should I do?",
    "I want to change my PIN",
]


@pytest.fixture(scope="module")
def detector(artifacts_dir):
    model = IntentModel(artifacts_dir / "intents")
    return FollowUpDetector(artifacts_dir / "follow_ups", model.encoder)


def test_follow_ups_are_told_from_self_contained_messages(detector):
    follow_ups = [detector.probability(t) for t in LEANS_ON_THE_MESSAGE_BEFORE]
    alone = [detector.probability(t) for t in STANDS_ALONE]
    assert min(follow_ups) > max(alone), (follow_ups, alone)
    assert sum(p >= CUT for p in follow_ups) >= 3
    assert not any(p >= CUT for p in alone)
    assert detector.is_follow_up("how long?") == (True, pytest.approx(detector.probability("how long?")))


def test_the_manifest_says_how_many_held_out_messages_it_would_read_with_the_one_before(detector):
    assert detector.manifest.data_sizes["follow_ups"] == len(
        read_follow_ups(DOMAIN_DIR / "training" / "follow_ups.csv")
    )
    assert 0.0 <= detector.manifest.metrics["held_out_read_as_follow_up"] <= 0.05


def test_a_detector_trained_on_another_intent_encoder_is_stale(artifacts_dir, tmp_path):
    intents, follow_ups = artifacts_dir / "intents", tmp_path / "follow_ups"
    assert not follow_ups_missing(intents, artifacts_dir / "follow_ups", DOMAIN_DIR, intents_retrained=False)
    assert follow_ups_missing(intents, artifacts_dir / "follow_ups", DOMAIN_DIR, intents_retrained=True)
    assert follow_ups_missing(intents, follow_ups, DOMAIN_DIR, intents_retrained=False), "missing"
    shutil.copytree(artifacts_dir / "follow_ups", follow_ups)
    manifest = json.loads((follow_ups / "manifest.json").read_text())
    manifest["depends_on"] = {"intents": "another-encoder"}
    (follow_ups / "manifest.json").write_text(json.dumps(manifest))
    assert follow_ups_missing(intents, follow_ups, DOMAIN_DIR, intents_retrained=False)


def test_a_domain_without_written_follow_ups_needs_no_detector(artifacts_dir, tmp_path):
    assert not follow_ups_missing(
        artifacts_dir / "intents", tmp_path / "none", tmp_path, intents_retrained=True
    )


def test_a_follow_ups_file_without_its_columns_is_refused(tmp_path):
    path = tmp_path / "follow_ups.csv"
    path.write_text("text,category\nhow long?,card_arrival\n", encoding="utf-8")
    with pytest.raises(ValueError, match="context"):
        read_follow_ups(path)


@pytest.fixture(scope="module")
def russian_detector(artifacts_dir):
    from first_line.multilingual_encoder import MultilingualEncoder

    return FollowUpDetector(artifacts_dir / "follow_ups_ru", MultilingualEncoder())


def test_russian_follow_ups_are_told_from_self_contained_messages(russian_detector):
    """The Russian detector reads E5, as the Russian intent model does."""
    follow_ups = [russian_detector.probability(t) for t in ["а долго ждать?", "а почему до сих пор нет?"]]
    alone = [
        russian_detector.probability(t)
        for t in ["Сколько идёт доставка новой карты?", "Хочу сменить PIN-код карты", "спасибо, до свидания"]
    ]
    assert min(follow_ups) > max(alone), (follow_ups, alone)
    assert russian_detector.cut == RUSSIAN_CUT  # its own cut, chosen on the Russian dev follow-ups
    assert all(p >= RUSSIAN_CUT for p in follow_ups) and not any(p >= RUSSIAN_CUT for p in alone)
    assert russian_detector.manifest.depends_on["e5"].startswith("e5-graph")


def test_a_russian_detector_on_another_e5_graph_is_stale(artifacts_dir, domain, tmp_path):
    from first_line.training_pipeline import russian_follow_ups_missing

    assert not russian_follow_ups_missing(artifacts_dir / "follow_ups_ru", DOMAIN_DIR, domain)
    assert russian_follow_ups_missing(tmp_path / "follow_ups_ru", DOMAIN_DIR, domain), "missing"
    assert not russian_follow_ups_missing(tmp_path / "follow_ups_ru", tmp_path, domain), "none written"
    shutil.copytree(artifacts_dir / "follow_ups_ru", tmp_path / "follow_ups_ru")
    manifest = json.loads((tmp_path / "follow_ups_ru" / "manifest.json").read_text())
    manifest["depends_on"] = {"e5": "e5-graph-0"}
    (tmp_path / "follow_ups_ru" / "manifest.json").write_text(json.dumps(manifest))
    assert russian_follow_ups_missing(tmp_path / "follow_ups_ru", DOMAIN_DIR, domain)
