"""What `twoline train censor|grounding|injection` does, and training the guardrails' artifacts when missing
(`twoline serve` / `make run` call `ensure_guardrails_trained` next to the first line's `ensure_trained`).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from first_line.artifacts import Manifest, is_trained
from guardrails.censor import censor_is_current
from guardrails.censor_training import train_censor
from guardrails.grounding_data import KB_ARTICLES, load_grounding_pairs
from guardrails.grounding_training import train_grounding
from guardrails.injection_data import load_injection_data
from guardrails.injection_training import train_injection
from guardrails.tone_data import load_tone_data
from guardrails.tone_encoder_training import packaged_encoder_source

log = logging.getLogger("twoline.train")

CENSOR = "censor"
GROUNDING = "grounding"
INJECTION = "injection"


def _hash(rows: list[tuple]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(row).encode())
    return digest.hexdigest()[:16]


def train_censor_artifact(
    data_dir: Path,
    domain_dir: Path,
    artifacts_dir: Path,
    seed: int = 13,
    scale: float = 1.0,
    encoder_from: Path | None = None,
    full: bool = False,
    bank_share: float = 1.0,
) -> Manifest:
    """`full`: on a MiniLM fine-tuned to read tone (~8 min more on 2 idle cores), else on the packaged one.
    `scale` and `bank_share` < 1 train on a sample (tests): see `load_tone_data`."""
    data = load_tone_data(data_dir, domain_dir, seed, scale, bank_share=bank_share)
    data_hash = _hash([(e.text, e.category) for e in data.train])
    return train_censor(data, artifacts_dir / CENSOR, seed, data_hash, encoder_from, tune_encoder=full)


def train_grounding_artifact(
    data_dir: Path,
    artifacts_dir: Path,
    seed: int = 13,
    articles: int = KB_ARTICLES,
    per_source: int | None = None,
    encoder_from: Path | None = None,
) -> Manifest:
    """`encoder_from` defaults to the censor's folder when it holds the packaged MiniLM export."""
    pairs = load_grounding_pairs(data_dir, seed, articles, per_source)
    data_hash = _hash([(p.claim, p.passages, p.supported) for p in pairs])
    source = encoder_from or packaged_encoder_source(artifacts_dir / CENSOR)
    return train_grounding(pairs, artifacts_dir / GROUNDING, seed, data_hash, source)


def train_injection_artifact(
    data_dir: Path,
    domain_dir: Path,
    artifacts_dir: Path,
    seed: int = 13,
    scale: float = 1.0,
    encoder_from: Path | None = None,
) -> Manifest:
    """`encoder_from` defaults to the censor's folder when it holds the packaged MiniLM export."""
    examples = load_injection_data(data_dir, domain_dir, seed, scale)
    data_hash = _hash([(e.text, e.label, e.source) for e in examples])
    source = encoder_from or packaged_encoder_source(artifacts_dir / CENSOR)
    return train_injection(examples, artifacts_dir / INJECTION, seed, data_hash, source)


def missing_guardrails(artifacts_dir: Path) -> list[str]:
    """The guardrail models to (re)train: missing, or a censor from an older version."""
    missing = [kind for kind in (CENSOR, GROUNDING, INJECTION) if not is_trained(artifacts_dir / kind, kind)]
    if CENSOR not in missing and not censor_is_current(artifacts_dir / CENSOR):
        missing.insert(0, CENSOR)
    return missing


def ensure_guardrails_trained(data_dir: Path, domain_dir: Path, artifacts_dir: Path) -> list[str]:
    """Train the censor, the grounding verifier and the injection classifier if missing (a few minutes on
    2 cores)."""
    todo = missing_guardrails(artifacts_dir)
    if CENSOR in todo:
        log.info("training missing artifact", extra={"artifact": CENSOR})
        train_censor_artifact(data_dir, domain_dir, artifacts_dir)
    if GROUNDING in todo:
        log.info("training missing artifact", extra={"artifact": GROUNDING})
        train_grounding_artifact(data_dir, artifacts_dir)
    if INJECTION in todo:
        log.info("training missing artifact", extra={"artifact": INJECTION})
        train_injection_artifact(data_dir, domain_dir, artifacts_dir)
    return todo
