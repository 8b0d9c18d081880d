"""Sentence embeddings at run time: the MiniLM encoder exported to ONNX, served by onnxruntime.

Mean pooling and L2 normalisation are inside the ONNX graph, so an embedding is one session run.
Embeddings of recent texts are cached: a dialog's context messages were embedded when they
arrived, so the context costs nothing extra on the next turn. A cache is one process's: the router
stores each client message's embedding with it (`reading_text`), and a turn that lands in another
worker, or after a restart, puts the stored ones back (`remember`) instead of embedding them again.

The int8 graph is quantised dynamically: each activation tensor gets one scale from its largest
value over the whole batch, padding included, so a message embedded in a padded batch differs
from the same message embedded alone (cosine 0.99 on average, down to 0.96 on the demo dev
split; fp32 is batch-independent). The service embeds each message alone, so whatever is
trained or calibrated for it (the intent and pools models) uses `batch_size=1`.

Texts the service embeds on every turn (the bot's scripted answers, for the likes model) are
*pinned*: embedded once per process and model file, outside the LRU, so client messages never
evict them and a second encoder on the same file (an A/B variant, a test) does not embed them again.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from first_line.artifacts import file_sha256
from first_line.onnx_session import ThreadedRuns, cpu_session

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

MAX_TOKENS = 64
ONNX_INT8 = "encoder.int8.onnx"
ONNX_FP32 = "encoder.fp32.onnx"

_PINNED: dict[tuple[str, int, int], dict[str, np.ndarray]] = {}
"""Pinned embeddings by model file (path, size, mtime: a retrained file is another key)."""
_PINNED_LOCK = threading.Lock()

_SHARED: ContextVar[dict[str, dict[str, np.ndarray]] | None] = ContextVar("shared_embeddings", default=None)
"""Inside `shared_embeddings()`: model file (its sha256, or a cache file's identity) -> text -> embedding
(computed with batch size 1)."""


@contextmanager
def shared_embeddings() -> Iterator[None]:
    """Encoders used in this block (in this thread) on model files of the same content share the
    embeddings they compute one text at a time; they are freed when the outermost block ends."""
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def shared_table(key: str) -> dict[str, np.ndarray] | None:
    """Inside a `shared_embeddings()` block, the texts embedded one at a time by the graph `key` names
    (its content, or a cache file's identity), else None."""
    tables = _SHARED.get()
    return None if tables is None else tables.setdefault(key, {})


def reading_text(vector: np.ndarray) -> str:
    """An embedding as stored text: base64 of its float32 values (exact: a stored reading is the reading)."""
    return base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode("ascii")


def reading_from_text(stored: str, dimension: int) -> np.ndarray | None:
    """The embedding `reading_text` wrote, or None when `stored` is not one of `dimension` values."""
    try:
        raw = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 4 * dimension:
        return None
    vector = np.frombuffer(raw, dtype=np.float32)
    return vector if np.isfinite(vector).all() else None


class TextEncoder:
    def __init__(
        self,
        model_dir: Path | str,
        quantized: bool = True,
        threads: int = 1,
        cache_size: int = 4096,
        batch_size: int = 64,
    ):
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.model_file = self.model_dir / (ONNX_INT8 if quantized else ONNX_FP32)
        self.threads = threads
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        """The API calls `encode` from several threads; the LRU's get-then-move is not atomic."""
        self._session = None
        self._runs = ThreadedRuns(self.model_file, threads)
        self._tokenizer = None
        self._pinned: dict[str, np.ndarray] = {}
        self._file_digest: str | None = None

    def warm_up(self) -> None:
        if self._session is not None:
            return
        from tokenizers import Tokenizer

        self._session = cpu_session(self.model_file, self.threads)
        tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer

    @property
    def dimension(self) -> int:
        self.warm_up()
        return int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Embeddings (n, d), float32, unit length; cached texts are not recomputed.

        `batch_size=1` gives exactly what the service computes: the int8 graph quantises
        activations per run, over the whole padded batch, so a text embedded in a batch differs
        slightly from the same text embedded alone (cosine down to 0.96). So the batches are made the
        same way in every process: by length, then text (a set's order changes with the process's hash
        seed, and with it every model trained on these embeddings)."""
        self.warm_up()
        batch_size = batch_size or self.batch_size
        shared = self._shared_table() if batch_size == 1 else None
        result: list[np.ndarray | None] = [self._cache_get(t, shared) for t in texts]
        todo = sorted({t for t, r in zip(texts, result, strict=True) if r is None}, key=lambda t: (len(t), t))
        batches = [todo[start : start + batch_size] for start in range(0, len(todo), batch_size)]
        computed: dict[str, np.ndarray] = {}
        for batch, vectors in zip(batches, self._runs(self._run, batches), strict=True):
            for text, vector in zip(batch, vectors, strict=True):
                computed[text] = vector
                self._cache_put(text, vector)
                if shared is not None:
                    shared[text] = vector
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([r if r is not None else computed[t] for t, r in zip(texts, result, strict=True)])

    def _run(self, texts: list[str], session: InferenceSession | None = None) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return (session or self._session).run(None, {"input_ids": ids, "attention_mask": mask})[0]

    @property
    def graph_digest(self) -> str:
        """The first 16 hex digits of the graph file's sha256: what a stored reading names as its encoder."""
        return self._graph_sha256()[:16]

    def _graph_sha256(self) -> str:
        if self._file_digest is None:
            self._file_digest = file_sha256(self.model_file)
        return self._file_digest

    def cached(self, text: str) -> np.ndarray | None:
        """`text`'s embedding if this process has it (pinned, shared or cached), without computing it."""
        return self._cache_get(text, self._shared_table())

    def remember(self, text: str, vector: np.ndarray) -> None:
        """Cache `vector` as `text`'s embedding: one this graph computed alone (`batch_size=1`) before,
        stored and read back (the caller checks `graph_digest`)."""
        self._cache_put(text, vector)

    def pin(self, texts: list[str]) -> None:
        """Embed `texts` one at a time (as a turn does) and keep them for this process and model file."""
        stat = self.model_file.stat()
        with _PINNED_LOCK:
            pinned = _PINNED.setdefault((str(self.model_file.resolve()), stat.st_size, stat.st_mtime_ns), {})
        for text in texts:
            if text not in pinned:
                pinned[text] = self.encode([text], batch_size=1)[0]
        self._pinned = pinned

    def _shared_table(self) -> dict[str, np.ndarray] | None:
        """This model file's embeddings inside a `shared_embeddings()` block, else None."""
        if _SHARED.get() is None:
            return None
        return shared_table(self._graph_sha256())

    def _cache_get(self, text: str, shared: dict[str, np.ndarray] | None = None) -> np.ndarray | None:
        vector = self._pinned.get(text)
        if vector is None and shared is not None:
            vector = shared.get(text)
        if vector is not None:
            return vector
        with self._cache_lock:
            vector = self._cache.get(text)
            if vector is not None:
                self._cache.move_to_end(text)
            return vector

    def _cache_put(self, text: str, vector: np.ndarray) -> None:
        if self.cache_size <= 0:
            return
        with self._cache_lock:
            self._cache[text] = vector
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
