"""The guardrails' own copy of the MiniLM encoder (int8 ONNX), exported into each artifact folder.

The intent model may fine-tune its encoder; the censor and the grounding verifier are trained on the
packaged MiniLM's embeddings, so each artifact carries the exact encoder it was trained on (23 MB).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from first_line.text_encoder import ONNX_INT8, TextEncoder

ENCODER_FILES = (ONNX_INT8, "tokenizer.json")


def export_int8_encoder(out_dir: Path) -> None:
    """Write the packaged MiniLM as `encoder.int8.onnx` + `tokenizer.json` into `out_dir` (copied from the
    machine's export, `first_line/minilm_export.py`; ~17 s the first time)."""
    from first_line.minilm_export import copy_packaged_minilm

    copy_packaged_minilm(out_dir, ENCODER_FILES)


def provide_encoder(out_dir: Path, source: Path | None = None) -> None:
    """Copy the encoder files from `source` (another guardrail artifact) when it has them, else export."""
    if source is not None and all((source / name).is_file() for name in ENCODER_FILES):
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ENCODER_FILES:
            shutil.copy(source / name, out_dir / name)
    else:
        export_int8_encoder(out_dir)


def load_encoder(folder: Path, threads: int = 1, cache_size: int = 2048, batch_size: int = 64) -> TextEncoder:
    """`batch_size=1` embeds each text alone, exactly as a model that serves one text at a time sees it
    (the int8 graph quantises a padded batch as a whole: cosine to the lone embedding down to 0.95)."""
    return TextEncoder(folder, quantized=True, threads=threads, cache_size=cache_size, batch_size=batch_size)
