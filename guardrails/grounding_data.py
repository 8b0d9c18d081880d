"""Training and evaluation pairs for the grounding verifier: (claim, passages, supported?).

- Ask CFPB synthetic pairs (the knowledge base itself): a sentence of an article, lightly edited, is
  supported by that article; the same sentence with a number, a date or an amount changed, a name
  swapped for one of another article, a negation flipped, or a sentence of a related article is not.
  The passages given are the article plus two other articles, as a retriever would return them.
- HaluEval QA: the right answer is supported by the knowledge, the hallucinated one is not.
- BEGIN (WoW dev): a response is supported when "Fully attributable". Rows are split in two halves by a
  hash of their text (`begin_half`): the training half, and a held-out half that `twoline eval grounding`
  reports on separately.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from first_line.table_files import open_table
from guardrails.facts import _NUMBER
from guardrails.text import split_sentences

KB_ARTICLES = 300
PASSAGE_CHARS = 1500
_NEGATABLE = [
    (r"\bcan\b", "cannot"), (r"\bcannot\b", "can"), (r"\bmust\b", "must not"), (r"\bmay\b", "may not"),
    (r"\bis\b", "is not"), (r"\bare\b", "are not"), (r"\bwill\b", "will not"), (r"\bdoes not\b", "does"),
    (r"\bdo not\b", "do"), (r"\bshould\b", "should not"), (r"\bis not\b", "is"),
    (r"\bhave to\b", "do not have to"),
]  # fmt: skip
_CAPITALISED = re.compile(r"(?<=\s)[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)*")


@dataclass(frozen=True)
class GroundingPair:
    claim: str
    passages: tuple[str, ...]
    supported: int
    source: str


def begin_half(knowledge: str, response: str) -> str:
    """'train' or 'heldout': a fixed split of BEGIN rows by the hash of their text."""
    digest = hashlib.sha256(f"{knowledge}\t{response}".encode()).digest()
    return "heldout" if digest[0] % 2 else "train"


def read_begin(path: Path) -> list[GroundingPair]:
    with open_table(path) as handle:
        return [
            GroundingPair(
                row["response"],
                (row["knowledge"],),
                int(row["begin_label"] == "Fully attributable"),
                f"begin_{begin_half(row['knowledge'], row['response'])}",
            )
            for row in csv.DictReader(handle, delimiter="\t")
            if row["begin_label"] in ("Fully attributable", "Not fully attributable")
        ]  # fmt: skip


def read_halueval(path: Path) -> list[GroundingPair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        passages = (row["knowledge"],)
        pairs.append(GroundingPair(row["right_answer"], passages, 1, "halueval"))
        pairs.append(GroundingPair(row["hallucinated_answer"], passages, 0, "halueval"))
    return pairs


def read_grounding_file(path: Path) -> list[GroundingPair]:
    """A BEGIN TSV or a HaluEval JSONL, by extension."""
    return read_halueval(path) if path.suffix == ".jsonl" else read_begin(path)


def kb_pairs(kb_path: Path, rng: random.Random, articles: int = KB_ARTICLES) -> list[GroundingPair]:
    rows = [json.loads(line) for line in kb_path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r.get("status") == "APPROVED" and len(r.get("answer") or "") > 200]
    by_id = {r["ask_id"]: r for r in rows}
    names = sorted({m.group() for r in rows for m in _CAPITALISED.finditer(r["answer"])})
    pairs: list[GroundingPair] = []
    for article in rng.sample(rows, min(articles, len(rows))):
        text = article["answer"][:PASSAGE_CHARS]
        sentences = [s.text for s in split_sentences(text) if 40 <= len(s.text) <= 300]
        if not sentences:
            continue
        related = [by_id[i] for i in _related_ids(article) if i in by_id] or rng.sample(rows, 2)
        others = [r["answer"][:PASSAGE_CHARS] for r in (related + rng.sample(rows, 2))[:2]]
        passages = (text, *others)
        claim = rng.choice(sentences)
        pairs.append(GroundingPair(_light_edit(claim, rng), passages, 1, "kb"))
        pairs.append(GroundingPair(claim, passages, 1, "kb"))
        negative = _corrupt(claim, names, rng)
        if negative:
            pairs.append(GroundingPair(negative, passages, 0, "kb"))
        other_sentences = [s.text for r in related for s in split_sentences(r["answer"]) if len(s.text) >= 40]
        if other_sentences:
            pairs.append(GroundingPair(rng.choice(other_sentences), (text,), 0, "kb"))
    return pairs


def _related_ids(article: dict) -> list[int]:
    raw = article.get("related_ask_ids") or "[]"
    return json.loads(raw) if isinstance(raw, str) else list(raw)


def _light_edit(sentence: str, rng: random.Random) -> str:
    """A supported paraphrase-like variant: a trailing clause dropped, or a lead-in added."""
    if ", " in sentence and rng.random() < 0.5:
        head = sentence.split(", ")[0]
        if len(head) > 30:
            return head + "."
    return rng.choice(["Generally, ", "In short, ", "Note that ", ""]) + sentence[0].lower() + sentence[1:]


def _corrupt(sentence: str, names: list[str], rng: random.Random) -> str | None:
    """An unsupported variant: a number changed, a name swapped or a negation flipped."""
    numbers = list(_NUMBER.finditer(sentence))
    if numbers and rng.random() < 0.7:
        match = rng.choice(numbers)
        value = match.group()
        digits = re.sub(r"\D", "", value) or "1"
        new = str(int(digits) * rng.choice([2, 3, 10]) + rng.choice([0, 1, 5])) if int(digits) else "7"
        return sentence[: match.start()] + new + sentence[match.end() :]
    capitalised = list(_CAPITALISED.finditer(sentence))
    if capitalised and rng.random() < 0.5:
        match = rng.choice(capitalised)
        replacement = rng.choice([n for n in names if n.lower() not in sentence.lower()] or ["Visa"])
        return sentence[: match.start()] + replacement + sentence[match.end() :]
    for pattern, replacement in rng.sample(_NEGATABLE, len(_NEGATABLE)):
        if re.search(pattern, sentence):
            return re.sub(pattern, replacement, sentence, count=1)
    return None


def load_grounding_pairs(
    data_dir: Path, seed: int = 13, articles: int = KB_ARTICLES, per_source: int | None = None
) -> list[GroundingPair]:
    """Everything: KB synthetic, HaluEval, BEGIN (both halves; the trainer keeps the held-out half aside).

    `per_source` caps HaluEval and BEGIN rows (quick runs and tests)."""
    rng = random.Random(seed)
    pairs = kb_pairs(data_dir / "askcfpb_kb" / "askcfpb_kb.jsonl", rng, articles)
    for more in (
        read_halueval(data_dir / "halueval" / "qa_one_turn_500.jsonl"),
        read_begin(data_dir / "begin_wow" / "begin_dev_wow.tsv"),
    ):
        pairs += rng.sample(more, per_source) if per_source and per_source < len(more) else more
    return pairs
