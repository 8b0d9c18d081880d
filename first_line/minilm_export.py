"""The packaged MiniLM's ONNX export (fp32 and int8 graphs, tokenizer files), built once per machine.

The intent model's fast variant and the censor, the grounding verifier and the prompt-injection screen
each carry the packaged MiniLM's export (~17 s to make, 7 s of it importing torch). It is a function of
the package's model files and of the exporting code and libraries, so it is cached under
`build_cache.cache_root()/minilm-<digest>` and copied from there: `make run` and the test suite's two
training fixtures export it once instead of once each. A fine-tuned encoder is exported afresh.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from first_line.artifacts import file_sha256
from first_line.build_cache import built_once, cache_root, replace_folder

EXPORT_FORMAT = 1
"""Bump when `encoder_training.export_encoder` writes different graphs: cached exports are then rebuilt."""
MANIFEST = "manifest.json"


def packaged_minilm() -> Path:
    from first_line.encoder_training import base_encoder_path

    return Path(base_encoder_path())


@lru_cache(maxsize=4)
def folder_digest(folder: Path) -> str:
    """sha256 over the name and digest of every file in `folder` (~0.2 s for MiniLM's 90 MB)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}:{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def export_identity(source: Path) -> dict[str, object]:
    """What a cached export was made from: the model's digest, the format, the exporting libraries."""
    return {
        "format": EXPORT_FORMAT,
        "source_sha256": folder_digest(source),
        "torch": version("torch"),
        "onnxruntime": version("onnxruntime"),
        "transformers": version("transformers"),
    }


def export_is_current(folder: Path, source: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return manifest == export_identity(source)


def cached_minilm_export(source: Path | None = None, folder: Path | None = None) -> Path:
    """The folder holding the export of `source` (the packaged MiniLM by default), exported first when it
    is missing or stale."""
    from first_line.encoder_training import export_encoder

    source = source or packaged_minilm()
    folder = folder or cache_root() / f"minilm-{folder_digest(source)[:16]}"

    def fill(work: Path) -> None:
        export_encoder(str(source), work)
        (work / MANIFEST).write_text(json.dumps(export_identity(source), indent=2))

    return built_once(
        folder,
        lambda folder: export_is_current(folder, source),
        lambda folder: replace_folder(folder, fill),
        hint="set XDG_CACHE_HOME to a writable folder",
    )


def copy_packaged_minilm(out_dir: Path, names: Iterable[str] | None = None) -> None:
    """Put the packaged MiniLM's export into `out_dir`: the files `names`, else all of them (graphs and
    tokenizer files)."""
    cached = cached_minilm_export()
    if names is None:
        names = [path.name for path in cached.iterdir() if path.is_file() and path.name != MANIFEST]
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(cached / name, out_dir / name)
