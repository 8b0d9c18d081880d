"""Trained artifacts and their manifests.

Every artifact folder (`artifacts/intents`, `artifacts/pools`, …) holds a `manifest.json`:
what was trained (kind, labels), on which data (hash, sizes), with what settings (seed,
variant, fitted parameters), how well (metrics) and when. The service checks it at start-up
and refuses a stale or mismatched artifact with a clear error, instead of answering with a
model trained for other intents.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class ArtifactError(RuntimeError):
    """An artifact is missing, incomplete or does not match the configuration."""


class Manifest(BaseModel):
    kind: str
    format_version: int = FORMAT_VERSION
    variant: str = "default"
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    seed: int
    data_hash: str
    data_sizes: dict[str, int]
    labels: list[str]
    params: dict[str, float] = {}
    metrics: dict[str, float] = {}
    depends_on: dict[str, str] = {}
    """Other artifacts this one was trained on top of: kind -> their data hash."""
    files: dict[str, str] = {}
    """File name -> sha256, filled by `write_manifest`."""


def write_manifest(folder: Path, manifest: Manifest) -> Manifest:
    files = {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    manifest = manifest.model_copy(update={"files": files})
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    return manifest


@contextmanager
def new_version(out_dir: Path) -> Iterator[Path]:
    """A fresh folder beside `out_dir` to write an artifact into.

    When the block succeeds, the folder replaces `out_dir` (the old one is moved aside first,
    then removed), so a reader never sees a half-written artifact; when it fails, the folder
    is removed and `out_dir` stays as it was.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        yield work
        old = out_dir.with_name(f".{out_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(work, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_manifest(
    folder: Path, kind: str, verify_files: bool = False, trained_by: str | None = None
) -> Manifest:
    """`trained_by`: the `twoline train` command that writes this kind, when it is not named after it."""
    path = folder / MANIFEST
    command = trained_by or kind
    if not path.is_file():
        raise ArtifactError(f"{folder}: no {MANIFEST}; train it with `twoline train {command}`")
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, json.JSONDecodeError) as exc:
        raise ArtifactError(
            f"{path}: unreadable manifest ({exc}); retrain with `twoline train {command}`"
        ) from exc
    if manifest.kind != kind:
        raise ArtifactError(f"{path}: holds a '{manifest.kind}' artifact, expected '{kind}'")
    if manifest.format_version != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format {manifest.format_version}, this code reads {FORMAT_VERSION}; "
            f"retrain with `twoline train {command}`"
        )
    for name, digest in manifest.files.items():
        file = folder / name
        if not file.is_file():
            raise ArtifactError(f"{folder}: {name} is missing; retrain with `twoline train {command}`")
        if verify_files and file_sha256(file) != digest:
            raise ArtifactError(f"{folder}: {name} does not match its manifest hash; retrain")
    return manifest


def is_trained(folder: Path, kind: str) -> bool:
    try:
        load_manifest(folder, kind)
    except ArtifactError:
        return False
    return True


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
