"""The censor's `full` variant: a MiniLM fine-tuned on tone, trained here on a small slice for one epoch."""

from __future__ import annotations

import random

import numpy as np
import pytest

from first_line.artifacts import load_manifest
from guardrails import tone_encoder_training
from guardrails.encoder import ENCODER_FILES
from guardrails.tone_data import OK, ToneData, ToneExample, load_tone_data
from guardrails.tone_encoder_training import BLOCK, FAST, FULL, packaged_encoder_source, tuning_rows
from tests.conftest import DATA_DIR, DOMAIN_DIR


def _example(text: str, category: str, source: str) -> ToneExample:
    return ToneExample(text=text, category=category, language="en", source=source)


def test_tuning_rows_repeat_the_bank_rows_and_sample_the_rest(monkeypatch):
    monkeypatch.setattr(tone_encoder_training, "OTHER_ROWS", 3)
    bank = [_example("Nice try, champ.", "sarcasm", "bank"), _example("Your card is on its way.", OK, "bank")]
    others = [_example(f"Talk page comment {i}", OK, "wiki") for i in range(10)]
    texts, labels = tuning_rows(bank + others, seed=1)
    assert len(texts) == 2 * len(bank) + 3
    assert texts.count("nice try, champ.") == 2  # model text: lower-cased
    assert sorted(set(labels)) == [BLOCK, OK]
    assert labels[texts.index("nice try, champ.")] == BLOCK


@pytest.fixture(scope="module")
def tuned_censor_dir(tmp_path_factory):
    """A full censor trained on 450 rows, its encoder tuned for one epoch on them and 60 more (~30 s). Its
    threshold is tuned on a quarter of them: with 300 rows (75 dev rows) it came out at 0.72 once E5 read six
    layers, and a polite sentence read as slang was blocked."""
    from guardrails.censor_training import train_censor

    data = load_tone_data(DATA_DIR, DOMAIN_DIR, scale=0.02)
    rows = random.Random(3).sample(data.train, 450)
    out = tmp_path_factory.mktemp("tuned") / "censor"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tone_encoder_training, "EPOCHS", 1)
        patch.setattr(tone_encoder_training, "OTHER_ROWS", 60)
        patch.setattr(tone_encoder_training, "BANK_REPEATS", 1)
        train_censor(ToneData(train=rows, heldout=data.heldout[:20]), out, tune_encoder=True)
    return out


def test_a_full_censor_reads_its_own_tuned_encoder(tuned_censor_dir, guard_artifacts):
    from guardrails.censor import Censor

    manifest = load_manifest(tuned_censor_dir, "censor")
    packaged = load_manifest(guard_artifacts / "censor", "censor")
    assert (manifest.variant, packaged.variant) == (FULL, FAST)
    for name in ENCODER_FILES[:1]:  # the weights changed; the tokenizer did not
        assert manifest.files[name] != packaged.files[name]
    censor = Censor(tuned_censor_dir)
    polite = censor.run("Your new card will arrive in 5 business days.")
    rude = censor.run("Your new card will arrive in 5 business days, you f**king idiot.")
    assert polite.action == "allow" and np.isfinite(polite.score)
    assert rude.action == "block" and rude.score > polite.score


def test_only_a_packaged_encoder_is_shared_with_grounding_and_injection(
    tuned_censor_dir, guard_artifacts, tmp_path
):
    assert packaged_encoder_source(guard_artifacts / "censor") == guard_artifacts / "censor"
    assert packaged_encoder_source(tuned_censor_dir) is None
    assert packaged_encoder_source(tmp_path / "censor") is None  # no censor yet: export afresh


def test_the_packaged_encoder_is_the_machines_one_export(guard_artifacts):
    from first_line.minilm_export import cached_minilm_export

    cached = cached_minilm_export()  # built by whichever fixture needed it first
    for artifact in ("censor", "grounding", "injection"):
        for name in ENCODER_FILES:
            assert (guard_artifacts / artifact / name).read_bytes() == (cached / name).read_bytes()
