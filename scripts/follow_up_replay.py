"""Follow-ups through the real assistant: each row's `context` message, then its `text` in the same dialog;
counts what the follow-up got (answered and right, a clarifying question and whether its buttons hold the
true intent, a hand-off). Rows whose context message was handed off are counted apart (the dialog is then
with an operator).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/follow_up_replay.py evals/data/followups_test.csv
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/follow_up_replay.py --topic-switch
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/follow_up_replay.py --topic-switch \
        evals/data/russian_intents_test.csv

`--topic-switch`: the held-out messages of the demo data (or of a `text,category` CSV), each after a message
of another intent from the same set (what reading a message with the previous one must not spoil).
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from first_line.training_data import read_labelled_csv
from first_line.training_pipeline import load_splits
from router.assistant import Assistant
from router.settings import Settings


def topic_switches(settings: Settings, data: str | None) -> list[tuple[str, str, str]]:
    test = read_labelled_csv(data) if data else load_splits(settings.data_dir, settings.domain_dir).test
    rng = random.Random(5)
    return [(rng.choice([x for x in test if x.intent != e.intent]).text, e.text, e.intent) for e in test]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", nargs="?", help="context,text,category CSV (--topic-switch: text,category)")
    parser.add_argument("--topic-switch", action="store_true")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    settings = Settings(database_url=f"sqlite:///{folder}/replay.db")
    if args.topic_switch:
        rows = topic_switches(settings, args.data)
    else:
        with open(args.data, newline="", encoding="utf-8") as handle:
            rows = [(r["context"], r["text"], r["category"]) for r in csv.DictReader(handle)]
    assistant = Assistant.load(settings)
    counts: collections.Counter[str] = collections.Counter()
    for i, (context, text, intent) in enumerate(rows):
        first = assistant.handle(f"replay-{i}", context)
        if first.kind == "handoff":
            counts["context_handed_off"] += 1
            continue
        result = assistant.handle(f"replay-{i}", text, dialog_id=first.dialog_id)
        counts["follow_ups"] += 1
        counts[result.kind] += 1
        if result.kind == "answer":
            counts["answered_right"] += result.intent == intent
        if result.kind == "clarify":
            counts["clarified_true_intent_a_button"] += any(
                b.payload == "intent:" + intent for b in result.buttons
            )
    print(json.dumps(dict(counts), indent=2))


if __name__ == "__main__":
    main()
