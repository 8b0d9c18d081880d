"""Step 4 of the policy: a screenshot's text, read after the message is stored, classified with it."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from router.settings import Settings

if TYPE_CHECKING:
    from first_line.ocr import ScreenshotReader
    from router.store.dialog_store import DialogStore

log = logging.getLogger("twoline.ocr")


@lru_cache(maxsize=1)
def _shared_reader(threads: int = 1) -> ScreenshotReader:
    """One EasyOCR reader per process (~20 s and ~300 MB to load), loading in the background from
    start-up on: text messages do not wait for it, the first image does."""
    from first_line.ocr import ScreenshotReader

    reader = ScreenshotReader(threads)
    reader.start_warm_up()
    return reader


def load_screenshot_reader(settings: Settings) -> ScreenshotReader | None:
    """The reader (loading), or None when OCR is off or easyocr is not installed (images then get 503)."""
    from first_line.ocr import ocr_available

    if not settings.ocr_enabled:
        return None
    if not ocr_available():
        log.warning("easyocr is not installed: screenshots will be refused")
        return None
    return _shared_reader(settings.ocr_threads)


def read_screenshot(
    reader: ScreenshotReader, store: DialogStore, message_id: int, text: str, pixels: np.ndarray
) -> tuple[str, dict]:
    """(the text to classify: the client's words and the screenshot's, scores for the decision); the
    recognised text is stored with the message."""
    from first_line.ocr import query_text

    result = reader.run(pixels)
    store.set_ocr_text(message_id, result.text)
    scores = {
        "ocr": {
            "chars": len(result.text),
            "lines": len(result.lines),
            "confidence": round(result.mean_confidence, 3),
            "latency_ms": round(result.latency_ms, 1),
        }
    }
    return " ".join(part for part in (text.strip(), query_text(result.text)) if part), scores
