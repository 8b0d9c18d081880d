"""The censor on a small real model: hard negatives pass, masked profanity is blocked, a bad sentence
in a good answer is dropped, `twoline eval tone` prints its JSON contract."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import DATA_DIR, DOMAIN_DIR

pytestmark = pytest.mark.slow

HARD_NEGATIVES = [
    ("If you think someone has your card, you can kill the card in the app right now.", "en"),
    ("We have blocked the stolen card and opened a fraud investigation.", "en"),
    ("A debt collector must tell you the name of the creditor and the amount owed.", "en"),
    ('You wrote that the fee was "bloody ridiculous", and I am sorry about it.', "en"),
    ("I'm sorry, but we are not able to reverse a transfer that you authorised.", "en"),
    ("Мы заблокировали украденную карту и начали расследование.", "ru"),
]


@pytest.mark.parametrize(("text", "language"), HARD_NEGATIVES)
def test_hard_negatives_pass(censor, text, language):
    verdict = censor.run(text, language)
    assert verdict.action == "allow", verdict


@pytest.mark.parametrize(
    "text",
    ["What the f**k do you want now?", "Oh for f*ck's sake, I told you twice.", "Бля, читайте договор."],
)
def test_masked_profanity_is_blocked(censor, text):
    verdict = censor.run(text)
    assert verdict.action == "block"
    assert verdict.category == "insult"
    assert censor.threshold <= verdict.score <= 1.0  # a rule hit: at or above the threshold


def test_rewrite_drops_the_offending_sentence(censor):
    good = "Your new card will be sent to your registered address within 5 working days."
    bad = "Your loan is guaranteed to be approved."
    verdict = censor.run(f"{good} {bad} Please never share your PIN with anyone.")
    assert verdict.action == "rewrite"
    assert verdict.category == "promise"
    assert verdict.text == f"{good} Please never share your PIN with anyone."


@pytest.mark.parametrize(
    "text",
    [
        "Your new card will be sent within 5 working days. Is there anything else I can help with?",
        "Your loan is guaranteed to be approved.",
        "What the f**k do you want now? I told you twice.",
        "Thanks for waiting. Lol, your payment bounced, bro.",
    ],
)
def test_the_verdict_is_decided_by_its_score(censor, text):
    verdict = censor.run(text)
    tones, whole = censor.judge(text)
    assert verdict.score == max([whole.score, *(t.score for t in tones)])
    assert (verdict.action == "allow") == (verdict.score < censor.threshold)


def copy_with_manifest(guard_artifacts, tmp_path, edit) -> Path:
    """A copy of the test censor whose manifest `edit` (a function of the parsed manifest) changed."""
    import shutil

    old = tmp_path / "censor"
    shutil.copytree(guard_artifacts / "censor", old)
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    edit(manifest)
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return old


def test_a_censor_from_an_older_version_asks_for_retraining(tmp_path, guard_artifacts):
    from first_line.artifacts import ArtifactError

    old = copy_with_manifest(
        guard_artifacts, tmp_path, lambda manifest: manifest["files"].pop("bank_head.joblib")
    )
    (old / "bank_head.joblib").unlink()
    from guardrails.censor import Censor

    with pytest.raises(ArtifactError, match="train censor"):
        Censor(old)


STALE_MANIFESTS = {
    # Its E5 head read other embeddings (session 25's 4-bit graph).
    "another_e5_graph": (
        lambda manifest: manifest["depends_on"].pop("e5"),
        r"another E5 graph \(none recorded; this version runs e5-graph-",
    ),
    # Before session 45 its E5 head read all twelve of E5's layers (it reads the first six).
    "all_of_e5": (
        lambda manifest: manifest["depends_on"].update(e5="e5-graph-3"),
        r"another E5 graph \(e5-graph-3; this version runs e5-graph-3-layers-6\)",
    ),
    # Before session 38 training embedded a text of several sentences in one pass (the censor pools them).
    "rows_embedded_whole": (lambda manifest: manifest["params"].pop("pooled_rows"), "embedded whole"),
    # Before session 39 the stackers weighed the heads alike in English and Russian (fewer features).
    "one_stacker_for_both_languages": (
        lambda manifest: manifest["params"].pop("language_stackers"),
        "alike in both languages",
    ),
    # Before session 40 the RBF heads were read through float products in training.
    "float_products": (lambda manifest: manifest["params"].pop("int8_products"), "float products"),
}


@pytest.mark.parametrize("stale", sorted(STALE_MANIFESTS))
def test_a_stale_censor_is_refused_and_retrained(tmp_path, guard_artifacts, stale):
    """Refused with the reason, and `serve` retrains it (`censor_is_current` is false)."""
    from first_line.artifacts import ArtifactError
    from guardrails.censor import Censor, censor_is_current

    edit, reason = STALE_MANIFESTS[stale]
    assert censor_is_current(guard_artifacts / "censor")
    old = copy_with_manifest(guard_artifacts, tmp_path, edit)
    assert not censor_is_current(old)
    with pytest.raises(ArtifactError, match=reason):
        Censor(old)


def test_the_stackers_read_each_reading_again_on_russian_rows():
    from guardrails.censor_training import by_language, russian_flag, stack_features

    readings = [np.array([0.9, 0.2]), np.array([0.8, 0.3]), np.array([0.7, 0.4])] + [
        np.array([0.5, -0.5])
    ] * 3
    russian = np.array([0.0, 1.0])
    features = stack_features(*readings, russian)
    assert features.shape == (2, 15)
    flag = 7  # after the seven readings
    assert list(features[:, flag]) == [0.0, 1.0] == list(russian_flag(features))
    assert not features[0, flag + 1 :].any(), "an English row: zeros in the Russian block"
    assert np.allclose(features[1, flag + 1 :], features[1, :flag])
    assert by_language(np.ones((1, 3)), np.array([1.0])).tolist() == [[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]


def texts_e5_reads(censor, monkeypatch) -> list[list[str]]:
    """Every answer past the screen; the texts of each E5 call, recorded as they are asked for."""
    monkeypatch.setattr(censor, "screen_below", 0.0)
    asked = []
    encode = censor.e5.encode
    monkeypatch.setattr(censor.e5, "encode", lambda texts, **kw: asked.append(texts) or encode(texts, **kw))
    return asked


def test_e5_runs_only_where_the_fast_stage_is_unsure(censor, monkeypatch):
    asked = texts_e5_reads(censor, monkeypatch)
    polite = "Your new card will be sent within 5 working days. Is there anything else I can help with?"
    monkeypatch.setattr(censor, "e5_skip_below", 1.0)
    assert censor.run(polite).action == "allow"
    assert asked == []  # every fast score under the cut
    monkeypatch.setattr(censor, "e5_skip_below", 0.0)
    tones, _ = censor.judge(polite)
    assert len(asked) == 1 and len(asked[-1]) == len(tones) == 2  # the sentences; the whole text is pooled


class ScriptedFastStage:
    """The fast stacker's scores chosen per row (sentences, then the whole text)."""

    def __init__(self, scores: list[float]) -> None:
        self.scores = np.array(scores)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return np.column_stack([1.0 - self.scores, self.scores])


