"""Labelled data for the client-sentiment detector: is a client message negative (angry, rude,
frustrated) or not, in English and Russian.

No public set labels bank clients' mood, so the labels come from nearby public sets (each
folder's README in `../shared/data` names source and licence):

| source | negative (1) | not negative (0) |
| --- | --- | --- |
| `toxicity_en` (Wikipedia talk, Jigsaw sample) | `toxic` | the rest |
| `politeness_stanford` (Wikipedia requests) | normalised score ≤ -1.0 (rude requests) | score ≥ 0.5 |
| `bitext_customer_support` | intent `complaint`, or tag `W` (offensive wording) | other intents |
| `banking77` (a sample) | — | every message (bank requests, mostly calm) |
| `toxicity_ru` (ruDetoxifier, toxic only) | every sentence | — |
| `russian_intents` (MASSIVE ru dev) | — | every utterance |
| `domains/<bank>/training/negative_client_messages.txt` | every line (EN+RU, bank-flavoured) | — |
| `domains/<bank>/training/neutral_client_messages_ru.txt` | — | every line |
| `domains/<bank>/training/calm_client_messages.txt` | — | every line (EN+RU: problems stated calmly) |
| `domains/<bank>/training/russian_messages_train.csv` | — | every message (Russian bank requests) |
| `domains/<bank>/training/follow_ups*.csv` | — | every follow-up and the message before it (EN+RU) |

Known weak spots: toxicity is stronger than the frustration a bank sees; BANKING77, the Russian
bank requests and the written follow-ups hold some annoyed messages labelled 0. The Russian toxic
side is subsampled to `RU_TOXIC_PER_CALM` times the general calm sentences (MASSIVE and the neutral
lines), so that the classes do not stand in for the language. Without the Russian bank requests and
the calm lines, the Russian calm side was voice-assistant commands only, and the model read any
Russian message about a bank problem as upset ("деньги с той карты ушли, а тут статус ожидание":
0.81), so those clients were handed off instead of being asked to say more (issue 2, session 33;
`twoline eval sentiment --data evals/data/client_mood_dev.csv`).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from first_line.follow_up_model import read_follow_ups, written_follow_ups
from first_line.sentiment_model import text_language

RUDE_POLITENESS = -1.0
POLITE_POLITENESS = 0.5
BANKING77_CALM = 1500
BITEXT_CALM = 800
RU_TOXIC_PER_CALM = 1.5


@dataclass(frozen=True)
class ToneExample:
    text: str
    negative: int
    language: str
    source: str


def tone_examples(data_dir: Path, domain_dir: Path, seed: int = 13) -> list[ToneExample]:
    """Every labelled example (see the table above), shuffled with `seed`."""
    rng = random.Random(seed)
    examples = (
        _toxicity_en(data_dir / "toxicity_en")
        + _politeness(data_dir / "politeness_stanford" / "wikipedia.annotated.csv")
        + _bitext(data_dir / "bitext_customer_support" / "bitext_cs_llm_training_4514.csv", rng)
        + _banking77(data_dir / "banking77" / "train.csv", rng)
        + _domain_lines(domain_dir / "training" / "negative_client_messages.txt", 1, "domain_negative")
    )
    training = domain_dir / "training"
    massive = _calm_russian(data_dir / "russian_intents" / "ru_massive_dev.csv", "russian_intents")
    calm_ru = massive + _domain_lines(training / "neutral_client_messages_ru.txt", 0, "domain_neutral_ru")
    toxic_ru = _toxicity_ru(data_dir / "toxicity_ru" / "rudetoxifier_10k_toxic.txt")
    rng.shuffle(toxic_ru)
    examples += calm_ru + toxic_ru[: int(len(calm_ru) * RU_TOXIC_PER_CALM)]
    examples += _domain_lines(training / "calm_client_messages.txt", 0, "domain_calm")
    examples += _calm_russian(training / "russian_messages_train.csv", "russian_bank_requests")
    examples += _written_follow_ups(domain_dir)
    examples = [e for e in examples if e.text]
    rng.shuffle(examples)
    return examples


def split_tone(
    examples: list[ToneExample], seed: int = 13, test: float = 0.2
) -> tuple[list[ToneExample], list[ToneExample]]:
    """(train, held-out test), stratified by (language, label)."""
    rng = random.Random(seed)
    train: list[ToneExample] = []
    held_out: list[ToneExample] = []
    groups: dict[tuple[str, int], list[ToneExample]] = {}
    for example in examples:
        groups.setdefault((example.language, example.negative), []).append(example)
    for key in sorted(groups):
        group = groups[key][:]
        rng.shuffle(group)
        cut = max(1, round(len(group) * test))
        held_out += group[:cut]
        train += group[cut:]
    return train, held_out


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _clean(text: str) -> str:
    return " ".join(text.replace("NEWLINE_TOKEN", " ").replace("`", " ").split())[:500]


def _toxicity_en(folder: Path) -> list[ToneExample]:
    rows = [(r["comment"], r["toxic"] == "True") for r in _rows(folder / "wiki_toxicity_nonfuzzed.csv")]
    rows += [(r["comment_text"], r["toxic"] == "1") for r in _rows(folder / "jigsaw_toxic_sample_101.csv")]
    return [ToneExample(_clean(text), int(toxic), "en", "toxicity_en") for text, toxic in rows]


def _politeness(path: Path) -> list[ToneExample]:
    out = []
    for row in _rows(path):
        score = float(row["Normalized Score"])
        if score <= RUDE_POLITENESS or score >= POLITE_POLITENESS:
            out.append(ToneExample(_clean(row["Request"]), int(score <= RUDE_POLITENESS), "en", "politeness"))
    return out


def _bitext(path: Path, rng: random.Random) -> list[ToneExample]:
    negative, calm = [], []
    for row in _rows(path):
        is_negative = row["intent"] == "complaint" or "W" in row["tags"]
        (negative if is_negative else calm).append(
            ToneExample(_clean(row["instruction"]), int(is_negative), "en", "bitext")
        )
    rng.shuffle(calm)
    return negative + calm[:BITEXT_CALM]


def _banking77(path: Path, rng: random.Random) -> list[ToneExample]:
    rows = _rows(path)
    rng.shuffle(rows)
    return [ToneExample(_clean(r["text"]), 0, "en", "banking77") for r in rows[:BANKING77_CALM]]


def _toxicity_ru(path: Path) -> list[ToneExample]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ToneExample(_clean(line), 1, "ru", "toxicity_ru") for line in lines if line.strip()]


def _calm_russian(path: Path, source: str) -> list[ToneExample]:
    """Every `text` of a Russian CSV, as calm."""
    return [ToneExample(_clean(r["text"]), 0, "ru", source) for r in _rows(path)]


def _written_follow_ups(domain_dir: Path) -> list[ToneExample]:
    """The follow-ups the domain's follow-up detectors learn from ("how long?", "а комиссия будет?") and the
    messages they follow ("I'm sending money to the US"): short questions and plain statements of a situation,
    which the model read as impatient or upset before it saw calm ones."""
    paths = [path for language in ("en", "ru") if (path := written_follow_ups(domain_dir, language))]
    pairs = [pair for path in paths for pair in read_follow_ups(path)]
    texts = dict.fromkeys(text for pair in pairs for text in pair if text)
    return [ToneExample(_clean(text), 0, text_language(text), "written_follow_ups") for text in texts]


def _domain_lines(path: Path, label: int, source: str) -> list[ToneExample]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [
        ToneExample(line, label, text_language(line), source)
        for line in lines
        if line and not line.startswith("#")
    ]
