"""What `twoline train next-intent|dialog-end` and `twoline eval next-intent|dialog-end` do.

Training files (default: the shared MultiDoGO finance train TSV and SGD Banks CSV, plus STAR bank
for the end of dialog) are split by the fixed hash rule of `dialog_corpora.held_out`: four fifths
train, one fifth is held out. The default evaluation set is the MultiDoGO dev file plus those
held-out dialogs. Evaluating a file the artifact was trained on scores only its held-out dialogs
(the manifest records the hash of every training file), so no figure comes from training data.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from first_line.artifacts import ArtifactError, Manifest, load_manifest, write_manifest
from first_line.dialog_corpora import Dialog, file_hash, held_out, read_dialogs
from first_line.dialog_end_model import DialogEndModel, evaluate_samples, train_dialog_end_model
from first_line.dialog_end_model import build_samples as end_samples
from first_line.dialog_intent_map import DialogIntentMap, load_dialog_intent_map
from first_line.domain import Domain
from first_line.e5_graph import reads_this_e5
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.next_intent_model import (
    NextIntentModel,
    baseline_hit_at_k,
    hit_at_k,
    train_next_intent_model,
    train_targets,
)
from first_line.next_intent_model import build_samples as next_samples
from first_line.russian_dialog_end import HEAD as RUSSIAN_HEAD
from first_line.russian_dialog_end import MAX_TRAINING_SAMPLES, RussianEndTraining

log = logging.getLogger("twoline.train")

MULTIDOGO_TRAIN = Path("multidogo_finance/finance_turn_level_train.tsv")
MULTIDOGO_DEV = Path("multidogo_finance/finance_turn_level_dev.tsv")
SGD = Path("sgd_banks/sgd_banks_turns_train.csv")
STAR = Path("star_bank/star_bank_turns.csv")
NEXT_INTENT_FILES = (MULTIDOGO_TRAIN, SGD)
DIALOG_END_FILES = (MULTIDOGO_TRAIN, SGD, STAR)
FILE_PREFIX = "file:"


def default_train_files(data_dir: Path, kind: str) -> list[Path]:
    names = NEXT_INTENT_FILES if kind == "next_intent" else DIALOG_END_FILES
    return [data_dir / name for name in names]


def default_eval_files(data_dir: Path, kind: str) -> list[Path]:
    return [data_dir / MULTIDOGO_DEV, *default_train_files(data_dir, kind)]


def _load(
    files: list[Path], max_dialogs: int | None = None
) -> tuple[list[Dialog], list[Dialog], dict[str, str]]:
    """(train dialogs, held-out dialogs, file name -> hash) of the training files (at most
    `max_dialogs` of each file, for quick runs)."""
    train, rest, hashes = [], [], {}
    for path in files:
        dialogs = read_dialogs(path)[:max_dialogs]
        hashes[FILE_PREFIX + path.name] = file_hash(path)
        train += [d for d in dialogs if not held_out(d)]
        rest += [d for d in dialogs if held_out(d)]
    return train, rest, hashes


def _combined_hash(hashes: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{k}={v};" for k, v in sorted(hashes.items())).encode()).hexdigest()[:16]


def eval_dialogs(files: list[Path], manifest: Manifest) -> list[Dialog]:
    """The dialogs of the files to score: all of a file the model never saw, the held-out fifth of a
    training file."""
    trained = {v for k, v in manifest.depends_on.items() if k.startswith(FILE_PREFIX)}
    out = []
    for path in files:
        dialogs = read_dialogs(path)
        out += [d for d in dialogs if held_out(d)] if file_hash(path) in trained else dialogs
    return out


def train_next_intent(
    data_dir: Path,
    domain_dir: Path,
    out_dir: Path,
    domain: Domain,
    files: list[Path] | None = None,
    seed: int = 13,
    max_dialogs: int | None = None,
) -> Manifest:
    intent_map = load_dialog_intent_map(domain_dir, domain)
    train, evaluation, hashes = _training_sets(data_dir, files, "next_intent", max_dialogs)
    log.info("training next-intent", extra={"count": len(train)})
    manifest = train_next_intent_model(train, evaluation, intent_map, out_dir, _combined_hash(hashes), seed)
    manifest = manifest.model_copy(update={"depends_on": manifest.depends_on | hashes})
    return write_manifest(out_dir, manifest)


def train_dialog_end(
    data_dir: Path,
    out_dir: Path,
    domain: Domain,
    files: list[Path] | None = None,
    seed: int = 13,
    max_dialogs: int | None = None,
    domain_dir: Path | None = None,
    russian_english_samples: int = MAX_TRAINING_SAMPLES,
) -> Manifest:
    """`domain_dir`: where the domain's Russian dialogs are (`russian_dialog_end.RUSSIAN_DIALOGS`), for a
    domain that speaks Russian; `russian_english_samples`: at most this many English samples beside them
    in the Russian head (each is embedded by E5, ~10 ms on a slow core)."""
    train, evaluation, hashes = _training_sets(data_dir, files, "dialog_end", max_dialogs)
    log.info("training dialog-end", extra={"count": len(train)})
    threshold = domain.settings.policy.dialog_end_threshold or 0.5
    russian = None
    if "ru" in domain.settings.languages:
        encoder = MultilingualEncoder(threads=2, cache_size=50_000)
        russian = (
            RussianEndTraining.for_domain(domain_dir, encoder, russian_english_samples)
            if domain_dir
            else RussianEndTraining(encoder, max_english=russian_english_samples)
        )
    manifest = train_dialog_end_model(
        train, evaluation, out_dir, _combined_hash(hashes), threshold, seed, russian=russian
    )
    manifest = manifest.model_copy(update={"depends_on": manifest.depends_on | hashes})
    return write_manifest(out_dir, manifest)


def _training_sets(
    data_dir: Path, files: list[Path] | None, kind: str, max_dialogs: int | None = None
) -> tuple[list[Dialog], list[Dialog], dict[str, str]]:
    """(train, evaluation, file hashes): a bank's own files, or the shared corpora plus MultiDoGO dev."""
    train, evaluation, hashes = _load(files or default_train_files(data_dir, kind), max_dialogs)
    if files is None and (data_dir / MULTIDOGO_DEV).is_file():
        evaluation += read_dialogs(data_dir / MULTIDOGO_DEV)[:max_dialogs]
    return train, evaluation, hashes


