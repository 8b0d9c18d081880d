"""Labelled messages for the intent classifier: loading, the demo bank's recipe, seeded splits.

The demo bank's training set is BANKING77 (77 intents) plus the intents every chat needs:
- greeting / thanks / goodbye / bot_capabilities  ← CLINC150 small-talk and meta intents,
- out_of_scope  ← CLINC150 `oos` plus a sample of its non-banking domains,
- knowledge_question  ← Ask CFPB article questions (general consumer-finance knowledge),
- human_operator  ← examples written for this project (`domains/demo_bank/training/`).
A bank replaces all of this with its own `text,category` CSV (`twoline train intents --data`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from first_line.table_files import open_table

CLINC_RENAMES = {
    "greeting": "greeting",
    "thank_you": "thanks",
    "goodbye": "goodbye",
    "what_can_i_ask_you": "bot_capabilities",
    "are_you_a_bot": "bot_capabilities",
    "oos": "out_of_scope",
}
CLINC_BANKING_DOMAINS = {"banking", "credit_cards"}  # overlap BANKING77: never "out of scope"
OUT_OF_SCOPE_PER_CLINC_INTENT = 3
KNOWLEDGE_QUESTIONS = 200
KNOWLEDGE_QUESTION_MAX_CHARS = 160


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


@dataclass(frozen=True)
class Splits:
    train: list[Example]
    dev: list[Example]
    """Calibration, ensemble weights and threshold tuning."""
    test: list[Example]
    """Held out: every figure reported comes from here."""


def read_labelled_csv(path: Path | str, text_col: str = "text", label_col: str = "category") -> list[Example]:
    """Read a `text,category` CSV (the BANKING77 layout); rows with an empty text are skipped."""
    with open_table(path) as handle:
        reader = csv.DictReader(handle)
        missing = {text_col, label_col} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        return [
            Example(row[text_col].strip(), row[label_col].strip())
            for row in reader
            if row[text_col] and row[text_col].strip()
        ]


def demo_bank_examples(data_dir: Path, domain_dir: Path, seed: int = 13) -> list[Example]:
    """The demo bank's training set (see the module docstring)."""
    rng = random.Random(seed)
    examples = read_labelled_csv(data_dir / "banking77" / "train.csv")
    examples += _clinc_examples(data_dir / "clinc150", rng)
    examples += _knowledge_questions(data_dir / "askcfpb_kb" / "askcfpb_kb.jsonl", rng)
    examples += _text_lines(domain_dir / "training" / "human_operator.txt", "human_operator")
    return examples


def split_examples(examples: list[Example], seed: int = 13, dev: float = 0.1, test: float = 0.1) -> Splits:
    """Stratified, seeded split: every intent keeps its share in train, dev and test."""
    rng = random.Random(seed)
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    train, dev_part, test_part = [], [], []
    for intent in sorted(by_intent):
        group = sorted(by_intent[intent], key=lambda e: e.text)
        rng.shuffle(group)
        n_test = max(1, round(len(group) * test))
        n_dev = max(1, round(len(group) * dev))
        test_part += group[:n_test]
        dev_part += group[n_test : n_test + n_dev]
        train += group[n_test + n_dev :]
    return Splits(train=train, dev=dev_part, test=test_part)


def stratified_slice(examples: list[Example], per_intent: int, seed: int = 13) -> list[Example]:
    """At most `per_intent` examples of each intent (small, fast training sets for tests)."""
    rng = random.Random(seed)
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    sliced: list[Example] = []
    for intent in sorted(by_intent):
        group = sorted(by_intent[intent], key=lambda e: e.text)
        rng.shuffle(group)
        sliced += group[:per_intent]
    return sliced


def data_hash(examples: list[Example]) -> str:
    """Order-independent hash of a labelled set: recorded in every artifact manifest."""
    digest = hashlib.sha256()
    for line in sorted(f"{e.intent}\t{e.text}" for e in examples):
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _clinc_examples(folder: Path, rng: random.Random) -> list[Example]:
    domains = json.loads((folder / "domains.json").read_text(encoding="utf-8"))
    banking_intents = {i for d in CLINC_BANKING_DOMAINS for i in domains[d]}
    with open(folder / "clinc150_train_val.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    examples = [Example(r["text"], CLINC_RENAMES[r["intent"]]) for r in rows if r["intent"] in CLINC_RENAMES]
    other: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        intent = row["intent"]
        if intent not in CLINC_RENAMES and intent not in banking_intents and row["domain"] != "small_talk":
            other[intent].append(row["text"])
    for intent in sorted(other):
        texts = sorted(other[intent])
        rng.shuffle(texts)
        examples += [Example(t, "out_of_scope") for t in texts[:OUT_OF_SCOPE_PER_CLINC_INTENT]]
    return examples


def _knowledge_questions(path: Path, rng: random.Random) -> list[Example]:
    questions = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            article = json.loads(line)
            question = (article.get("question") or "").strip()
            if article.get("status") == "APPROVED" and 0 < len(question) <= KNOWLEDGE_QUESTION_MAX_CHARS:
                questions.append(question)
    questions = sorted(set(questions))
    rng.shuffle(questions)
    return [Example(q, "knowledge_question") for q in questions[:KNOWLEDGE_QUESTIONS]]


def _text_lines(path: Path, intent: str) -> list[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Example(line.strip(), intent) for line in lines if line.strip() and not line.startswith("#")]
