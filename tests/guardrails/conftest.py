"""Small real guardrail artifacts, trained once per session on slices of the shared data.

The encoder is exported once and shared by the censor and the grounding verifier (as `make run` does).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR, DOMAIN_DIR, trained_once

BANK_SHARE = 0.25
"""Of the 6,700 bank-style training rows (most of a small run's rows, and the only ones E5 reads), the
censor fixture trains on a quarter of each category and language: 191 s on all of them (session 21's host;
over 600 s on session 20's 2 GHz Zen 1 host, where MiniLM runs 4-5x slower)."""
GUARD_TRAINING_TIMEOUT_S = 1200
"""The first guardrail test also pays for `guard_artifacts`; a hang still fails, later."""


def pytest_collection_modifyitems(config, items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(GUARD_TRAINING_TIMEOUT_S))


@pytest.fixture(scope="session")
def guard_artifacts(tmp_path_factory) -> Path:
    """artifacts/censor, grounding and injection trained on slices (~2.5 min alone on 2 Zen 3 cores, ~4 min
    beside the first-line set)."""
    return trained_once(tmp_path_factory, "guard_artifacts", train_guardrails)


def guardrail_stages(root: Path) -> list[tuple[str, Callable[[], object]]]:
    """The guardrail fixture's trainings in order, named (`scripts/time_test_fixtures.py` times them)."""
    from guardrails.training_pipeline import (
        train_censor_artifact,
        train_grounding_artifact,
        train_injection_artifact,
    )

    return [
        (
            "censor",
            lambda: train_censor_artifact(DATA_DIR, DOMAIN_DIR, root, scale=0.08, bank_share=BANK_SHARE),
        ),
        ("grounding", lambda: train_grounding_artifact(DATA_DIR, root, articles=40, per_source=80)),
        ("injection", lambda: train_injection_artifact(DATA_DIR, DOMAIN_DIR, root, scale=0.15)),
    ]


def train_guardrails(root: Path) -> None:
    for _, train in guardrail_stages(root):
        train()


@pytest.fixture(scope="session")
def censor(guard_artifacts):
    from guardrails.censor import Censor

    model = Censor(guard_artifacts / "censor")
    model.warm_up()
    return model


@pytest.fixture(scope="session")
def grounding(guard_artifacts):
    from guardrails.grounding import GroundingChecker

    checker = GroundingChecker(guard_artifacts / "grounding")
    checker.warm_up()
    return checker
