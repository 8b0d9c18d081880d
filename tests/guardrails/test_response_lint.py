"""`twoline eval responses`: the censor over a domain's scripted answers, as a lint for their writers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import DATA_DIR, DOMAIN_DIR

pytestmark = pytest.mark.slow

BAD = "What the f**k, just open Cards and tap Activate card."


@pytest.fixture(scope="module")
def domain_with_a_rude_answer(tmp_path_factory):
    """The demo bank with a rude formal answer first among `activate_my_card`'s in English."""
    folder = tmp_path_factory.mktemp("domain") / "demo_bank"
    shutil.copytree(DOMAIN_DIR, folder)
    english = folder / "responses" / "en.yaml"
    text = english.read_text(encoding="utf-8")
    marker = "activate_my_card:\n  formal:\n"
    assert marker in text
    english.write_text(text.replace(marker, marker + f'    - "{BAD}"\n'), encoding="utf-8")
    return folder


def test_every_variant_is_judged_and_the_rude_one_is_found(censor, domain_with_a_rude_answer):
    from first_line.domain import load_domain
    from guardrails.response_lint import lint_responses

    domain = load_domain(domain_with_a_rude_answer)
    report = lint_responses(domain, censor)
    variants = [v for by_intent in domain.responses.values() for vs in by_intent.values() for v in vs]
    assert report.variants == len(variants)
    assert report.texts == len(variants) + sum(v.gendered for v in variants)
    rude = [f for f in report.findings if f.text == BAD]
    assert len(rude) == 1
    assert (rude[0].language, rude[0].intent, rude[0].style) == ("en", "activate_my_card", "formal")
    assert rude[0].action == "block" and rude[0].category == "insult"
    assert rude[0].index == 0 and domain.responses["en"]["activate_my_card"][0].text == BAD


def test_a_variant_is_read_with_its_slots_filled_and_in_each_gender():
    from first_line.domain import ResponseVariant
    from guardrails.response_lint import sample_texts

    variant = ResponseVariant(
        text="Если ты {заказал|заказала} карту {date}, нажми «Карта не пришла».",
        style="friendly", slots=frozenset({"date"}), gendered=True,
    )  # fmt: skip
    assert sample_texts(variant) == [
        "Если ты заказал карту 12 March, нажми «Карта не пришла».",
        "Если ты заказала карту 12 March, нажми «Карта не пришла».",
    ]


def test_the_cli_lists_the_finding_and_fails(guard_artifacts, domain_with_a_rude_answer):
    env = {
        "TWOLINE_ARTIFACTS_DIR": str(guard_artifacts),
        "TWOLINE_DATA_DIR": str(DATA_DIR),
        "TWOLINE_DOMAIN_DIR": str(domain_with_a_rude_answer),
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "router.cli", "eval", "responses", "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert any(f["text"] == BAD and f["action"] == "block" for f in report["findings"])
    assert report["texts"] >= report["variants"] > 500