def test_e5_reads_only_the_unsure_rows_unless_the_whole_text_is_one(censor, monkeypatch):
    asked = texts_e5_reads(censor, monkeypatch)
    monkeypatch.setattr(censor, "e5_skip_below", 0.5)
    text = "Your card is on its way. You can track it in the app. Anything else?"
    monkeypatch.setattr(censor._stackers, "fast", ScriptedFastStage([0.1, 0.8, 0.1, 0.2]))
    tones, _ = censor.judge(text)
    assert asked == [["you can track it in the app."]]
    assert tones[0].score == pytest.approx(0.1) and tones[2].score == pytest.approx(0.1)  # kept
    assert tones[1].score != pytest.approx(0.8)  # the full stack's
    monkeypatch.setattr(censor._stackers, "fast", ScriptedFastStage([0.1, 0.1, 0.1, 0.7]))
    censor.judge(text)
    assert len(asked) == 2 and len(asked[-1]) == 3  # the whole text's E5 vector pools every sentence's


def test_e5_does_not_read_a_row_the_fast_stage_or_a_rule_already_blocks(censor, monkeypatch):
    asked = texts_e5_reads(censor, monkeypatch)
    monkeypatch.setattr(censor, "e5_skip_below", 0.3)
    monkeypatch.setattr(censor, "e5_block_above", 0.99)
    text = "Your card is on its way. Your loan is guaranteed to be approved. Anything else?"
    monkeypatch.setattr(censor._stackers, "fast", ScriptedFastStage([0.1, 0.999, 0.1, 0.2]))
    tones, _ = censor.judge(text)
    stands = censor.threshold + (1 - censor.threshold) * 0.999 if tones[1].rule else 0.999
    assert asked == [] and tones[1].score == pytest.approx(stands)  # surely blocked: the fast score stands
    assert censor.run(text).action == "rewrite"
    ruled = "Thanks for waiting. Lol, your payment bounced, bro."
    monkeypatch.setattr(censor._stackers, "fast", ScriptedFastStage([0.1, 0.5, 0.2]))
    tones, _ = censor.judge(ruled)
    assert asked == []  # a rule blocks the second sentence whatever E5 reads
    assert tones[1].rule and tones[1].score == pytest.approx(censor.threshold + (1 - censor.threshold) * 0.5)
    monkeypatch.setattr(censor._stackers, "fast", ScriptedFastStage([0.1, 0.5, 0.6]))
    censor.judge(ruled)
    assert len(asked) == 1 and len(asked[0]) == 2  # the whole text is unsure: pooled from both sentences


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        ("What the f**k do you want now? I told you twice.", [0.5, 0.5, 0.6]),  # a severe rule hit
        (  # two sure sentences of three: one would be left for the two dropped
            "Your loan is guaranteed to be approved. Your mortgage will surely go through. Anything else?",
            [0.999, 0.999, 0.5, 0.6],
        ),
    ],
)
def test_e5_reads_nothing_once_the_sure_rows_block_the_answer(censor, monkeypatch, text, fast):
    asked = texts_e5_reads(censor, monkeypatch)
    monkeypatch.setattr(censor, "e5_skip_below", 0.3)
    monkeypatch.setattr(censor, "e5_block_above", 0.99)
    monkeypatch.setattr(censor._stackers, "fast", ScriptedFastStage(fast))
    verdict = censor.run(text)
    assert asked == [] and verdict.action == "block"
    tones, whole = censor.judge(text)
    unruled = [i for i, tone in enumerate(tones) if not tone.rule]
    assert unruled and [tones[i].score for i in unruled] == pytest.approx([fast[i] for i in unruled])
    assert whole.score >= fast[-1]


