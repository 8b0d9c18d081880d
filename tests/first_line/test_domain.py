"""The domain config is validated at start-up; every error names the file and the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from first_line.domain import DomainConfigError, load_domain
from tests.conftest import DATA_DIR

DEMO = Path(__file__).resolve().parents[2] / "domains" / "demo_bank"


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    target = tmp_path / "bank"
    shutil.copytree(DEMO, target)
    return target


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_demo_bank_loads_with_every_banking77_intent(domain):
    import csv

    with open(DATA_DIR / "banking77" / "train.csv", encoding="utf-8") as handle:
        banking77 = {r["category"] for r in csv.DictReader(handle)}
    assert banking77 <= set(domain.intents)
    assert {"greeting", "thanks", "goodbye", "human_operator", "out_of_scope"} <= set(domain.intents)
    assert 10 <= len(domain.pools) <= 20
    assert domain.intents["human_operator"].transfer_only
    assert domain.intents["knowledge_question"].escalate


def test_every_scripted_intent_has_two_variants_per_language(domain):
    for lang in ("en", "ru"):
        for name, intent in domain.intents.items():
            if intent.needs_response:
                assert len(domain.responses[lang][name]) >= 2, (lang, name)


def expect_error(folder: Path, file: str, key_part: str) -> None:
    with pytest.raises(DomainConfigError) as caught:
        load_domain(folder)
    assert caught.value.file.endswith(file), str(caught.value)
    assert key_part in caught.value.key, str(caught.value)


def test_unknown_intent_in_a_pool(demo_copy):
    edit(demo_copy / "pools.yaml", lambda d: d["pools"]["top_up"]["intents"].append("no_such_intent"))
    expect_error(demo_copy, "pools.yaml", "pools.top_up.intents")


def test_unknown_intent_ending_the_dialog(demo_copy):
    edit(demo_copy / "domain.yaml", lambda d: d["policy"].update(dialog_end_intents=["goodbye", "farewell"]))
    expect_error(demo_copy, "domain.yaml", "policy.dialog_end_intents")


def test_unknown_intent_standing_alone(demo_copy):
    edit(demo_copy / "domain.yaml", lambda d: d["policy"].update(stand_alone_intents=["thanks", "cheers"]))
    expect_error(demo_copy, "domain.yaml", "policy.stand_alone_intents")


def test_unknown_intent_under_the_rephrase_request(demo_copy):
    edit(demo_copy / "domain.yaml", lambda d: d["policy"].update(rephrase_buttons=["call_me"]))
    expect_error(demo_copy, "domain.yaml", "policy.rephrase_buttons")


def test_the_rephrase_request_needs_its_message_in_every_language(demo_copy):
    edit(demo_copy / "domain.yaml", lambda d: d["messages"]["rephrase"].pop("ru"))
    with pytest.raises(DomainConfigError, match=r"messages\.rephrase\.ru is missing"):
        load_domain(demo_copy)
    edit(demo_copy / "domain.yaml", lambda d: d["policy"].update(ask_to_rephrase=False))
    assert not load_domain(demo_copy).settings.policy.ask_to_rephrase, "not asked, so not needed"


def test_intent_in_no_pool(demo_copy):
    edit(demo_copy / "pools.yaml", lambda d: d["pools"]["top_up"]["intents"].remove("top_up_limits"))
    with pytest.raises(DomainConfigError, match="top_up_limits"):
        load_domain(demo_copy)


def test_missing_response(demo_copy):
    edit(demo_copy / "responses" / "ru.yaml", lambda d: d.pop("card_arrival"))
    expect_error(demo_copy, "ru.yaml", "card_arrival")


def test_missing_plain_friendly_variant(demo_copy):
    edit(demo_copy / "responses" / "en.yaml", lambda d: d["card_arrival"].pop("friendly"))
    expect_error(demo_copy, "en.yaml", "card_arrival.friendly")


def test_unknown_slot(demo_copy):
    edit(demo_copy / "responses" / "en.yaml", lambda d: d["card_arrival"]["formal"].append("Hi {nickname}"))
    expect_error(demo_copy, "en.yaml", "card_arrival.formal")


@pytest.mark.parametrize("bad", [1.5, 0, -0.1, "high"])
def test_bad_threshold(demo_copy, bad):
    edit(demo_copy / "intents.yaml", lambda d: d["intents"]["card_arrival"].update(threshold=bad))
    expect_error(demo_copy, "intents.yaml", "intents.card_arrival.threshold")


def test_bad_policy_setting(demo_copy):
    edit(demo_copy / "domain.yaml", lambda d: d["policy"].update(target_precision=1.2))
    expect_error(demo_copy, "domain.yaml", "policy.target_precision")


def test_broken_yaml(demo_copy):
    (demo_copy / "pools.yaml").write_text("pools: [unclosed", encoding="utf-8")
    with pytest.raises(DomainConfigError, match="invalid YAML"):
        load_domain(demo_copy)


def test_missing_label_language(demo_copy):
    edit(demo_copy / "intents.yaml", lambda d: d["intents"]["card_arrival"]["label"].pop("ru"))
    expect_error(demo_copy, "intents.yaml", "intents.card_arrival.label.ru")
