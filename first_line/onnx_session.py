"""The one way this project opens an onnxruntime session: CPU, `threads` threads for an operator, one
for running operators side by side (the graphs are sequential), every graph optimisation but one.

The one left out fuses a residual Add with the LayerNormalization after it into onnxruntime's
SkipLayerNormalization. On CPU its float path is a scalar loop (a sequential sum, a division per element),
slower than the two vectorised operators it replaces: ~36 us against ~4 us for the 20 x 384 activations
of a sentence (onnxruntime 1.32, Intel Xeon with AVX-512). An int8 MiniLM sentence took 1.63 ms with it
and 1.35 ms without, an E5 one 3.8 ms and 3.3 ms. The embeddings agree within 3e-7 before the int8
graphs quantise an activation; a rounding flip there moves one further (cosine 0.9996 on average, 0.986
at worst over 600 texts), about what batching does, so models are trained on what these sessions compute."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

SLOWER_FUSIONS = ["SkipLayerNormFusion"]
"""Graph optimisations whose fused kernel runs slower on CPU than what it replaces (see above)."""


def cpu_session(
    model: Path | str | bytes,
    threads: int = 1,
    save_optimized: Path | None = None,
    disabled: Sequence[str] = SLOWER_FUSIONS,
    profile_prefix: str | None = None,
):
    """An `onnxruntime.InferenceSession` for a model file or a serialised model. For looking inside
    (`scripts/bench_onnx_fusions.py`, the tests): `save_optimized` also writes the graph as optimised, to
    see which operators run; `disabled` names the optimisations left out; `profile_prefix` turns on
    onnxruntime's per-operator profiler, writing there."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if save_optimized is not None:
        options.optimized_model_filepath = str(save_optimized)
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(
        source, options, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled)
    )


def map_on_threads(run: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """`run` on each item, `threads` items at a time. onnxruntime lets go of the GIL while a graph runs,
    so one-text-at-a-time runs on a one-thread session from two threads embed a training set 1.4x (MiniLM)
    and 1.3x (E5, whose tokenizer is Python) as fast on 2 cores as the same runs one after the other on two
    operator threads, with the same numbers bit for bit: each run still computes one text."""
    if threads <= 1 or len(items) < 2:
        return [run(item) for item in items]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, items))


class ThreadedRuns:
    """An encoder's runs, one per batch: `run(batch, session)`. Batches of one text each go on `threads`
    threads at once over a one-thread session of `graph`, opened on first use (`map_on_threads`); other
    batches, or one thread, run one after the other on the encoder's own session (`session=None`)."""

    def __init__(self, graph: Path, threads: int) -> None:
        self.graph = graph
        self.threads = threads
        self._one_thread_session = None

    def __call__(self, run: Callable[[list[str], Any], R], batches: list[list[str]]) -> list[R]:
        if self.threads <= 1 or len(batches) < 2 or max(len(b) for b in batches) > 1:
            return [run(batch, None) for batch in batches]
        if self._one_thread_session is None:
            self._one_thread_session = cpu_session(self.graph, 1)
        session = self._one_thread_session
        return map_on_threads(lambda batch: run(batch, session), batches, self.threads)
