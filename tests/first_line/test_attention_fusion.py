"""The MiniLM encoder a training exports runs each layer's attention as one `QAttention` node and reads
every text exactly as the unfused int8 graph does; a graph whose weights cannot be matched stays unfused."""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from first_line.attention_fusion import EncoderShape, fused_int8_graph
from first_line.text_encoder import ONNX_FP32, ONNX_INT8, TextEncoder

MINILM = EncoderShape(heads=12, hidden=384, layers=6)
TEXTS = ["my card has not arrived yet", "hi", "Карта не пришла", "Why was I charged twice? " * 30, "ok 👍"]


@pytest.fixture
def unfused_int8(tmp_path, artifacts_dir):
    path = tmp_path / "unfused.int8.onnx"
    quantize_dynamic(str(artifacts_dir / "intents" / ONNX_FP32), str(path), weight_type=QuantType.QInt8)
    return path


def test_the_exported_encoder_runs_fused_attention_and_reads_as_the_unfused_graph(
    tmp_path, artifacts_dir, unfused_int8
):
    folder = artifacts_dir / "intents"
    nodes = [node.op_type for node in onnx.load(str(folder / ONNX_INT8)).graph.node]
    assert (nodes.count("QAttention"), nodes.count("MatMulInteger")) == (6, 6 * 3)
    fused = TextEncoder(folder, quantized=True, threads=1, cache_size=0, batch_size=1)
    plain_folder = shutil.copytree(folder, tmp_path / "plain")  # the same tokenizer files
    shutil.copy(unfused_int8, plain_folder / ONNX_INT8)
    plain = TextEncoder(plain_folder, quantized=True, threads=1, cache_size=0, batch_size=1)
    assert (fused.encode(TEXTS) == plain.encode(TEXTS)).all()


def test_a_graph_that_would_read_differently_stays_unfused(tmp_path, artifacts_dir, unfused_int8):
    """An fp32 graph whose feed-forward matrix is not the one the unfused int8 graph was quantised from:
    the fused graph reads the probes differently, so nothing is written; the true fp32 graph fuses."""
    fp32 = artifacts_dir / "intents" / ONNX_FP32
    model = onnx.load(str(fp32))
    feed_forward = next(i for i in model.graph.initializer if list(i.dims) == [384, 1536])
    changed_values = numpy_helper.to_array(feed_forward) + np.random.default_rng(0).normal(
        0, 0.05, (384, 1536)
    )
    feed_forward.CopyFrom(numpy_helper.from_array(changed_values.astype(np.float32), feed_forward.name))
    changed = tmp_path / "changed.fp32.onnx"
    onnx.save(model, str(changed))
    probes = [{"input_ids": np.array([[101, 2026, 4003, 102]]), "attention_mask": np.ones((1, 4), np.int64)}]
    out = tmp_path / "fused.int8.onnx"
    assert not fused_int8_graph(changed, unfused_int8, out, MINILM, probes, per_channel=False)
    assert not out.exists()
    assert fused_int8_graph(fp32, unfused_int8, out, MINILM, probes, per_channel=False)
    assert [node.op_type for node in onnx.load(str(out)).graph.node].count("QAttention") == 6
