"""The packaged MiniLM is exported once per machine and copied: the intent model's fast variant and the
guardrails carry the same bytes."""

from __future__ import annotations

import json

from first_line.minilm_export import (
    MANIFEST,
    cached_minilm_export,
    export_identity,
    export_is_current,
    packaged_minilm,
)
from first_line.text_encoder import ONNX_FP32, ONNX_INT8


def test_the_fast_intent_model_carries_the_machines_export(artifacts_dir):
    cached = cached_minilm_export()  # built by the first fixture that needed it
    for graph in (ONNX_INT8, ONNX_FP32):
        assert (artifacts_dir / "intents" / graph).read_bytes() == (cached / graph).read_bytes()
    assert json.loads((artifacts_dir / "intents" / MANIFEST).read_text())["kind"] == "intents"


def test_an_export_of_another_format_or_library_is_stale(tmp_path):
    source = packaged_minilm()
    identity = export_identity(source)
    assert identity["source_sha256"] != "" and identity["format"] >= 1
    for change in ({"format": identity["format"] + 1}, {"onnxruntime": "0.0.1"}, {"source_sha256": "x"}):
        (tmp_path / MANIFEST).write_text(json.dumps(identity | change))
        assert not export_is_current(tmp_path, source)
    (tmp_path / MANIFEST).write_text(json.dumps(identity))
    assert export_is_current(tmp_path, source)
