"""The intent and pools models, trained for real on a slice of the demo data (conftest)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from first_line.artifacts import ArtifactError, load_manifest
from first_line.intent_model import IntentModel
from first_line.pools_model import PoolsModel, train_pools_model
from first_line.training_pipeline import missing_artifacts
from tests.conftest import CALIBRATION_FOLDS


@pytest.fixture(scope="module")
def model(artifacts_dir):
    loaded = IntentModel(artifacts_dir / "intents")
    loaded.warm_up()
    return loaded


def test_onnx_encoder_matches_sentence_transformers(artifacts_dir):
    from sentence_transformers import SentenceTransformer

    from first_line.encoder_training import base_encoder_path
    from first_line.text_encoder import TextEncoder

    texts = ["My card has not arrived yet", "How do I top up with a bank transfer?", "hi"]
    reference = SentenceTransformer(base_encoder_path(), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    fp32 = TextEncoder(artifacts_dir / "intents", quantized=False).encode(texts)
    int8 = TextEncoder(artifacts_dir / "intents", quantized=True).encode(texts)
    assert np.min(np.sum(fp32 * reference, axis=1)) > 0.999
    assert np.min(np.sum(int8 * reference, axis=1)) > 0.9, "int8 quantisation keeps the embedding's direction"


def test_held_out_accuracy_of_the_slice_model(model, splits):
    test = [e for e in splits.test if e.intent in model.intents]
    predicted = [p.top for p in model.predict_batch([e.text for e in test])]
    accuracy = np.mean([p == e.intent for p, e in zip(predicted, test, strict=True)])
    assert accuracy > 0.7, f"30 examples per intent should give well over 70%, got {accuracy:.3f}"


def test_probabilities_are_a_distribution_sorted_best_first(model):
    prediction = model.predict("I lost my card, please block it")
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert list(prediction.probabilities) == sorted(prediction.probabilities, reverse=True)
    assert prediction.top == prediction.intents[0]
    assert len(prediction.top_k(3)) == 3


def test_context_of_the_same_topic_raises_confidence(model, splits):
    """An ambiguous follow-up leans towards the topic of the client's earlier message."""
    by_intent = {}
    for example in splits.train:
        by_intent.setdefault(example.intent, []).append(example.text)
    gains = []
    for example in splits.test[:150]:
        column = model.intents.index(example.intent)
        alone = model.probabilities([example.text])[0, column]
        with_context = model.probabilities([example.text], [[by_intent[example.intent][0]]])[0, column]
        gains.append(with_context - alone)
    assert np.mean(gains) > 0


def test_manifest_records_data_and_settings(artifacts_dir, splits):
    from first_line.training_data import data_hash

    manifest = load_manifest(artifacts_dir / "intents", "intents", verify_files=True)
    assert manifest.data_hash == data_hash(splits.train + splits.dev + splits.test)
    assert manifest.seed == 13
    assert manifest.data_sizes["train"] == len(splits.train)
    fitted = {"tfidf_weight", "temperature", "neighbour_weight", "neighbour_temperature"}
    assert fitted <= set(manifest.params)
    assert "test_accuracy" in manifest.metrics
    expected = {"encoder.int8.onnx", "head.npz", "tfidf.joblib", "neighbours.npz"}
    expected.add("dev_probabilities.npz")
    assert expected <= set(manifest.files)


def test_thresholds_read_out_of_fold_scores_of_every_message_the_served_models_learned(
    artifacts_dir, splits, model
):
    """`calibration_folds`: the served models (neighbours, head, TF-IDF) learned train + dev; the stored
    calibration probabilities, which thresholds are tuned on, score each of those messages with the models
    fitted on the other folds, so they are honest for every one."""
    manifest = load_manifest(artifacts_dir / "intents", "intents")
    assert manifest.metrics["calibration_folds"] == CALIBRATION_FOLDS
    pool = splits.train + [e for e in splits.dev if e.intent in model.intents]
    stored = np.load(artifacts_dir / "intents" / "neighbours.npz")
    assert len(stored["labels"]) == len(pool)
    calibration = np.load(artifacts_dir / "intents" / "dev_probabilities.npz")
    labels = np.array([model.intents.index(e.intent) for e in pool])
    assert (calibration["labels"] == labels).all()
    assert manifest.metrics["calibration_accuracy"] == pytest.approx(
        float((calibration["probabilities"].argmax(1) == labels).mean())
    )
    sample = np.arange(0, len(pool), 8)
    served = model.probabilities([pool[i].text for i in sample])
    # A model that trained on a message is surer of its label than one that never saw it.
    assert (
        served[np.arange(len(sample)), labels[sample]].mean()
        > calibration["probabilities"][sample, labels[sample]].mean()
    )


