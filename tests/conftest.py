"""Shared fixtures: small real artifacts trained once per session, a fresh store per test.

Nothing is faked: the intent and pools models are real (the fast variant on a stratified slice
of the demo data), the database is a real SQLite file (PostgreSQL in tests marked integration).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

import first_line  # noqa: F401  (first: torchvision_compat, before any test imports transformers)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
DOMAIN_DIR = REPO / "domains" / "demo_bank"
DATA_DIR = Path(os.environ.get("TWOLINE_DATA_DIR", REPO.parent / "shared" / "data"))
EXAMPLES_PER_INTENT = 30
SENTIMENT_EXAMPLES = 1000
STAR_PAIRS = 300
CALIBRATION_FOLDS = 2
"""Folds of the intent model's calibration (5 in a real training). With 2 the fold path stays under test
and the fixture's intent training takes 26-32 s instead of 46-69 s on a Zen 3 host."""
RUSSIAN_END_ENGLISH_SAMPLES = 1500
"""English samples beside the domain's Russian ones in the Russian end-of-dialog head (each is read by E5):
the fixture's dialog-end training 15-20 s instead of 35-52 s on a Zen 3 host."""


@pytest.fixture(scope="session")
def domain():
    from first_line.domain import load_domain

    return load_domain(DOMAIN_DIR)


def training_slices():
    """The slices of the demo data the first-line fixture trains on: EXAMPLES_PER_INTENT a label."""
    from first_line.training_pipeline import load_splits

    return load_splits(DATA_DIR, DOMAIN_DIR, per_intent=EXAMPLES_PER_INTENT)


@pytest.fixture(scope="session")
def splits():
    return training_slices()


def cli_environment(artifacts_dir: Path) -> dict[str, str]:
    """The environment of a `python -m router.cli` subprocess on the test artifacts and the demo domain."""
    return {
        "TWOLINE_ARTIFACTS_DIR": str(artifacts_dir),
        "TWOLINE_DATA_DIR": str(DATA_DIR),
        "TWOLINE_DOMAIN_DIR": str(DOMAIN_DIR),
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
    }


def trained_once(tmp_path_factory: pytest.TempPathFactory, name: str, train: Callable[[Path], None]) -> Path:
    """The folder `train` fills, trained once per test run. Under pytest-xdist (`make test` runs two
    workers) the workers share it: the first to get here trains, the others wait for it and read the
    same files. Tests copy a shared folder before they change anything in it."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    root = base / f"shared-{name}"
    done = root / ".trained"
    with FileLock(f"{root}.lock"):
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            train(root)
            done.touch()
    return root


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory, splits, domain) -> Path:
    """intents + pools, Russian intents, sentiment, likes and dialog artifacts trained on small slices (~3 min
    alone on 2 Zen 3 cores, ~5 min beside the guardrail set)."""
    return trained_once(tmp_path_factory, "artifacts", lambda root: train_first_line(root, splits, domain))


def first_line_stages(root: Path, splits, domain) -> list[tuple[str, Callable[[], object]]]:
    """The first-line fixture's trainings in order, named (`scripts/time_test_fixtures.py` times them)."""
    from first_line.intent_training import IntentTrainingConfig
    from first_line.training_pipeline import (
        train_follow_ups,
        train_intents,
        train_pools,
        train_russian_follow_ups,
        train_russian_intents,
    )
    from router.gates_training import train_likes_artifact, train_sentiment_artifact

    config = IntentTrainingConfig(calibration_folds=CALIBRATION_FOLDS)
    return [
        ("intents", lambda: train_intents(splits, root / "intents", domain, config)),
        ("pools", lambda: train_pools(splits, root / "intents", root / "pools", domain)),
        ("follow-ups", lambda: train_follow_ups(splits, root / "intents", root / "follow_ups", DOMAIN_DIR)),
        (
            "Russian intents",
            lambda: train_russian_intents(splits, DATA_DIR, DOMAIN_DIR, root / "russian_intents", domain),
        ),
        ("Russian follow-ups", lambda: train_russian_follow_ups(DOMAIN_DIR, root / "follow_ups_ru", domain)),
        (
            "sentiment",
            lambda: train_sentiment_artifact(DATA_DIR, DOMAIN_DIR, root, max_examples=SENTIMENT_EXAMPLES),
        ),
        (
            "likes",
            lambda: train_likes_artifact(
                splits, domain, DATA_DIR, root, database_url=None, star_limit=STAR_PAIRS
            ),
        ),
        ("next-intent and dialog-end", lambda: train_dialog_models(root, domain)),
    ]


def train_first_line(root: Path, splits, domain) -> None:
    from first_line.text_encoder import shared_embeddings

    with shared_embeddings():  # the stages embed many of the same messages
        for _, train in first_line_stages(root, splits, domain):
            train()


DIALOGS_PER_FILE = 400


def train_dialog_models(root: Path, domain) -> None:
    """next-intent and dialog-end artifacts on the first dialogs of each shared corpus (seconds)."""
    from first_line.dialog_training import train_dialog_end, train_next_intent

    train_next_intent(DATA_DIR, DOMAIN_DIR, root / "next_intent", domain, max_dialogs=DIALOGS_PER_FILE)
    train_dialog_end(
        DATA_DIR,
        root / "dialog_end",
        domain,
        max_dialogs=DIALOGS_PER_FILE,
        domain_dir=DOMAIN_DIR,
        russian_english_samples=RUSSIAN_END_ENGLISH_SAMPLES,
    )


@pytest.fixture
def settings(tmp_path, artifacts_dir):
    from router.settings import Settings

    return Settings(
        domain_dir=DOMAIN_DIR,
        data_dir=DATA_DIR,
        artifacts_dir=artifacts_dir,
        database_url=f"sqlite:///{tmp_path / 'twoline.db'}",
        client_api_key="test-client-key",
        operator_api_key="test-operator-key",
        use_ner=False,
        log_json=False,
    )


@pytest.fixture
def assistant(settings):
    from router.assistant import Assistant

    return Assistant.load(settings)


@pytest.fixture
def api(settings, assistant):
    from fastapi.testclient import TestClient

    from router.app import create_app

    with TestClient(create_app(settings, assistant)) as client:
        client.headers["Authorization"] = "Bearer test-client-key"
        yield client
