"""The API side of screenshot uploads: decode and check before the message is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from first_line.image_input import ImageRejected, decode_image
from router.errors import ApiError
from router.settings import Settings

if TYPE_CHECKING:
    from router.assistant import Assistant


def decode_upload(image_base64: str, bot: Assistant, settings: Settings) -> np.ndarray:
    """RGB pixels of the upload, or ApiError: 413 `image_too_large`, 422 `invalid_image`, 503
    `ocr_unavailable` (this deployment reads no images)."""
    try:
        pixels = decode_image(image_base64, settings.max_image_bytes, settings.max_image_pixels).pixels
    except ImageRejected as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    if bot.ocr is None:
        raise ApiError(503, "ocr_unavailable", "this service does not read images (OCR is off)")
    return pixels
