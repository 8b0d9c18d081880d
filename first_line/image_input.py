"""Checking an uploaded screenshot before anything is stored: base64, size, PNG/JPEG, not a bomb.

`decode_image` turns the request's `image_base64` into an RGB array or raises `ImageRejected`
with the API's stable code: `image_too_large` (413: over the decoded byte limit) or
`invalid_image` (422: not base64, not PNG/JPEG by its magic bytes and by Pillow's parser, broken
or truncated, or more pixels than the limit, which is what a decompression bomb is: a few
kilobytes that decode to gigabytes). The pixel count is read from the header and checked before
any pixel is decoded.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass

import numpy as np

MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}


class ImageRejected(ValueError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray
    """RGB, uint8, height x width x 3."""
    format: str
    size_bytes: int


def max_base64_chars(max_bytes: int) -> int:
    return 4 * ((max_bytes + 2) // 3)


def decode_image(data: str, max_bytes: int, max_pixels: int) -> DecodedImage:
    raw = _base64_bytes(data, max_bytes)
    kind = next((name for magic, name in MAGIC.items() if raw.startswith(magic)), None)
    if kind is None:
        raise ImageRejected(422, "invalid_image", "the image must be a PNG or a JPEG")
    return DecodedImage(_pixels(raw, kind, max_pixels), kind, len(raw))


def _base64_bytes(data: str, max_bytes: int) -> bytes:
    if data.startswith("data:") and "," in data[:100]:  # a data URL from a browser
        data = data.split(",", 1)[1]
    data = "".join(data.split())
    if len(data) > max_base64_chars(max_bytes):
        raise ImageRejected(413, "image_too_large", f"the image is over {max_bytes} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageRejected(422, "invalid_image", "image_base64 is not valid base64") from exc
    if not raw:
        raise ImageRejected(422, "invalid_image", "the image is empty")
    if len(raw) > max_bytes:
        raise ImageRejected(413, "image_too_large", f"the image is over {max_bytes} bytes")
    return raw


def _pixels(raw: bytes, kind: str, max_pixels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=[kind])
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected(
                    422, "invalid_image", f"the image has {width}x{height} pixels; the limit is {max_pixels}"
                )
            image.load()
            return np.asarray(image.convert("RGB"))
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(422, "invalid_image", "the image decompresses to too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(422, "invalid_image", "the image is broken or not a PNG/JPEG") from exc
