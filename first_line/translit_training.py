"""Trains the translit reader's two files (`translit_reader.py`) into the Russian intent model's artifact.

- Detector: the English training messages (label 0) against the domain's Russian messages written in
  Latin letters (label 1), each three times in a habit drawn at random (`transliteration.TranslitStyle`);
  TF-IDF on character 1-4 grams within words, logistic regression with balanced classes.
- Vocabulary: the Russian words of the domain (its Russian messages, answers, labels and clarifying
  questions, counted twice), of the Russian toxic sentences and of MASSIVE's Russian utterances in the
  shared data (~11,600 word skeletons seen at least twice), and the English training messages' words.

Chosen on `evals/data/translit_intents_dev.csv` (252 translit messages by a writer who saw only the intent
list) and English messages (session 30): at the cut 0.8 all 252 dev messages are read as translit, none of
the 1,141 English held-out messages (the detector alone took "hiya": no Russian word in it) and none of 235
English messages full of Slavic names
(`evals/data/english_with_slavic_names.csv`). The Russian intent model on the dev readings: 94.8% accuracy,
93.7% answered at 97.5% precision; on the letter rules alone, without the vocabulary, 87.7% accuracy; on
the Latin text as written, 34.5%. Training the intent model on round-tripped Russian messages too moved dev
by a row or two either way: not done.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from first_line.translit_reader import DETECTOR, VOCABULARY
from first_line.transliteration import TranslitStyle, Vocabulary, to_latin

SPELLINGS_PER_MESSAGE = 3
RUSSIAN_TOXIC = Path("toxicity_ru") / "rudetoxifier_10k_toxic.txt"
RUSSIAN_MASSIVE = Path("russian_intents") / "ru_massive_dev.csv"
DOMAIN_TEXTS = ("responses/ru.yaml", "intents.yaml", "pools.yaml", "training/neutral_client_messages_ru.txt")


@dataclass(frozen=True)
class TranslitCorpus:
    english: list[str]
    """English client messages: what the detector must leave alone."""
    russian: list[str]
    """Russian client messages in Cyrillic: written in Latin letters, what the detector must find."""
    vocabulary_texts: list[str]
    """Russian text whose words the vocabulary learns (the English words come from `english`)."""


def translit_corpus(
    data_dir: Path, domain_dir: Path, english: list[str], russian_messages: list[str]
) -> TranslitCorpus:
    """The corpus from the domain's messages and the shared Russian text that is present."""
    domain = [
        (domain_dir / name).read_text(encoding="utf-8")
        for name in DOMAIN_TEXTS
        if (domain_dir / name).exists()
    ]
    shared: list[str] = []
    if (data_dir / RUSSIAN_TOXIC).exists():
        shared += (data_dir / RUSSIAN_TOXIC).read_text(encoding="utf-8").splitlines()
    if (data_dir / RUSSIAN_MASSIVE).exists():
        with open(data_dir / RUSSIAN_MASSIVE, newline="", encoding="utf-8") as handle:
            shared += [row["text"] for row in csv.DictReader(handle)]
    own = russian_messages + domain
    return TranslitCorpus(english, russian_messages, shared + own * 2)


def train_translit_reader(corpus: TranslitCorpus, work: Path, seed: int = 13) -> dict[str, float]:
    """Writes the detector and the vocabulary into `work`; returns their sizes for the manifest."""
    rng = random.Random(seed)
    translit = [
        to_latin(t, TranslitStyle.draw(rng)) for t in corpus.russian for _ in range(SPELLINGS_PER_MESSAGE)
    ]
    detector = _detector(seed).fit(corpus.english + translit, [0] * len(corpus.english) + [1] * len(translit))
    joblib.dump(detector, work / DETECTOR)
    vocabulary = Vocabulary.build(corpus.vocabulary_texts, corpus.english)
    (work / VOCABULARY).write_text(json.dumps(vocabulary.to_json(), ensure_ascii=False), encoding="utf-8")
    return {
        "translit_detector_rows": float(len(corpus.english) + len(translit)),
        "translit_russian_words": float(len(vocabulary.russian)),
        "translit_english_words": float(len(vocabulary.english)),
    }


def _detector(seed: int) -> Pipeline:
    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2),
        LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced", random_state=seed),
    )
