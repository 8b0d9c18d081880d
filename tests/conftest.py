"""Shared fixtures: small real artifacts trained once per session, a fresh store per test.

Nothing is faked: the intent and pools models are real (the fast variant on a stratified slice
of the demo data), the database is a real SQLite file (PostgreSQL in tests marked integration).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import first_line  # noqa: F401  (first: torchvision_compat, before any test imports transformers)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
DOMAIN_DIR = REPO / "domains" / "demo_bank"
DATA_DIR = Path(os.environ.get("TWOLINE_DATA_DIR", REPO.parent / "shared" / "data"))
EXAMPLES_PER_INTENT = 30
SENTIMENT_EXAMPLES = 160
STAR_PAIRS = 300


@pytest.fixture(scope="session")
def domain():
    from first_line.domain import load_domain

    return load_domain(DOMAIN_DIR)


@pytest.fixture(scope="session")
def splits():
    from first_line.training_pipeline import load_splits

    return load_splits(DATA_DIR, DOMAIN_DIR, per_intent=EXAMPLES_PER_INTENT)


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory, splits, domain) -> Path:
    """intents + pools, sentiment and likes artifacts trained on small slices (about a minute on 2 cores)."""
    from first_line.intent_training import IntentTrainingConfig
    from first_line.text_encoder import shared_embeddings
    from first_line.training_pipeline import train_intents, train_pools
    from router.gates_training import train_likes_artifact, train_sentiment_artifact

    root = tmp_path_factory.mktemp("artifacts")
    with shared_embeddings():
        train_intents(splits, root / "intents", domain, IntentTrainingConfig(variant="fast"))
        train_pools(splits, root / "intents", root / "pools", domain)
        train_sentiment_artifact(DATA_DIR, DOMAIN_DIR, root, max_examples=SENTIMENT_EXAMPLES)
        train_likes_artifact(splits, domain, DATA_DIR, root, database_url=None, star_limit=STAR_PAIRS)
        train_dialog_models(root, domain)
    return root


DIALOGS_PER_FILE = 400


def train_dialog_models(root: Path, domain) -> None:
    """next-intent and dialog-end artifacts on the first dialogs of each shared corpus (seconds)."""
    from first_line.dialog_training import train_dialog_end, train_next_intent

    train_next_intent(DATA_DIR, DOMAIN_DIR, root / "next_intent", domain, max_dialogs=DIALOGS_PER_FILE)
    train_dialog_end(DATA_DIR, root / "dialog_end", domain, max_dialogs=DIALOGS_PER_FILE)


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
