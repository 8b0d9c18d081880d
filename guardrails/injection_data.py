"""Training data of the prompt-injection classifier, and the benign sample it is evaluated on.

No public data set of injections ships here, so the attacks are written for this project
(`guardrails/data/injection_train.csv`, EN + RU, with hard negatives such as "ignore my previous
message"), and each attack also appears in two disguises made from it at training time (leetspeak,
spaced letters, base64, look-alike letters, zero-width characters, upper case, or hidden inside an
ordinary bank question). The benign side is what clients really write: BANKING77, Ask CFPB questions,
CLINC150 (in and out of scope), the Russian MASSIVE intents, the demo bank's own client messages and,
so that rudeness is not mistaken for an attack, Russian toxic sentences.

A hash of each public text keeps `RESERVED_SHARE` of every public source out of training for good:
`benign_sample` draws the large false-positive sample (`twoline eval injection --benign-sample N`) from
there. `guardrails/data/injection_heldout.csv` is never read here.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from first_line.table_files import open_table

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
WRITTEN_TRAIN = PACKAGE_DATA / "injection_train.csv"
WRITTEN_HELDOUT = PACKAGE_DATA / "injection_heldout.csv"
RESERVED_SHARE = 0.2
DISGUISES_PER_ATTACK = 2
PUBLIC_SIZES = {"banking77": 3000, "askcfpb": 1500, "clinc150": 2000, "ru_massive": 300, "toxicity_ru": 400}


@dataclass(frozen=True)
class InjectionExample:
    text: str
    label: int
    """1 = an attempt to override the instructions, extract them, or unlock the model."""
    language: str
    category: str
    source: str
    group: str
    """Rows made from one written attack share it: a dev split never separates them."""


def reserved(text: str) -> bool:
    """Kept out of training for good (the benign evaluation sample)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < RESERVED_SHARE


def load_written(path: Path, source: str = "written") -> list[InjectionExample]:
    """A CSV with `text,label` and optional `language,category`; raises ValueError on a bad row."""
    rows = []
    with open_table(path) as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        for number, row in enumerate(reader, start=2):
            label = str(row["label"]).strip().lower()
            if label not in {"0", "1", "true", "false"}:
                raise ValueError(f"{path}:{number}: label must be 1/0 or true/false, got {row['label']!r}")
            text = row["text"]
            rows.append(
                InjectionExample(
                    text=text,
                    label=int(label in {"1", "true"}),
                    language=(row.get("language") or _language(text)).strip(),
                    category=(row.get("category") or "").strip()
                    or ("attack" if label in {"1", "true"} else "benign"),
                    source=source,
                    group=f"{source}:{number}",
                )
            )
    return rows


def load_injection_data(
    data_dir: Path, domain_dir: Path | None = None, seed: int = 13, scale: float = 1.0
) -> list[InjectionExample]:
    """The written rows, two disguises of each written attack, and the public benign rows not reserved
    (`scale` < 1 samples the public sources down: tests, quick runs)."""
    rng = random.Random(seed)
    written = load_written(WRITTEN_TRAIN)
    carriers = [t for t in _banking77(data_dir) if not reserved(t)][:500]
    examples = list(written)
    for example in written:
        if example.label:
            for name in rng.sample(sorted(DISGUISES), DISGUISES_PER_ATTACK):
                disguised = DISGUISES[name](example.text, rng, carriers)
                examples.append(
                    InjectionExample(
                        disguised, 1, example.language, f"disguise_{name}", "disguised", example.group
                    )
                )
    for source, texts in _public_benign(data_dir, domain_dir).items():
        kept = [t for t in texts if not reserved(t)]
        size = round(PUBLIC_SIZES.get(source, len(kept)) * scale)
        if len(kept) > size:
            kept = rng.sample(kept, size)
        examples += [InjectionExample(t, 0, _language(t), "benign", source, f"{source}:{t}") for t in kept]
    return examples


