"""What `twoline train` does: which data, which artifacts, and training only what is missing."""

from __future__ import annotations

import logging
from pathlib import Path

from first_line.artifacts import ArtifactError, Manifest, load_manifest
from first_line.domain import Domain
from first_line.intent_model import IntentModel, intent_encoder_dependency, reads_this_intent_encoder
from first_line.intent_training import IntentTrainingConfig, train_intent_model
from first_line.pools_model import POOL_MAP, train_pools_model
from first_line.text_encoder import shared_embeddings
from first_line.training_data import (
    Example,
    Splits,
    data_hash,
    demo_bank_examples,
    read_labelled_csv,
    split_examples,
    stratified_slice,
)

log = logging.getLogger("twoline.train")


def load_splits(
    data_dir: Path,
    domain_dir: Path,
    data_csv: Path | None = None,
    seed: int = 13,
    per_intent: int | None = None,
) -> Splits:
    """The training data: a bank's own `text,category` CSV, or the demo bank's recipe."""
    examples: list[Example] = (
        read_labelled_csv(data_csv) if data_csv else demo_bank_examples(data_dir, domain_dir, seed)
    )
    if per_intent:
        examples = stratified_slice(examples, per_intent, seed)
    return split_examples(examples, seed)


def train_intents(
    splits: Splits, intents_dir: Path, domain: Domain, config: IntentTrainingConfig
) -> Manifest:
    unknown = sorted({e.intent for e in splits.train} - set(domain.intents))
    if unknown:
        raise ValueError(f"training data has intents the domain does not define: {unknown[:10]}")
    log.info("training intents", extra={"variant": config.variant, "count": len(splits.train)})
    return train_intent_model(splits, intents_dir, config)


def train_pools(splits: Splits, intents_dir: Path, pools_dir: Path, domain: Domain) -> Manifest:
    model = IntentModel(intents_dir, threads=2, cache_size=100_000)
    model.encoder.warm_up()
    log.info("training pools", extra={"count": len(splits.train)})
    return train_pools_model(splits, model.encoder, domain.pool_by_intent, pools_dir, model.manifest)


def train_follow_ups(splits: Splits, intents_dir: Path, out_dir: Path, domain_dir: Path) -> Manifest | None:
    """The follow-up detector (`follow_up_model.py`) when the domain has written follow-ups."""
    from first_line.follow_up_model import read_follow_ups, train_follow_up_detector, written_follow_ups

    path = written_follow_ups(domain_dir, "en")
    if path is None:
        return None
    model = IntentModel(intents_dir, threads=2, cache_size=100_000)
    log.info("training follow-ups", extra={"count": len(splits.train)})
    depends_on = intent_encoder_dependency(model.manifest)
    return train_follow_up_detector(
        read_follow_ups(path), splits.train, splits.test, model.encoder, depends_on, out_dir
    )


def follow_ups_missing(intents_dir: Path, out_dir: Path, domain_dir: Path, intents_retrained: bool) -> bool:
    """The domain has written follow-ups and the detector is missing, read another intent encoder, or its
    intent model is being retrained."""
    from first_line.follow_up_model import KIND, written_follow_ups

    if written_follow_ups(domain_dir, "en") is None:
        return False
    if intents_retrained:
        return True
    try:
        manifest = load_manifest(out_dir, KIND)
        intents = load_manifest(intents_dir, "intents")
    except ArtifactError:
        return True
    return not reads_this_intent_encoder(manifest.depends_on, intents)


def train_russian_follow_ups(domain_dir: Path, out_dir: Path, domain: Domain) -> Manifest | None:
    """The Russian follow-up detector (on E5, what the Russian intent model reads) when the domain speaks
    Russian and has written Russian follow-ups."""
    from first_line.e5_graph import E5_DEPENDENCY
    from first_line.follow_up_model import (
        RUSSIAN_CUT,
        read_follow_ups,
        train_follow_up_detector,
        written_follow_ups,
    )
    from first_line.multilingual_encoder import MultilingualEncoder
    from first_line.russian_intent_training import DATA_DEPENDENCY, russian_examples, russian_messages_hash

    path = written_follow_ups(domain_dir, "ru")
    if "ru" not in domain.settings.languages or path is None:
        return None
    train, dev = russian_examples(domain_dir, domain)
    log.info("training Russian follow-ups", extra={"count": len(train)})
    encoder = MultilingualEncoder(threads=2, cache_size=100_000)
    depends_on = E5_DEPENDENCY | {DATA_DEPENDENCY: russian_messages_hash(domain_dir, domain)}  # its negatives
    follow_ups = read_follow_ups(path)
    return train_follow_up_detector(follow_ups, train, dev, encoder, depends_on, out_dir, cut=RUSSIAN_CUT)


def russian_follow_ups_missing(out_dir: Path, domain_dir: Path, domain: Domain) -> bool:
    """The domain speaks Russian, has written Russian follow-ups, and their detector is missing, was
    trained on another E5 graph or on other Russian messages (its negatives)."""
    from first_line.e5_graph import reads_this_e5
    from first_line.follow_up_model import KIND, written_follow_ups
    from first_line.russian_intent_training import DATA_DEPENDENCY, russian_messages_hash

    if "ru" not in domain.settings.languages or written_follow_ups(domain_dir, "ru") is None:
        return False
    try:
        depends_on = load_manifest(out_dir, KIND).depends_on
    except ArtifactError:
        return True
    on_old_data = depends_on.get(DATA_DEPENDENCY) != russian_messages_hash(domain_dir, domain)
    return not reads_this_e5(depends_on) or on_old_data