def test_a_censor_trained_without_the_block_cut_asks_e5_as_before(guard_artifacts, tmp_path):
    from guardrails.censor import Censor

    old = copy_with_manifest(
        guard_artifacts, tmp_path, lambda manifest: manifest["params"].pop("e5_block_above")
    )
    assert Censor(old).e5_block_above == np.inf


def test_the_block_cut_spares_at_most_its_share_of_the_polite_rows_e5_would_allow():
    from guardrails.censor_training import E5_BLOCK_FALSE, _e5_block
    from guardrails.tone_data import ToneExample

    rng = np.random.default_rng(0)
    dev = [
        ToneExample(f"t{i}", "ok" if i % 2 else "insult", "en", "bank" if i % 3 else "wiki")
        for i in range(4000)
    ]
    labels = np.array([e.label for e in dev])
    fast = np.clip(rng.normal(0.3 + 0.5 * labels, 0.2), 0.0, 1.0)
    allowed = fast + rng.normal(0.0, 0.1, len(dev)) < 0.6
    tuned = _e5_block(dev, fast, allowed, threshold=0.6)
    cut = tuned["e5_block_above"]
    assert cut >= 0.6
    polite = labels == 0
    for rows in (np.array([e.source == "bank" for e in dev]), np.ones(len(dev), dtype=bool)):
        spared = (rows & polite & allowed & (fast >= cut)).sum()
        assert spared <= E5_BLOCK_FALSE * (rows & polite).sum()
    assert tuned["dev_e5_block_false"] <= E5_BLOCK_FALSE
    assert (fast >= cut).sum() > 0.2 * labels.sum(), "the fast stage blocks a share of the inappropriate rows"


def test_the_threshold_is_tuned_on_out_of_fold_readings_of_every_row(censor):
    sizes = censor.manifest.data_sizes
    assert sizes["calibration_folds"] == 4
    assert sizes["dev"] == sizes["train"] > 0  # every training row read once, by heads that never saw it


