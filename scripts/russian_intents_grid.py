"""The grid the Russian intent model's defaults were chosen on (dev log-loss after the temperature).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/russian_intents_grid.py

For each number of English training messages an intent (0, 20, 40, 80, all), Russian weight (1, 3, 10) and
C (5, 20, 80): fit the head on the English slice + the domain's Russian training messages and labels,
fit the temperature on the Russian dev messages and print dev accuracy and log-loss. The test set is not
read. Embeds every English training message once (~2 minutes on 2 cores).
"""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.linear_model import LogisticRegression

from first_line.domain import load_domain
from first_line.intent_model import softmax
from first_line.intent_training import fit_temperature, mean_log_loss
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.russian_intent_training import russian_examples
from first_line.training_data import stratified_slice
from first_line.training_pipeline import load_splits
from router.settings import Settings


def main() -> None:
    settings = Settings()
    domain = load_domain(settings.domain_dir)
    splits = load_splits(settings.data_dir, settings.domain_dir)
    russian_train, russian_dev = russian_examples(settings.domain_dir, domain)
    encoder = MultilingualEncoder(threads=2, cache_size=100_000)
    labels = sorted(domain.intents)
    dev_x = encoder.encode([e.text for e in russian_dev])
    dev_y = np.array([labels.index(e.intent) for e in russian_dev])
    for per_intent, weight, c in itertools.product(
        (0, 20, 40, 80, 10_000), (1.0, 3.0, 10.0), (5.0, 20.0, 80.0)
    ):
        english = stratified_slice(splits.train, per_intent, 13) if per_intent else []
        rows = english + russian_train
        x = encoder.encode([e.text for e in rows])
        y = np.array([labels.index(e.intent) for e in rows])
        sample_weight = np.array([1.0] * len(english) + [weight] * len(russian_train))
        head = LogisticRegression(C=c, max_iter=3000).fit(x, y, sample_weight=sample_weight)
        logits = head.decision_function(dev_x)
        probabilities = softmax(logits / fit_temperature(logits, dev_y))
        accuracy = (probabilities.argmax(1) == dev_y).mean()
        loss = mean_log_loss(probabilities, dev_y)
        setting = f"english {per_intent:>5}  weight {weight:>4}  C {c:>4}"
        print(f"{setting}: dev accuracy {accuracy:.3f}  log-loss {loss:.3f}", flush=True)


if __name__ == "__main__":
    main()