def test_the_full_variant_calibrates_on_dev_as_its_encoder_learned_every_training_message():
    from first_line.intent_training import IntentTrainingConfig, calibration_folds_for
    from first_line.training_data import Example

    examples = [Example(f"message {i}", intent) for intent in "abc" for i in range(10)]
    assert calibration_folds_for(IntentTrainingConfig(), examples) == 5
    assert calibration_folds_for(IntentTrainingConfig(variant="full"), examples) == 0


def test_calibration_folds_deal_each_intent_evenly_and_know_every_intent():
    from first_line.intent_training import calibration_folds, fold_of_each
    from first_line.training_data import Example

    examples = [Example(text=f"{intent} {n}", intent=intent) for intent in "abc" for n in range(7)]
    examples += [Example(text="d 1", intent="d"), Example(text="d 2", intent="d")]
    assert calibration_folds(examples, 5) == 2  # "d" has two messages: one in each fold
    assert calibration_folds(examples[:-1], 5) == 0  # one message of "d": the dev scheme
    assert calibration_folds(examples[:21], 5) == 5
    fold = fold_of_each(examples[:21], 5, seed=13)
    for intent in "abc":
        counts = np.bincount(
            fold[[i for i, e in enumerate(examples[:21]) if e.intent == intent]], minlength=5
        )
        assert sorted(counts) == [1, 1, 1, 2, 2]
    assert (fold == fold_of_each(examples[:21], 5, seed=13)).all()
    assert (fold != fold_of_each(examples[:21], 5, seed=14)).any()


def test_missing_or_foreign_artifacts_are_refused(tmp_path, artifacts_dir):
    with pytest.raises(ArtifactError, match="twoline train intents"):
        IntentModel(tmp_path / "nothing-here")
    with pytest.raises(ArtifactError, match="expected 'intents'"):
        IntentModel(artifacts_dir / "pools")
    broken = tmp_path / "intents"
    shutil.copytree(artifacts_dir / "intents", broken)
    (broken / "head.npz").unlink()
    with pytest.raises(ArtifactError, match=r"head\.npz is missing"):
        IntentModel(broken)


def test_pools_model_refuses_a_changed_pools_yaml(artifacts_dir, domain, model):
    mapping = domain.pool_by_intent
    pools = PoolsModel(artifacts_dir / "pools", model.encoder, mapping)
    assert pools.predict("I want to top up with my card").pool in {"top_up", "top_up_problems"}
    changed = dict(mapping, card_arrival="top_up")
    with pytest.raises(ArtifactError, match="twoline train pools"):
        PoolsModel(artifacts_dir / "pools", model.encoder, changed)


def test_a_domain_with_two_pools_reads_both(tmp_path, artifacts_dir, splits, model):
    """A bank may group its unsure intents into two pools only: the two-class head keeps both readable."""
    mapping = {"card_arrival": "cards", "card_delivery_estimate": "cards"}
    mapping |= {"top_up_failed": "top_up", "top_up_by_card_charge": "top_up"}
    intents = load_manifest(artifacts_dir / "intents", "intents")
    train_pools_model(splits, model.encoder, mapping, tmp_path / "pools", intents)
    pools = PoolsModel(tmp_path / "pools", model.encoder, mapping)
    assert pools.predict("My new card still has not arrived").pool == "cards"
    assert pools.predict("My top-up failed, why?").pool == "top_up"


def test_missing_artifacts_tells_what_to_train(tmp_path, artifacts_dir, domain):
    assert missing_artifacts(artifacts_dir / "intents", artifacts_dir / "pools", domain) == []
    assert missing_artifacts(tmp_path / "i", tmp_path / "p", domain) == ["intents", "pools"]
    copy = tmp_path / "pools"
    shutil.copytree(artifacts_dir / "pools", copy)
    mapping = json.loads((copy / "pools.json").read_text())
    mapping["card_arrival"] = "top_up"
    (copy / "pools.json").write_text(json.dumps(mapping))
    assert missing_artifacts(artifacts_dir / "intents", copy, domain) == ["pools"]


