"""Next-intent recommender: corpora readers, look-ahead samples, the mapping file, the trained model,
`twoline eval next-intent --json`, and the buttons after an answer through the API."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from first_line.dialog_corpora import ClientTurn, Dialog, detect_layout, held_out, read_dialogs
from first_line.dialog_intent_map import load_dialog_intent_map
from first_line.dialog_training import MULTIDOGO_DEV, MULTIDOGO_TRAIN, SGD, evaluate_next_intent
from first_line.domain import DomainConfigError
from first_line.next_intent_model import NextIntentModel, dialog_samples
from tests.conftest import DATA_DIR, DOMAIN_DIR


@pytest.fixture(scope="module")
def intent_map(domain):
    return load_dialog_intent_map(DOMAIN_DIR, domain)


def test_layouts_are_recognised_from_the_header(tmp_path):
    assert detect_layout(DATA_DIR / MULTIDOGO_DEV) == "multidogo"
    assert detect_layout(DATA_DIR / SGD) == "sgd"
    other = tmp_path / "other.csv"
    other.write_text("text,category\nhello,greeting\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a MultiDoGO TSV"):
        read_dialogs(other)


def test_readers_give_client_turns_in_order():
    dialogs = read_dialogs(DATA_DIR / SGD)
    first = next(d for d in dialogs if d.dialog_id == "32_00011")
    assert first.turns[0] == ClientTurn("What's my balance?", ("CheckBalance",))
    assert "GOODBYE" in first.turns[-1].labels
    multidogo = read_dialogs(DATA_DIR / MULTIDOGO_DEV)
    assert len(multidogo) > 200 and all(d.turns for d in multidogo)
    assert 0.1 < sum(held_out(d) for d in multidogo) / len(multidogo) < 0.3


def test_samples_look_ahead_with_the_last_turn_removed(intent_map):
    dialog = Dialog(
        "multidogo",
        "d1",
        (
            ClientTurn("hi", ("openinggreeting",)),
            ClientTurn("i lost my card", ("reportlostcard",)),
            ClientTurn("yes", ("confirmation",)),
            ClientTurn("and send me a new one", ("replacecard",)),
            ClientTurn("thanks", ("thankyou",)),
        ),
    )
    samples = dialog_samples(dialog, intent_map)
    assert [s.target for s in samples] == ["lost_or_stolen_card", "order_physical_card"]
    second = samples[1].so_far
    assert second.texts == ("hi", "i lost my card", "yes")  # the request's own turn is not seen
    assert second.last_request == "lost_or_stolen_card"
    assert second.labels[0] == ("greeting",)


def test_unmapped_intents_stay_corpus_only_and_small_talk_is_never_a_target(intent_map):
    assert intent_map.label("multidogo", "checkbalance") == "multidogo:checkbalance"
    assert intent_map.label("multidogo", "contentonly") is None
    assert intent_map.label("bank_logs", "card_arrival") == "card_arrival"  # a bank's own intent names
    assert not intent_map.is_suggestable("thanks")


def test_mapping_to_an_unknown_intent_is_refused(tmp_path, domain):
    (tmp_path / "dialog_intents.yaml").write_text(
        "corpora:\n  multidogo:\n    intents:\n      reportlostcard: lost_cards\n", encoding="utf-8"
    )
    with pytest.raises(DomainConfigError, match=r"corpora\.multidogo\.intents\.reportlostcard"):
        load_dialog_intent_map(tmp_path, domain)


def test_trained_model_beats_the_most_frequent_baseline(artifacts_dir, intent_map):
    model = NextIntentModel(artifacts_dir / "next_intent")
    assert model.manifest.depends_on["dialog_intents"] == intent_map.fingerprint
    report = evaluate_next_intent(artifacts_dir / "next_intent", [DATA_DIR / MULTIDOGO_DEV], intent_map)
    assert report["samples"] > 100
    assert report["hit@3"] > report["baseline_hit@3"] + 0.1


def test_run_time_scorer_equals_sklearn(artifacts_dir, intent_map):
    from first_line.dialog_features import DialogSoFar
    from first_line.next_intent_model import build_samples

    model = NextIntentModel(artifacts_dir / "next_intent")
    dialogs = [s.so_far for s in build_samples(read_dialogs(DATA_DIR / MULTIDOGO_DEV)[:80], intent_map)]
    dialogs += [
        DialogSoFar(texts=("",), labels=((),)),
        DialogSoFar(texts=("привет",), labels=(("unknown_label",),)),
    ]
    assert len(dialogs) > 30
    assert abs(model.scorer.probabilities(dialogs) - model.probabilities(dialogs)).max() < 1e-6


def test_training_file_is_scored_on_its_held_out_dialogs_only(artifacts_dir, intent_map):
    report = evaluate_next_intent(artifacts_dir / "next_intent", [DATA_DIR / MULTIDOGO_TRAIN], intent_map)
    all_dialogs = read_dialogs(DATA_DIR / MULTIDOGO_TRAIN)
    from first_line.next_intent_model import build_samples

    assert report["samples"] == len(build_samples([d for d in all_dialogs if held_out(d)], intent_map))


def test_eval_cli_json(artifacts_dir):
    env = {
        "TWOLINE_ARTIFACTS_DIR": str(artifacts_dir),
        "TWOLINE_DATA_DIR": str(DATA_DIR),
        "TWOLINE_DOMAIN_DIR": str(DOMAIN_DIR),
        "PATH": "/usr/bin:/bin",
    }
    command = [sys.executable, "-m", "router.cli", "eval", "next-intent", "--json"]
    command += ["--data", str(DATA_DIR / MULTIDOGO_DEV), "--data", str(DATA_DIR / SGD)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert 0.0 <= report["baseline_hit@3"] < report["hit@3"] <= 1.0
    assert set(report["by_source"]) == {"multidogo", "sgd"}


def test_buttons_after_an_answer(api):
    body = api.post(
        "/v1/messages",
        json={"client_id": "next-1", "text": "I lost my card, I think it was stolen yesterday"},
    ).json()
    assert body["decision"]["kind"] == "answer", body
    buttons = body["reply"]["buttons"]
    assert 1 <= len(buttons) <= 3
    assert all(b["payload"].startswith("intent:") for b in buttons)
    assert "intent:lost_or_stolen_card" not in [b["payload"] for b in buttons]
    decision = api.get(f"/v1/dialogs/{body['dialog_id']}").json()["decisions"][0]
    suggested = decision["scores"]["next_intents"]
    assert [f"intent:{i}" for i, _ in suggested] == [b["payload"] for b in buttons]
    # a click on one continues as that intent
    click = api.post(
        "/v1/messages",
        json={"client_id": "next-1", "dialog_id": body["dialog_id"], "button": buttons[0]["payload"]},
    ).json()
    assert click["decision"]["intent"] == buttons[0]["payload"].removeprefix("intent:")


def test_logged_dialogs_export_in_the_multidogo_layout(api, assistant, tmp_path, intent_map):
    from router.dialog_export import export_dialogs

    first = api.post("/v1/messages", json={"client_id": "log-1", "text": "I lost my card"}).json()
    api.post("/v1/messages", json={"client_id": "log-1", "dialog_id": first["dialog_id"], "text": "thanks"})
    out = tmp_path / "dialogs.tsv"
    assert export_dialogs(assistant.store, out) == 2
    (dialog,) = read_dialogs(out)
    assert [t.text for t in dialog.turns] == ["I lost my card", "thanks"]
    assert dialog.turns[0].labels == (
        (first["decision"]["intent"],) if first["decision"]["kind"] == "answer" else ()
    )
    # the bank's own intent names pass through the mapping unchanged
    assert intent_map.label(dialog.source, "lost_or_stolen_card") == "lost_or_stolen_card"


def test_a_changed_mapping_makes_the_artifact_stale(artifacts_dir, domain, tmp_path):
    import shutil

    from first_line.dialog_training import missing_dialog_models

    assert missing_dialog_models(artifacts_dir, DOMAIN_DIR, domain) == []
    edited = tmp_path / "domain"
    shutil.copytree(DOMAIN_DIR, edited)
    mapping = edited / "dialog_intents.yaml"
    mapping.write_text(
        mapping.read_text(encoding="utf-8").replace("checkbalance: null", "checkbalance: null\n      x: null")
    )
    assert missing_dialog_models(artifacts_dir, edited, domain) == ["next_intent"]
    assert missing_dialog_models(tmp_path / "none", DOMAIN_DIR, domain) == ["next_intent", "dialog_end"]
