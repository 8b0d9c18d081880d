"""Times each stage of the test suite's two shared training fixtures, alone, as the fixtures call them
(`tests/conftest.py: train_first_line`, `tests/guardrails/conftest.py: train_guardrails`). `make test` runs
them side by side on its two workers before most tests can start, so they set the suite's first minutes.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/time_test_fixtures.py first-line
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/time_test_fixtures.py guardrails
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import first_line  # noqa: F401  (first: torchvision_compat, as tests/conftest.py imports it)
from tests import conftest as shared


def first_line_stages(root: Path) -> list[tuple[str, Callable[[], object]]]:
    from first_line.domain import load_domain
    from first_line.intent_training import IntentTrainingConfig
    from first_line.training_pipeline import (
        load_splits,
        train_follow_ups,
        train_intents,
        train_pools,
        train_russian_follow_ups,
        train_russian_intents,
    )
    from router.gates_training import train_likes_artifact, train_sentiment_artifact

    data, domain_dir = shared.DATA_DIR, shared.DOMAIN_DIR
    domain = load_domain(domain_dir)
    splits = load_splits(data, domain_dir, per_intent=shared.EXAMPLES_PER_INTENT)
    config = IntentTrainingConfig(calibration_folds=shared.CALIBRATION_FOLDS)
    return [
        ("intents", lambda: train_intents(splits, root / "intents", domain, config)),
        ("pools", lambda: train_pools(splits, root / "intents", root / "pools", domain)),
        ("follow-ups", lambda: train_follow_ups(splits, root / "intents", root / "follow_ups", domain_dir)),
        (
            "Russian intents",
            lambda: train_russian_intents(splits, data, domain_dir, root / "russian_intents", domain),
        ),
        ("Russian follow-ups", lambda: train_russian_follow_ups(domain_dir, root / "follow_ups_ru", domain)),
        (
            "sentiment",
            lambda: train_sentiment_artifact(data, domain_dir, root, max_examples=shared.SENTIMENT_EXAMPLES),
        ),
        (
            "likes",
            lambda: train_likes_artifact(
                splits, domain, data, root, database_url=None, star_limit=shared.STAR_PAIRS
            ),
        ),
        ("next-intent and dialog-end", lambda: shared.train_dialog_models(root, domain)),
    ]


def guardrail_stages(root: Path) -> list[tuple[str, Callable[[], object]]]:
    from guardrails.training_pipeline import (
        train_censor_artifact,
        train_grounding_artifact,
        train_injection_artifact,
    )
    from tests.guardrails.conftest import BANK_SHARE

    data, domain_dir = shared.DATA_DIR, shared.DOMAIN_DIR
    return [
        ("censor", lambda: train_censor_artifact(data, domain_dir, root, scale=0.08, bank_share=BANK_SHARE)),
        ("grounding", lambda: train_grounding_artifact(data, root, articles=40, per_source=80)),
        ("injection", lambda: train_injection_artifact(data, domain_dir, root, scale=0.15)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixture", choices=["first-line", "guardrails"])
    args = parser.parse_args()
    from first_line.text_encoder import shared_embeddings

    first = args.fixture == "first-line"
    with tempfile.TemporaryDirectory() as folder, shared_embeddings() if first else contextlib.nullcontext():
        stages = (first_line_stages if first else guardrail_stages)(Path(folder))  # as each fixture runs
        total = 0.0
        for name, train in stages:
            started = time.perf_counter()
            train()
            seconds = time.perf_counter() - started
            total += seconds
            print(f"{name}: {seconds:.1f} s", flush=True)
        print(f"all: {total:.1f} s")


if __name__ == "__main__":
    main()