def test_service_refuses_a_model_trained_for_other_intents(artifacts_dir, domain, model):
    from router.assistant import check_intents_match

    check_intents_match(model, domain)
    smaller = domain.model_copy(
        update={"intents": {k: v for k, v in domain.intents.items() if k != "greeting"}}
    )
    with pytest.raises(ArtifactError, match="not configured"):
        check_intents_match(model, smaller)


def test_fast_tfidf_scorer_equals_sklearn(artifacts_dir, splits):
    import joblib

    from first_line.tfidf_scorer import TfidfScorer

    pipeline = joblib.load(artifacts_dir / "intents" / "tfidf.joblib")
    texts = [e.text for e in splits.test[:200]] + ["", "zzzz qqqq", "Привет, где моя карта?", "a" * 3000]
    expected = pipeline.predict_log_proba(texts)
    assert np.abs(TfidfScorer(pipeline).log_probabilities(texts) - expected).max() < 1e-6


def test_fitted_ensemble_is_no_worse_than_leaving_the_neighbours_out(splits, model):
    """Fitted on messages the served models never learnt (the held-out split; they learnt train and dev),
    as calibration fits it on out-of-fold scores. The grid ranks its points in float32: equal within 1e-4."""
    from first_line.intent_model import combine, context_features, head_log_probabilities
    from first_line.intent_training import TEMPERATURES, WEIGHTS, fit_ensemble, mean_log_loss
    from first_line.neighbour_scorer import neighbour_log_probabilities

    held_out = [e for e in splits.test if e.intent in model.intents]
    y = np.array([model.intents.index(e.intent) for e in held_out])
    texts = [e.text for e in held_out]
    features = context_features(model.encoder, texts, [[] for _ in texts])
    head = head_log_probabilities(features, model._head_weights, model._head_bias)
    tfidf = model._tfidf.log_probabilities(texts)
    best = model._neighbours.best_similarities(features[:, : features.shape[1] // 2])

    params = fit_ensemble(head, tfidf, best, y)
    neighbours = neighbour_log_probabilities(best, params["neighbour_temperature"])
    weights = (params["tfidf_weight"], params["temperature"], neighbours, params["neighbour_weight"])
    fitted = mean_log_loss(combine(head, tfidf, *weights), y)
    without = min(mean_log_loss(combine(head, tfidf, w, t), y) for w in WEIGHTS for t in TEMPERATURES)
    assert fitted <= without + 1e-4
    assert params["neighbour_weight"] > 0  # the neighbours earn their place on unseen messages


def test_an_artifact_without_neighbours_still_loads(tmp_path, artifacts_dir):
    """Artifacts trained before the neighbour scorer (no `neighbours.npz`) keep working."""
    old = tmp_path / "intents"
    shutil.copytree(artifacts_dir / "intents", old)
    manifest = json.loads((old / "manifest.json").read_text())
    for key in ("neighbour_weight", "neighbour_temperature"):
        manifest["params"].pop(key)
    manifest["files"].pop("neighbours.npz")
    (old / "neighbours.npz").unlink()
    (old / "manifest.json").write_text(json.dumps(manifest))
    prediction = IntentModel(old).predict("I lost my card, please block it")
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-4)


def test_intent_encoder_embeds_a_message_as_the_service_does(model):
    """int8 embeddings depend on the batch (dynamic quantisation): the intent model embeds one text at
    a time, so what training and calibration see is what a single served message gets."""
    from first_line.text_encoder import TextEncoder

    message = "my card still has not arrived"
    others = ["hi", "How do I top up my account with a bank transfer from another country, please?"]
    batched = TextEncoder(model.artifact_dir, quantized=True, cache_size=0).encode([message, *others])[0]
    alone = TextEncoder(model.artifact_dir, quantized=True, cache_size=0).encode([message])[0]
    assert not np.allclose(batched, alone, atol=1e-6), "a padded int8 batch changes the embedding"
    assert np.array_equal(model.encoder.encode([message, *others])[0], alone)
