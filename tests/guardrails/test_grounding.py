"""The grounding check: the facts rule (no model) and the checker on a small real verifier."""

from __future__ import annotations

import json

import pytest

from guardrails.facts import missing_facts, normalise_number
from tests.conftest import DATA_DIR
from tests.guardrails.test_censor import _cli

BEGIN_DEV = DATA_DIR / "begin_wow" / "begin_dev_wow.tsv"
HALUEVAL_QA = DATA_DIR / "halueval" / "qa_one_turn_500.jsonl"

PASSAGE = (
    "You have 60 days from the date the statement was sent to dispute a charge. "
    "The Fair Credit Billing Act covers billing errors of up to $1,000.00 on credit cards. "
    "You can contact the CFPB if the card issuer does not respond."
)


def test_numbers_compare_by_value():
    assert normalise_number("1,000.00") == normalise_number("1000") == "1000"
    assert normalise_number("2.50") == "2.5"


def test_swapped_number_is_missing_and_the_right_one_is_not():
    assert missing_facts("You have 90 days to dispute a charge.", [PASSAGE]) == ["number:90"]
    assert missing_facts("You have 60 days to dispute a charge [1].", [PASSAGE]) == []
    assert missing_facts("Contact the FDIC about it.", [PASSAGE]) == ["name:fdic"]


@pytest.mark.slow
def test_swapped_number_sentence_is_dropped(grounding):
    # the first sentence says what the passage says: the verifier trained on a slice may miss a looser
    # paraphrase on some hosts (session 20: int8 kernels differ), and the number rule is under test here
    answer = (
        "You have 60 days from the date the statement was sent to dispute a charge [1]. "
        "Billing errors of up to $5,000 are covered [1]."
    )
    result = grounding.run(answer, [PASSAGE])
    reasons = [s.reason for s in result.sentences]
    assert reasons[1] == "number_not_in_passages:5000"
    assert not result.sentences[1].supported
    assert "5,000" not in result.text
    assert result.text.startswith("You have 60 days")


@pytest.mark.slow
def test_answer_without_support_is_rejected(grounding):
    answer = "Mortgage rates in Canada fell by 3% in 2019. Your pension is managed by Vanguard."
    result = grounding.run(answer, [PASSAGE])
    assert result.rejected
    assert result.reason == "lost_substance"


@pytest.mark.slow
def test_questions_and_courtesy_are_not_claims(grounding):
    result = grounding.run("Is there anything else I can help you with?", [PASSAGE])
    assert result.sentences[0].reason == "no_claim"


@pytest.mark.slow
def test_eval_grounding_cli_json(tmp_path, guard_artifacts):
    begin = tmp_path / "begin.tsv"
    lines = BEGIN_DEV.read_text(encoding="utf-8").splitlines()
    begin.write_text("\n".join(lines[:41]) + "\n", encoding="utf-8")
    report = _cli(guard_artifacts, "grounding", "--data", str(begin))
    for key in ("f1_unsupported", "balanced_accuracy", "baseline"):
        assert key in report
    assert set(report["baseline"]) >= {"f1_unsupported", "balanced_accuracy"}
    halueval = tmp_path / "qa.jsonl"
    rows = HALUEVAL_QA.read_text(encoding="utf-8").splitlines()[:15]
    halueval.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = _cli(guard_artifacts, "grounding", "--data", str(halueval))
    assert report["rows"] == 30
    assert 0.0 <= report["f1_unsupported"] <= 1.0
    json.dumps(report)