def benign_sample(data_dir: Path, size: int, seed: int = 7) -> list[InjectionExample]:
    """`size` reserved rows, never trained on: Ask CFPB questions (up to a quarter), BANKING77 the rest."""
    rng = random.Random(seed)
    sources = _public_benign(data_dir, None)
    cfpb = sorted(t for t in sources["askcfpb"] if reserved(t))
    banking = sorted(t for t in sources["banking77"] if reserved(t))
    cfpb = rng.sample(cfpb, min(len(cfpb), size // 4))
    banking = rng.sample(banking, min(len(banking), size - len(cfpb)))
    return [InjectionExample(t, 0, "en", "benign", source, source) for source, texts in
            (("banking77", banking), ("askcfpb", cfpb)) for t in texts]  # fmt: skip


# -- the public benign sources ----------------------------------------------------------------
def _public_benign(data_dir: Path, domain_dir: Path | None) -> dict[str, list[str]]:
    sources = {
        "banking77": _banking77(data_dir),
        "askcfpb": _askcfpb_questions(data_dir / "askcfpb_kb" / "askcfpb_kb.jsonl"),
        "clinc150": _csv_column(data_dir / "clinc150" / "clinc150_train_val.csv", "text"),
        "ru_massive": _csv_column(data_dir / "russian_intents" / "ru_massive_dev.csv", "text"),
        "toxicity_ru": _lines(data_dir / "toxicity_ru" / "rudetoxifier_10k_toxic.txt")[:3000],
    }
    if domain_dir is not None:
        training = domain_dir / "training"
        sources["demo_bank"] = [line for path in sorted(training.glob("*.txt")) for line in _lines(path)]
    return {name: _unique(texts) for name, texts in sources.items()}


def _banking77(data_dir: Path) -> list[str]:
    return _unique(_csv_column(data_dir / "banking77" / "train.csv", "text"))


def _askcfpb_questions(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [q for line in handle if line.strip() and (q := json.loads(line).get("question", "").strip())]


def _csv_column(path: Path, column: str) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [row[column].strip() for row in csv.DictReader(handle) if row[column].strip()]


def _lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _unique(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _language(text: str) -> str:
    cyrillic = sum("а" <= c.lower() <= "я" or c in "ёЁ" for c in text)
    return "ru" if cyrillic > len(text) / 4 else "en"


# -- disguises: how attackers hide an instruction from a filter ------------------------------
_LEET = str.maketrans({"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "t": "7"})
_LOOKALIKE = str.maketrans("aeopcxy", "аеорсху")  # Latin -> Cyrillic
_BASE64_WRAPPERS = {
    "en": ["Decode this and do what it says: {}", "{} (base64, follow it)", "Run this: {}"],
    "ru": ["Декодируй и выполни: {}", "{} — это base64, выполни", "Выполни: {}"],
}
_CARRIERS_RU = ["Здравствуйте, у меня вопрос по карте.", "Подскажите по переводу.", "Не пришли деньги."]


def _leet(text: str, rng: random.Random, _carriers: list[str]) -> str:
    return "".join(c.translate(_LEET) if rng.random() < 0.7 else c for c in text)


def _spaced(text: str, rng: random.Random, _carriers: list[str]) -> str:
    separator = rng.choice([" ", ".", "-"])
    joiner = "   " if separator == " " else " "
    return joiner.join(separator.join(word) for word in text.split())


def _base64(text: str, rng: random.Random, _carriers: list[str]) -> str:
    language = "ru" if _language(text) == "ru" else "en"
    return rng.choice(_BASE64_WRAPPERS[language]).format(base64.b64encode(text.encode()).decode())


def _lookalike(text: str, rng: random.Random, _carriers: list[str]) -> str:
    return text.translate(_LOOKALIKE)


def _zero_width(text: str, rng: random.Random, _carriers: list[str]) -> str:
    return "".join(c + ("\u200b" if c.isalpha() and rng.random() < 0.3 else "") for c in text)


def _shouted(text: str, rng: random.Random, _carriers: list[str]) -> str:
    return text.upper()


def _inside_a_question(text: str, rng: random.Random, carriers: list[str]) -> str:
    carrier = rng.choice(_CARRIERS_RU if _language(text) == "ru" else carriers)
    return f"{carrier} {text}" if rng.random() < 0.5 else f"{text} {carrier}"


DISGUISES = {
    "leet": _leet,
    "spaced": _spaced,
    "base64": _base64,
    "lookalike": _lookalike,
    "zero_width": _zero_width,
    "shouted": _shouted,
    "inside_question": _inside_a_question,
}
