"""Citation markers: normalisation, invalid markers dropped, (index, title, url) for the API."""

from second_line.citations import citations_for, clean_citations
from second_line.types import Passage


def _passages(n: int) -> list[Passage]:
    return [
        Passage(chunk_id=f"d{i}#0", doc_id=f"d{i}", title=f"T{i}", url=f"https://x/{i}", text="t", score=1.0)
        for i in range(1, n + 1)
    ]


def test_markers_are_normalised_and_out_of_range_ones_dropped():
    text = "Fees apply [Passage 2]. Ask first [1, 2]. Not this one [7]."
    assert clean_citations(text, 2) == "Fees apply [2]. Ask first [1][2]. Not this one."


def test_citations_follow_the_order_of_first_appearance():
    cited = citations_for("A [2]. B [1]. C [2].", _passages(3))
    assert [(c.index, c.title, c.url) for c in cited] == [(2, "T2", "https://x/2"), (1, "T1", "https://x/1")]
    assert citations_for("no markers at all", _passages(3)) == []


def test_the_banks_tone_rules_come_from_the_domain_folder(tmp_path):
    from pathlib import Path

    import pytest
    from pydantic import ValidationError

    from second_line.config import load_tone_rules

    demo = load_tone_rules(Path(__file__).resolve().parents[2] / "domains" / "demo_bank", "Demo Bank")
    assert demo[0].startswith("You are the support assistant of Demo Bank.")
    assert load_tone_rules(tmp_path, "X")[0].startswith("You are the support assistant of X.")  # defaults
    (tmp_path / "second_line.yaml").write_text("tone_rule: [typo]\n")
    with pytest.raises(ValidationError):
        load_tone_rules(tmp_path, "X")
