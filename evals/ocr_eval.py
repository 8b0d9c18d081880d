"""`twoline eval ocr`: character accuracy, topic accuracy and latency on rendered screenshots.

The screenshots come from `evals/screenshot_renderer.py` (bank SMS, transaction lists, app error dialogs;
several fonts and sizes, noise, blur, JPEG artefacts), each with the text drawn and its topic (an
intent of the bank). Character accuracy is 1 - (edit distance / length) between the recognised
and the drawn text, whitespace collapsed (micro-averaged over all characters, and per image).
Topic accuracy: the intent classifier on the OCR text (what the service does) equals the topic;
the same on the drawn text tells how much of the miss is OCR's and how much the classifier's.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from evals.screenshot_renderer import render
from first_line.ocr import ScreenshotReader, query_text


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions of characters."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def normalise(text: str) -> str:
    return " ".join(text.split())


def evaluate_ocr(
    intents_dir: Path, count: int = 60, seed: int = 1000, save_dir: Path | None = None, threads: int = 1
) -> dict:
    from first_line.intent_model import IntentModel

    started = time.perf_counter()
    reader = ScreenshotReader(threads)
    reader.warm_up()
    load_s = time.perf_counter() - started
    classifier = IntentModel(intents_dir)
    classifier.warm_up()
    rows = []
    for index in range(count):
        shot = render(seed + index)
        if save_dir:
            save_dir.mkdir(parents=True, exist_ok=True)
            shot.image.save(save_dir / f"{seed + index}_{shot.kind}_{shot.topic}.jpg", quality=90)
        result = reader.run(np.asarray(shot.image))
        truth, read = normalise(shot.text), normalise(result.text)
        errors = edit_distance(read, truth)
        rows.append(
            {
                "kind": shot.kind,
                "topic": shot.topic,
                "chars": len(truth),
                "errors": errors,
                "latency_ms": result.latency_ms,
                "topic_hit": classifier.predict(query_text(result.text)).top == shot.topic,
                "topic_hit_true_text": classifier.predict(query_text(shot.text)).top == shot.topic,
            }
        )
    return _summary(rows) | {
        "images": count,
        "threads": threads,
        "reader_load_s": round(load_s, 1),
        "load_average": os.getloadavg(),
    }


def _summary(rows: list[dict]) -> dict:
    latencies = np.array([r["latency_ms"] for r in rows])
    report = {
        "char_accuracy": 1 - sum(r["errors"] for r in rows) / sum(r["chars"] for r in rows),
        "char_accuracy_per_image_mean": float(
            np.mean([max(0.0, 1 - r["errors"] / r["chars"]) for r in rows])
        ),
        "topic_accuracy": float(np.mean([r["topic_hit"] for r in rows])),
        "topic_accuracy_on_true_text": float(np.mean([r["topic_hit_true_text"] for r in rows])),
        "latency_ms_mean": float(latencies.mean()),
        "latency_ms_p50": float(np.percentile(latencies, 50)),
        "latency_ms_p95": float(np.percentile(latencies, 95)),
    }
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    report["by_kind"] = {
        kind: {
            "images": len(part),
            "char_accuracy": 1 - sum(r["errors"] for r in part) / sum(r["chars"] for r in part),
            "topic_accuracy": float(np.mean([r["topic_hit"] for r in part])),
            "latency_ms_p50": float(np.percentile([r["latency_ms"] for r in part], 50)),
        }
        for kind, part in sorted(by_kind.items())
    }
    return report