def test_each_fold_is_read_by_heads_fitted_on_the_other_folds(monkeypatch):
    from guardrails import censor_training
    from guardrails.tone_data import ToneExample

    fitted_on, read = [], []
    monkeypatch.setattr(
        censor_training, "_fit", lambda encoder, e5, rows: fitted_on.append(rows) or len(rows)
    )
    monkeypatch.setattr(
        censor_training.Readings, "of", classmethod(lambda cls, encoder, e5, heads, rows: read.append(rows))
    )
    monkeypatch.setattr(censor_training.Readings, "joined", classmethod(lambda cls, parts: parts))
    rows = [ToneExample(f"text {i}", "ok", "en", "bank") for i in range(10)]
    order, _ = censor_training._out_of_fold(None, None, rows, 4)
    assert sorted(order, key=lambda e: e.text) == sorted(rows, key=lambda e: e.text)
    assert [r for part in read for r in part] == order
    for fitted, part in zip(fitted_on, read, strict=True):
        assert not set(fitted) & set(part) and len(fitted) + len(part) == len(rows)


def test_the_fast_stage_cut_is_tuned_under_the_threshold(censor):
    assert 0.0 < censor.e5_skip_below <= censor.threshold
    assert censor.manifest.metrics["dev_e5_skip_missed"] <= 0.01
    assert censor.threshold <= censor.e5_block_above
    assert censor.manifest.metrics["dev_e5_block_false"] <= 0.0001
    assert 0.0 <= censor.manifest.metrics["dev_bank_e5_skipped"] <= 1.0


class CountedEncoder:
    """Counts the texts an encoder is asked to embed (and embeds them)."""

    def __init__(self, encoder) -> None:
        self.encoder, self.texts = encoder, []

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, texts, **kwargs):
        self.texts += texts
        return self.encoder.encode(texts, **kwargs)


class ScriptedScreen:
    """The TF-IDF head's readings chosen per row (sentences, then the whole text)."""

    def __init__(self, readings: list[float]) -> None:
        self.readings = np.array(readings)

    def positive_probabilities(self, texts: list[str]) -> np.ndarray:
        return self.readings.copy()


def test_a_plainly_polite_answer_is_allowed_without_the_encoders(censor, monkeypatch):
    from guardrails.text import model_text

    text = "Your new card will be sent within 5 working days. Is there anything else I can help with?"
    rows = [model_text(s) for s in ("Your new card will be sent within 5 working days.",
                                    "Is there anything else I can help with?", text)]  # fmt: skip
    readings = censor._heads.tfidf.positive_probabilities(rows)
    lexicon = float(censor._lexicon.probabilities([rows[-1]])[0])
    minilm, e5 = CountedEncoder(censor.encoder), CountedEncoder(censor.e5)
    monkeypatch.setattr(censor, "encoder", minilm)
    monkeypatch.setattr(censor, "e5", e5)
    monkeypatch.setattr(censor, "screen_below", max(*readings, lexicon) + 1e-6)
    verdict = censor.run(text)
    assert minilm.texts == [] and e5.texts == []
    assert verdict.action == "allow"
    tones, whole = censor.judge(text)
    assert [t.score for t in tones] == pytest.approx(readings[:2].tolist())
    assert whole.score == pytest.approx(max(readings[2], lexicon))


def test_the_encoders_read_only_the_rows_the_screen_is_unsure_of(censor, monkeypatch):
    from guardrails.text import model_text

    text = "Your card is on its way. You can track it in the app. Anything else?"
    sentences = ["Your card is on its way.", "You can track it in the app.", "Anything else?"]
    minilm = CountedEncoder(censor.encoder)
    monkeypatch.setattr(censor, "encoder", minilm)
    monkeypatch.setattr(censor, "screen_below", 0.3)
    monkeypatch.setattr(censor._heads, "tfidf", ScriptedScreen([0.1, 0.6, 0.2, 0.1]))
    tones, _ = censor.judge(text)
    assert minilm.texts == [model_text(sentences[1])]
    assert [tones[0].score, tones[2].score] == pytest.approx([0.1, 0.2])  # the screen's readings stand
    monkeypatch.setattr(censor._heads, "tfidf", ScriptedScreen([0.1, 0.1, 0.2, 0.6]))  # the whole text
    censor.judge(text)
    assert minilm.texts[1:] == [model_text(s) for s in sentences]  # it pools every sentence


