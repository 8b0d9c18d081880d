"""Training the first-line gates of issue 5: client sentiment, likes (dislike) and VOC risk.

One function per model, each what `twoline train <model>` runs, and `ensure_gates_trained`:
what `make run` / `twoline serve` trains when an artifact is missing or stale.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, select

from first_line.artifacts import ArtifactError, Manifest, load_manifest
from first_line.domain import Domain
from first_line.e5_graph import reads_this_e5
from first_line.intent_model import IntentModel, intent_encoder_dependency, reads_this_intent_encoder
from first_line.likes_data import stored_reaction_pairs
from first_line.likes_model import KIND as LIKES
from first_line.likes_training import likes_pairs, train_likes_model
from first_line.sentiment_model import KIND as SENTIMENT
from first_line.sentiment_training import DATA_DEPENDENCY, sentiment_data_hash, train_sentiment
from first_line.training_data import Splits
from first_line.voc_risk_model import KIND as RISK
from router.store.database import create_store_engine, migrate
from router.store.models import Dialog, Feedback
from router.voc_risk.simulator import SimulationConfig, intent_texts, simulate_clients
from router.voc_risk.training import RiskTrainingConfig, train_risk_model

log = logging.getLogger("twoline.train.gates")
MIN_SCORED_CLIENTS = 500
"""Below this many clients with a VOC score the store is too thin for the risk model: use synthetic."""
SYNTHETIC_CLIENTS = 3000


def train_sentiment_artifact(
    data_dir: Path, domain_dir: Path, artifacts_dir: Path, max_examples: int | None = None
) -> Manifest:
    """Sentiment with its English head on the intent model's encoder (E5 only if there is none yet)."""
    try:
        intents = IntentModel(artifacts_dir / "intents", threads=2, cache_size=0)
    except ArtifactError:
        log.warning("no intent model: sentiment trained without its English MiniLM head")
        return train_sentiment(data_dir, domain_dir, artifacts_dir / SENTIMENT, max_examples=max_examples)
    return train_sentiment(
        data_dir,
        domain_dir,
        artifacts_dir / SENTIMENT,
        max_examples=max_examples,
        english_encoder=intents.encoder,
        depends_on=intent_encoder_dependency(intents.manifest),
    )


def train_likes_artifact(
    splits: Splits,
    domain: Domain,
    data_dir: Path,
    artifacts_dir: Path,
    database_url: str | None,
    star_limit: int | None = None,
) -> Manifest:
    stored = []
    if database_url:
        engine = create_store_engine(database_url)
        migrate(engine)
        stored = stored_reaction_pairs(engine)
    train, test = likes_pairs(splits, domain, stored, data_dir, star_limit=star_limit)
    intents = IntentModel(artifacts_dir / "intents", threads=2, cache_size=200_000)
    intents.encoder.warm_up()
    depends_on = intent_encoder_dependency(intents.manifest)
    return train_likes_model(train, test, intents.encoder, artifacts_dir / LIKES, depends_on)


def synthetic_store_url(artifacts_dir: Path) -> str:
    """Where the SYNTHETIC client histories live: their own SQLite file, never the service's store."""
    return f"sqlite:///{artifacts_dir / 'synthetic' / 'synthetic_clients.db'}"


def scored_clients(database_url: str) -> int:
    engine = create_store_engine(database_url)
    migrate(engine)
    with engine.connect() as connection:
        query = (
            select(func.count(func.distinct(Dialog.client_id)))
            .join(Feedback, Feedback.dialog_id == Dialog.id)
            .where(Feedback.kind == "voc")
        )
        return int(connection.scalar(query) or 0)


def train_risk_artifact(
    data_dir: Path,
    artifacts_dir: Path,
    domain: Domain,
    database_url: str | None = None,
    clients: int = SYNTHETIC_CLIENTS,
    report_dir: Path | None = None,
) -> tuple[Manifest, str]:
    """Train on `database_url` if it holds enough scored clients, else on the synthetic store
    (simulated first when empty). Returns the manifest and the store it read."""
    url = database_url if database_url and scored_clients(database_url) >= MIN_SCORED_CLIENTS else None
    if url is None:
        url = synthetic_store_url(artifacts_dir)
        if scored_clients(url) == 0:
            log.info("simulating synthetic clients", extra={"count": clients})
            texts = intent_texts(data_dir / "banking77" / "train.csv")
            simulate_clients(create_store_engine(url), texts, SimulationConfig(clients=clients))
    config = RiskTrainingConfig(threshold=domain.settings.policy.voc_risk_threshold)
    return train_risk_model(create_store_engine(url), artifacts_dir / RISK, config, report_dir), url


def missing_gates(
    artifacts_dir: Path, intents_retrained: bool, data_dir: Path, domain_dir: Path
) -> list[str]:
    """Which of sentiment / likes / risk must be (re)trained: missing, on another intent encoder or E5 graph,
    or (sentiment) trained on other examples than `data_dir` and `domain_dir` hold now."""
    try:
        intents = load_manifest(artifacts_dir / "intents", "intents")
    except ArtifactError:
        intents = None
    todo = []
    for kind in (SENTIMENT, LIKES, RISK):
        try:
            manifest = load_manifest(artifacts_dir / kind, kind)
        except ArtifactError:
            todo.append(kind)
            continue
        on_old_encoder = kind in (LIKES, SENTIMENT) and (  # both read the intent model's encoder
            intents_retrained or not reads_this_intent_encoder(manifest.depends_on, intents)
        )
        on_old_e5 = kind == SENTIMENT and not reads_this_e5(manifest.depends_on)  # its Russian head
        on_old_data = kind == SENTIMENT and not _trained_on_this_data(manifest, data_dir, domain_dir)
        if on_old_encoder or on_old_e5 or on_old_data:
            todo.append(kind)
    return todo


def _trained_on_this_data(manifest: Manifest, data_dir: Path, domain_dir: Path) -> bool:
    return manifest.depends_on.get(DATA_DEPENDENCY) == sentiment_data_hash(data_dir, domain_dir)


def ensure_gates_trained(
    data_dir: Path,
    domain_dir: Path,
    artifacts_dir: Path,
    domain: Domain,
    splits: Splits,
    database_url: str | None,
    intents_retrained: bool,
) -> list[str]:
    todo = missing_gates(artifacts_dir, intents_retrained, data_dir, domain_dir)
    if SENTIMENT in todo:
        train_sentiment_artifact(data_dir, domain_dir, artifacts_dir)
    if LIKES in todo:
        train_likes_artifact(splits, domain, data_dir, artifacts_dir, database_url)
    if RISK in todo:
        train_risk_artifact(data_dir, artifacts_dir, domain, database_url)
    return todo