def evaluate_next_intent(artifact_dir: Path, files: list[Path], intent_map: DialogIntentMap) -> dict:
    model = NextIntentModel(artifact_dir)
    samples = next_samples(eval_dialogs(files, model.manifest), intent_map)
    targets = train_targets(artifact_dir)
    by_source: dict[str, dict] = {}
    for source in sorted({s.source for s in samples}):
        part = [s for s in samples if s.source == source]
        by_source[source] = {
            "hit@3": hit_at_k(model, part),
            "baseline_hit@3": baseline_hit_at_k(targets, part),
            "samples": len(part),
        }
    return {
        "hit@3": hit_at_k(model, samples),
        "baseline_hit@3": baseline_hit_at_k(targets, samples),
        "hit@1": hit_at_k(model, samples, 1),
        "samples": len(samples),
        "by_source": by_source,
        "files": [str(p) for p in files],
    }


def evaluate_dialog_end(artifact_dir: Path, files: list[Path], threshold: float) -> dict:
    model = DialogEndModel(artifact_dir)
    samples = end_samples(eval_dialogs(files, model.manifest))
    report = evaluate_samples(model, samples, threshold)
    report["by_source"] = {
        source: evaluate_samples(model, [s for s in samples if s.source == source], threshold)
        for source in sorted({s.source for s in samples})
    }
    report["files"] = [str(p) for p in files]
    return report


def missing_dialog_models(artifacts_dir: Path, domain_dir: Path, domain: Domain) -> list[str]:
    """Which of next_intent / dialog_end must be (re)trained for this domain."""
    todo = []
    policy = domain.settings.policy
    if policy.next_intent_buttons > 0:
        fingerprint = load_dialog_intent_map(domain_dir, domain).fingerprint
        try:
            manifest = load_manifest(artifacts_dir / "next_intent", "next_intent")
            if manifest.depends_on.get("dialog_intents") != fingerprint:
                todo.append("next_intent")
        except ArtifactError:
            todo.append("next_intent")
    if policy.dialog_end_threshold is not None:
        try:
            manifest = load_manifest(artifacts_dir / "dialog_end", "dialog_end")
            russian = "ru" in domain.settings.languages
            if russian and (RUSSIAN_HEAD not in manifest.files or not reads_this_e5(manifest.depends_on)):
                todo.append("dialog_end")  # from before the Russian head, or on another E5 graph
        except ArtifactError:
            todo.append("dialog_end")
    return todo


def ensure_dialog_models(data_dir: Path, domain_dir: Path, artifacts_dir: Path, domain: Domain) -> list[str]:
    """Train the dialog models that are missing or stale (part of `make run`)."""
    todo = missing_dialog_models(artifacts_dir, domain_dir, domain)
    if "next_intent" in todo:
        train_next_intent(data_dir, domain_dir, artifacts_dir / "next_intent", domain)
    if "dialog_end" in todo:
        train_dialog_end(data_dir, artifacts_dir / "dialog_end", domain, domain_dir=domain_dir)
    return todo