def test_a_rule_hit_is_never_screened(censor, monkeypatch):
    minilm = CountedEncoder(censor.encoder)
    monkeypatch.setattr(censor, "encoder", minilm)
    monkeypatch.setattr(censor, "screen_below", censor.threshold)
    assert censor.run("What the f**k do you want now?").action == "block"
    assert len(minilm.texts) == 1


def test_the_screen_cut_is_tuned_under_the_threshold(censor):
    assert 0.0 <= censor.screen_below <= censor.threshold
    assert censor.manifest.metrics["dev_screen_missed"] <= 0.005
    assert 0.0 <= censor.manifest.metrics["dev_bank_polite_screened"] <= 1.0


def test_emoji_spam_is_blocked(censor):
    assert censor.run("Done 😎🔥🔥🔥🎉🎉").category == "emoji_spam"


def test_eval_tone_cli_json(tmp_path, guard_artifacts):
    data = tmp_path / "tone.csv"
    rows = [(t, "false", "") for t, _ in HARD_NEGATIVES] + [
        ("What the f**k do you want now?", "true", "insult"),
        ("Your loan is guaranteed to be approved.", "true", "promise"),
        ("You are an idiot.", "true", "insult"),
    ]
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["answer", "bad", "category"])
        writer.writerows(rows)
    report = _cli(guard_artifacts, "tone", "--data", str(data), "--text-col", "answer", "--label-col", "bad")
    for key in ("roc_auc", "block_rate", "false_block_rate", "baseline", "per_category"):
        assert key in report
    for key in ("roc_auc", "block_rate", "false_block_rate"):
        assert key in report["baseline"]
    assert report["block_rate"] == 1.0
    assert report["false_block_rate"] == 0.0
    assert report["per_category"]["promise"]["block_rate"] == 1.0
    assert report["worst_examples"] == []  # no mistake on these rows, so nothing to list
    assert 0.5 <= report["whole_text_roc_auc"] <= 1.0  # the whole-text reading ranks these too
    short = report["by_length"]["1-3 sentences"]  # every row here is of an answer's length
    assert short["rows"] == len(rows) and short["block_rate"] == 1.0 and "baseline" in short
    assert "4+ sentences" not in report["by_length"]


def test_eval_tone_decides_at_the_served_threshold(tmp_path, guard_artifacts):
    data = tmp_path / "tone.csv"
    data.write_text(
        "text,label\nYour loan is guaranteed to be approved.,1\nWhat the f**k do you want now?,1\n"
        "Your new card will be sent within 5 working days.,0\n",
        encoding="utf-8",
    )
    served = {"TWOLINE_SECOND_LINE_CENSOR_THRESHOLD": "0.999"}
    report = _cli(guard_artifacts, "tone", "--data", str(data), env_extra=served)
    assert report["threshold"] == 0.999
    assert report["block_rate"] >= 0.5  # the rule-hit row is flagged at any threshold
    assert report["false_block_rate"] == 0.0


def test_the_verdict_carries_the_whole_text_reading(censor):
    rude = censor.run("Your card is on its way. You are an idiot.")
    assert rude.action == "block" and rude.whole_text_score <= rude.score
    polite = censor.run(f"{HARD_NEGATIVES[1][0]} {HARD_NEGATIVES[2][0]}")
    assert polite.action == "allow" and polite.whole_text_score < censor.threshold


def test_worst_examples_list_false_blocks_then_misses():
    from evals.tone_eval import worst_examples

    rows = [{"text": t} for t in ("polite but blocked", "bad but allowed", "fine", "bad and blocked")]
    labels = np.array([0, 1, 0, 1])
    scores = np.array([0.9, 0.1, 0.05, 0.95])
    blocked = scores > 0.5
    listed = worst_examples(rows, labels, scores, blocked)
    assert [(e["mistake"], e["text"]) for e in listed] == [
        ("blocked a polite text", "polite but blocked"),
        ("let a bad text through", "bad but allowed"),
    ]


def _cli(artifacts, suite: str, *args: str, env_extra: dict[str, str] | None = None) -> dict:
    env = {
        "TWOLINE_ARTIFACTS_DIR": str(artifacts),
        "TWOLINE_DATA_DIR": str(DATA_DIR),
        "TWOLINE_DOMAIN_DIR": str(DOMAIN_DIR),
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
    } | (env_extra or {})
    result = subprocess.run(
        [sys.executable, "-m", "router.cli", "eval", suite, *args, "--json"],
        env=env, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)
