"""The one way this project opens an onnxruntime session: CPU, `threads` threads for an operator, one
for running operators side by side (the graphs are sequential), every graph optimisation."""

from __future__ import annotations

from pathlib import Path


def cpu_session(model: Path | str | bytes, threads: int = 1):
    """An `onnxruntime.InferenceSession` for a model file or a serialised model."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
