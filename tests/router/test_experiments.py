"""A/B experiments: deterministic assignment, the variant's policy decides and is recorded, and
`twoline eval ab` reads the outcome back from the real store with its statistics."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from evals.ab_report import ab_report, two_proportion_test, wilson
from first_line.domain import DomainConfigError, Experiment, load_domain
from router.experiments import assign_variant
from router.policy import Decision
from router.store.database import create_store_engine, migrate
from router.store.dialog_store import DialogStore
from tests.conftest import DOMAIN_DIR

EXPERIMENT = {
    "name": "strict_vs_default",
    "variants": [{"name": "control", "weight": 1}, {"name": "strict", "weight": 1}],
}


def domain_with_experiment(tmp_path, experiment: dict):
    folder = tmp_path / "domain"
    shutil.copytree(DOMAIN_DIR, folder)
    config = yaml.safe_load((folder / "domain.yaml").read_text(encoding="utf-8"))
    config["experiment"] = experiment
    (folder / "domain.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return folder


def test_assignment_is_deterministic_and_follows_weights():
    weights = {"a": 3, "b": 1, "c": 0}
    experiment = Experiment.model_validate(
        {"name": "e1", "variants": [{"name": n, "weight": w} for n, w in weights.items()]}
    )
    counts = Counter(assign_variant(experiment, f"client-{i}").name for i in range(8000))
    assert counts["c"] == 0
    assert abs(counts["a"] / 8000 - 0.75) < 0.02
    assert assign_variant(experiment, "client-7").name == assign_variant(experiment, "client-7").name


def test_bad_experiment_names_file_and_key(tmp_path):
    bad = EXPERIMENT | {"variants": [{"name": "a", "thresholds": {"no_such_intent": 0.9}}, {"name": "b"}]}
    unknown_intent = r"domain.yaml: experiment.variants.0.thresholds: unknown intent"
    with pytest.raises(DomainConfigError, match=unknown_intent):
        load_domain(domain_with_experiment(tmp_path, bad))
    twins = EXPERIMENT | {"variants": [{"name": "a"}, {"name": "a"}]}
    with pytest.raises(DomainConfigError, match="variant names must be unique"):
        load_domain(domain_with_experiment(tmp_path / "2", twins))


def test_each_client_decided_by_its_variant_and_recorded(tmp_path, settings):
    from router.assistant import Assistant

    domain = load_domain(DOMAIN_DIR)
    strict = {"name": "strict", "weight": 1, "thresholds": dict.fromkeys(domain.intents, 1.0)}
    experiment = EXPERIMENT | {"variants": [{"name": "control", "weight": 1}, strict]}
    folder = domain_with_experiment(tmp_path, experiment)
    bot = Assistant.load(settings.model_copy(update={"domain_dir": folder}))
    parsed = bot.domain.settings.experiment
    seen = set()
    for i in range(12):
        client = f"ab-client-{i}"
        result = bot.handle(client, "my card has still not arrived after two weeks")
        variant = assign_variant(parsed, client).name
        seen.add(variant)
        _, decisions = bot.store.dialog_history(result.dialog_id)
        assert decisions[-1].variant == variant
        if variant == "strict":  # every threshold 1.0: the bot is never sure enough to answer
            assert decisions[-1].threshold == 1.0
            assert result.kind != "answer"
    assert seen == {"control", "strict"}


def populate(store: DialogStore, variant: str, dialogs: int, automated: int, voc: list[int], dislikes: int):
    for i in range(dialogs):
        accepted = store.accept_message(f"{variant}-{i}", None, "hello")
        handoff = i >= automated
        decision = Decision(
            kind="handoff" if handoff else "answer",
            reason="unsure" if handoff else "scripted_answer",
            reply="Hello! How can I help?",
            variant=variant,
        )
        recorded = store.record_decision(accepted, decision, 5.0)
        reaction = "dislike" if i < dislikes else "like"
        store.add_message_feedback(recorded.reply_message_id, reaction, accepted.dialog_id)
        store.add_voc(accepted.dialog_id, voc[i % len(voc)])


def test_ab_report_from_the_store(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'ab.db'}")
    migrate(engine)
    store = DialogStore(engine)
    populate(store, "control", dialogs=120, automated=96, voc=[4, 5], dislikes=12)
    populate(store, "strict", dialogs=120, automated=60, voc=[2, 3], dislikes=13)
    report = ab_report(engine, "strict_vs_default", ["control", "strict"])
    control, strict = report.variants
    assert (control.dialogs, control.automation.value) == (120, 0.8)
    assert strict.automation.value == 0.5
    assert strict.handoffs_by_reason == {"unsure": 60}
    assert control.mean_voc.value == 4.5 and strict.mean_voc.value == 2.5
    assert control.automation.ci_low < 0.8 < control.automation.ci_high
    by_metric = {d.metric: d for d in report.comparisons["strict"]}
    assert by_metric["automation"].significant and by_metric["automation"].difference == pytest.approx(-0.3)
    assert by_metric["mean_voc"].significant
    assert not by_metric["dislike_rate"].significant  # 10 % vs 10.8 %: noise


def test_a_dialog_left_on_the_bots_question_is_not_automated_in_the_ab_report(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'ab.db'}")
    migrate(engine)
    store = DialogStore(engine)
    populate(store, "control", dialogs=10, automated=10, voc=[4], dislikes=0)
    asked = store.accept_message("control-asked", None, "I tried to pay on the bus")
    request = Decision(
        kind="clarify", reason="rephrase_request", reply="Could you tell me more?", variant="control"
    )
    store.record_decision(asked, request, 5.0)
    now = datetime.now(UTC)
    assert ab_report(engine, None, ["control"], now=now).variants[0].automation.value == 1.0, "asked just now"
    later = ab_report(engine, None, ["control"], now=now + timedelta(hours=1)).variants[0]
    assert (later.dialogs, later.automation.value) == (11, pytest.approx(10 / 11))
    assert later.handoffs_by_reason == {}, "not an operator's either"


def test_statistics_helpers():
    assert wilson(0, 0).value is None
    rate = wilson(0, 20)
    assert rate.value == 0 and rate.ci_low == 0 and 0.1 < rate.ci_high < 0.2
    assert two_proportion_test("x", 50, 100, 50, 100).p_value == pytest.approx(1.0)


def test_eval_ab_cli_json(tmp_path):
    database = tmp_path / "cli.db"
    engine = create_store_engine(f"sqlite:///{database}")
    migrate(engine)
    populate(DialogStore(engine), "control", dialogs=10, automated=8, voc=[5], dislikes=1)
    populate(DialogStore(engine), "strict", dialogs=10, automated=2, voc=[1], dislikes=5)
    folder = domain_with_experiment(tmp_path, EXPERIMENT)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "router.cli",
            "eval",
            "ab",
            "--json",
            "--database-url",
            f"sqlite:///{database}",
        ],
        env={"TWOLINE_DOMAIN_DIR": str(folder), "PATH": "/usr/bin:/bin", "TWOLINE_LOG_JSON": "false"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["control"] == "control"
    assert [v["dialogs"] for v in report["variants"]] == [10, 10]
    assert report["comparisons"]["strict"][0]["metric"] == "automation"