def train_russian_intents(
    splits: Splits, data_dir: Path, domain_dir: Path, out_dir: Path, domain: Domain
) -> Manifest | None:
    """The Russian intent model (`russian_intent_model.py`) with its translit reader (`translit_reader.py`)
    when the domain speaks Russian."""
    from first_line.russian_intent_training import (
        russian_examples,
        russian_message_files,
        train_russian_intent_model,
    )
    from first_line.translit_training import translit_corpus

    if "ru" not in domain.settings.languages:
        return None
    russian_train, russian_dev = russian_examples(domain_dir, domain)
    english = [e.text for e in splits.train]
    translit = translit_corpus(data_dir, domain_dir, english, [e.text for e in russian_train + russian_dev])
    writers = [*russian_message_files(domain_dir), russian_dev]  # each left out in turn for the calibration
    return train_russian_intent_model(
        splits.train, russian_train, russian_dev, out_dir, translit, writers=writers
    )


def russian_intents_missing(out_dir: Path, domain: Domain, domain_dir: Path) -> bool:
    """The domain speaks Russian and its Russian intent model is missing, for other intents, or stale (another
    E5 graph, another version's files, or other Russian messages than the domain's now)."""
    from first_line.e5_graph import reads_this_e5
    from first_line.russian_intent_model import KIND
    from first_line.russian_intent_training import DATA_DEPENDENCY, russian_messages_hash
    from first_line.translit_reader import FILES

    if "ru" not in domain.settings.languages:
        return False
    try:
        manifest = load_manifest(out_dir, KIND)
    except ArtifactError:
        return True
    stale = not reads_this_e5(manifest.depends_on) or any(name not in manifest.files for name in FILES)
    on_old_data = manifest.depends_on.get(DATA_DEPENDENCY) != russian_messages_hash(domain_dir, domain)
    return set(manifest.labels) != set(domain.intents) or stale or on_old_data


def missing_artifacts(intents_dir: Path, pools_dir: Path, domain: Domain) -> list[str]:
    """Which artifacts must be (re)trained for this domain: 'intents', 'pools' or neither."""
    try:
        intents = load_manifest(intents_dir, "intents")
    except ArtifactError:
        return ["intents", "pools"]
    if set(intents.labels) != set(domain.intents):
        return ["intents", "pools"]
    try:
        pools = load_manifest(pools_dir, "pools")
    except ArtifactError:
        return ["pools"]
    import json

    stale_map = json.loads((pools_dir / POOL_MAP).read_text(encoding="utf-8")) != domain.pool_by_intent
    stale_model = not reads_this_intent_encoder(pools.depends_on, intents)
    return ["pools"] if stale_map or stale_model else []


def ensure_trained(
    data_dir: Path,
    domain_dir: Path,
    artifacts_dir: Path,
    domain: Domain,
    variant: str = "fast",
    database_url: str | None = None,
) -> list[str]:
    """Train whatever is missing or stale (what `make run` does on a fresh machine)."""
    from first_line.dialog_training import ensure_dialog_models  # next intent, end of dialog
    from first_line.e5_graph import ensure_e5_graph
    from router.gates_training import ensure_gates_trained, missing_gates  # sentiment, likes, VOC risk

    ensure_e5_graph()  # built once per machine (~10 s), before workers or gates need it
    todo = missing_artifacts(artifacts_dir / "intents", artifacts_dir / "pools", domain)
    intents_dir, follow_ups_dir = artifacts_dir / "intents", artifacts_dir / "follow_ups"
    if follow_ups_missing(intents_dir, follow_ups_dir, domain_dir, intents_retrained="intents" in todo):
        todo.append("follow_ups")
    gates: list[str] = []
    russian = russian_intents_missing(artifacts_dir / "russian_intents", domain, domain_dir)
    todo += ["russian_intents"] if russian else []
    if russian_follow_ups_missing(artifacts_dir / "follow_ups_ru", domain_dir, domain):
        todo.append("follow_ups_ru")
    with shared_embeddings():  # each stage below embeds many of the messages the one before it did
        if todo or missing_gates(artifacts_dir, False, data_dir, domain_dir):
            splits = load_splits(data_dir, domain_dir)
            if "intents" in todo:
                config = IntentTrainingConfig(variant=variant)
                train_intents(splits, artifacts_dir / "intents", domain, config)
            if "pools" in todo:
                train_pools(splits, artifacts_dir / "intents", artifacts_dir / "pools", domain)
            if "follow_ups" in todo:
                train_follow_ups(splits, intents_dir, follow_ups_dir, domain_dir)
            if russian:
                train_russian_intents(splits, data_dir, domain_dir, artifacts_dir / "russian_intents", domain)
            if "follow_ups_ru" in todo:
                train_russian_follow_ups(domain_dir, artifacts_dir / "follow_ups_ru", domain)
            gates = ensure_gates_trained(
                data_dir, domain_dir, artifacts_dir, domain, splits, database_url, "intents" in todo
            )
        return todo + gates + ensure_dialog_models(data_dir, domain_dir, artifacts_dir, domain)


__all__ = [
    "data_hash",
    "ensure_trained",
    "follow_ups_missing",
    "load_splits",
    "missing_artifacts",
    "russian_follow_ups_missing",
    "russian_intents_missing",
    "train_follow_ups",
    "train_intents",
    "train_pools",
    "train_russian_follow_ups",
    "train_russian_intents",
]
