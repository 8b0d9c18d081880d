"""The censor's `full` variant: its MiniLM fine-tuned to read tone (`twoline train censor --variant full`).

The packaged all-MiniLM places "your card is on its way, champ" next to "your card is on its way": it
was trained to match meaning, not manner. Fine-tuned on the censor's training rows (block vs pass, the
bank-style rows twice, plus a sample of the public corpora for breadth), it reads bank tone better
(session 13 experiment, `scripts/tone_finetune_experiment.py`: ROC-AUC 0.926 vs the packaged encoder's
0.909 on the bank-style dev rows). The censor's heads are then fitted on the exported int8 encoder's
embeddings, as with the packaged one, so what is trained is what is served, at the same cost per answer.

Only the censor's training split is used: the rows that tune its stackers and threshold stay unseen by
the encoder too. The grounding verifier and the injection screen keep the packaged encoder
(`packaged_encoder_source`).
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

from first_line.artifacts import ArtifactError, load_manifest
from guardrails.encoder import ENCODER_FILES
from guardrails.text import model_text
from guardrails.tone_data import OK, ToneExample

FAST = "fast"
"""The censor variant on the packaged MiniLM (what `make run` trains)."""
FULL = "full"
"""The censor variant on the tone-tuned MiniLM."""
BANK_REPEATS = 2
"""The bank-style rows are few (a few hundred per category at most) and the point of the exercise."""
OTHER_ROWS = 1500
"""Public tone rows sampled beside them, so the encoder does not forget insults and Russian."""
EPOCHS = 3
BLOCK = "block"


def tuning_rows(train: list[ToneExample], seed: int) -> tuple[list[str], list[str]]:
    """(model text, "block" or "ok"): the bank-style rows `BANK_REPEATS` times, `OTHER_ROWS` others."""
    rng = random.Random(seed)
    bank = [e for e in train if e.source == "bank"]
    others = [e for e in train if e.source != "bank"]
    rows = bank * BANK_REPEATS + rng.sample(others, min(OTHER_ROWS, len(others)))
    rng.shuffle(rows)
    return [model_text(e.text) for e in rows], [BLOCK if e.label else OK for e in rows]


def tune_tone_encoder(train: list[ToneExample], out_dir: Path, seed: int = 13) -> None:
    """Fine-tune the packaged MiniLM on `train` for `EPOCHS` and write its int8 export (`ENCODER_FILES`)
    into `out_dir` (~5 min an epoch on 2 cores)."""
    from first_line.encoder_training import export_encoder, fine_tune_encoder

    texts, labels = tuning_rows(train, seed)
    with tempfile.TemporaryDirectory(prefix="tone-encoder-") as work:
        model = fine_tune_encoder(texts, labels, Path(work) / "model", epochs=EPOCHS, seed=seed)
        export_encoder(model, Path(work) / "onnx")
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ENCODER_FILES:
            shutil.copy(Path(work) / "onnx" / name, out_dir / name)


def packaged_encoder_source(censor_dir: Path) -> Path | None:
    """The censor's folder when it carries the packaged MiniLM export (the grounding verifier and the
    injection screen copy it instead of exporting their own); None for a tone-tuned censor."""
    try:
        manifest = load_manifest(censor_dir, "censor")
    except ArtifactError:  # no censor yet, or an unreadable one: export afresh
        return None
    return None if manifest.variant == FULL else censor_dir
