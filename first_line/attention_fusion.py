"""Each encoder layer's self-attention as one onnxruntime `QAttention` node, computing the same numbers.

A BERT layer exported by `torch.onnx` computes its attention in ~20 small operators (three projections,
reshapes, transposes, the scaled product, the mask, the softmax, the weighted sum), each paying
onnxruntime's per-operator cost. The transformer optimiser fuses them into one `Attention` node with the
three projections packed, and `quantize_dynamic` makes that a `QAttention`: one int8 product for Q, K and V
and the attention in one kernel. One thread, one sentence a run, the two graphs interleaved (Intel Xeon,
session 44): MiniLM 1.33 → 1.18 ms (-11.5%, 2,000 BANKING77 messages), E5 4.30 → 3.95 ms (-8.2%, 3,000
censor sentences).

The quantizer would give the packed matrix one scale where the unfused graph has one per matrix (MiniLM)
or per column (E5): `fused_int8_graph` puts the unfused graph's own int8 weights and scales into each
`QAttention` (one scale per column), so the fused graph computes what the unfused one computes, bit for
bit. It keeps the fused graph only when probe inputs read the same in both, so every model trained on the
unfused graph's embeddings reads the same ones. Only the attention is fused (`SLOWER_FUSIONS` in
`onnx_session.py` says why the layer-norm fusions are left out).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

LEFT_UNFUSED = (
    "enable_skip_layer_norm",
    "enable_bias_skip_layer_norm",
    "enable_embed_layer_norm",
    "enable_layer_norm",
    "enable_gelu",
    "enable_bias_gelu",
    "enable_gelu_approximation",
)
QUANTIZER_OPTIONS = {"DefaultTensorType": onnx.TensorProto.FLOAT}
"""The fused `Attention` node's output type, which the quantizer's shape inference cannot name."""


@dataclass(frozen=True)
class EncoderShape:
    heads: int
    hidden: int
    layers: int


def fuse_attention(fp32_graph: Path, out_path: Path, shape: EncoderShape) -> onnx.ModelProto:
    """Write `fp32_graph` with its self-attention blocks fused to `out_path`, and return it."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    for name in LEFT_UNFUSED:
        setattr(options, name, False)
    options.enable_attention = True
    model = optimize_model(
        str(fp32_graph), model_type="bert", num_heads=shape.heads, hidden_size=shape.hidden,
        optimization_options=options, opt_level=0,
    )  # fmt: skip
    model.save_model_to_file(str(out_path))
    return model.model


def fused_int8_graph(
    fp32_graph: Path,
    int8_graph: Path,
    out_path: Path,
    shape: EncoderShape,
    probes: list[dict[str, np.ndarray]],
    per_channel: bool,
) -> bool:
    """Write to `out_path` the int8 graph of `fp32_graph` with its attention fused and the Q, K and V
    weights of `int8_graph` (the unfused int8 graph `quantize_dynamic` made of it with `per_channel`).
    True when every layer fused and every probe feed reads the same in both, bit for bit; else
    `out_path` is not written."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from first_line.encoder_training import quiet_root_logger

    with tempfile.TemporaryDirectory(prefix="attention-fusion-") as work:
        fused = Path(work) / "fused.fp32.onnx"
        packed = _packed_weights(fuse_attention(fp32_graph, fused, shape))
        if len(packed) != shape.layers:
            return False
        quantized = Path(work) / "fused.int8.onnx"
        with quiet_root_logger():  # the quantizer logs a line per tensor on the root logger
            quantize_dynamic(
                str(fused), str(quantized), weight_type=QuantType.QInt8, per_channel=per_channel,
                extra_options=QUANTIZER_OPTIONS,
            )  # fmt: skip
        model = onnx.load(str(quantized))
        if not _use_unfused_weights(model, packed, onnx.load(str(fp32_graph)), int8_graph):
            return False
        candidate = Path(work) / "candidate.onnx"
        onnx.save(model, str(candidate))
        if not _reads_the_same(int8_graph, candidate, probes):
            return False
        shutil.copy(candidate, out_path)
    return True


def _packed_weights(fused: onnx.ModelProto) -> list[np.ndarray]:
    """Each fused `Attention` node's fp32 Q, K and V weights, side by side, in graph order."""
    weights = {i.name: numpy_helper.to_array(i) for i in fused.graph.initializer}
    return [weights[node.input[1]] for node in fused.graph.node if node.op_type == "Attention"]


def _use_unfused_weights(
    model: onnx.ModelProto, packed: list[np.ndarray], fp32: onnx.ModelProto, int8: Path
) -> bool:
    """Each `QAttention` of `model` given the int8 Q, K and V weights and scales of the unfused graph: its
    three fp32 matrices (`packed`) are found in `fp32` by value, their int8 forms in `int8` by the
    quantizer's names."""
    reference = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(int8)).graph.initializer}
    by_value = {numpy_helper.to_array(i).tobytes(): i.name for i in fp32.graph.initializer}
    initializers = {i.name: i for i in model.graph.initializer}
    attentions = [n for n in model.graph.node if n.op_type == "QAttention"]
    if len(attentions) != len(packed):
        return False
    for node, weight in zip(attentions, packed, strict=True):
        names = [by_value.get(np.ascontiguousarray(part).tobytes()) for part in np.split(weight, 3, axis=1)]
        if None in names or any(f"{name}_quantized" not in reference for name in names):
            return False
        columns = weight.shape[1] // 3
        values = np.concatenate([reference[f"{name}_quantized"] for name in names], axis=1)
        scales = np.concatenate(
            [np.broadcast_to(reference[f"{name}_scale"], (columns,)) for name in names]
        ).astype(np.float32)
        zero_points = np.concatenate(
            [np.broadcast_to(reference[f"{name}_zero_point"], (columns,)) for name in names]
        ).astype(values.dtype)
        for index, array in ((1, values), (4, scales), (7, zero_points)):
            initializers[node.input[index]].CopyFrom(numpy_helper.from_array(array, node.input[index]))
    return True


def _reads_the_same(unfused: Path, fused: Path, probes: list[dict[str, np.ndarray]]) -> bool:
    from first_line.onnx_session import cpu_session

    before, after = cpu_session(unfused), cpu_session(fused)
    return bool(probes) and all(
        np.array_equal(before.run(None, feed)[0], after.run(None, feed)[0]) for feed in probes
    )
