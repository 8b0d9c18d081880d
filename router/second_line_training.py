"""Serving while the second line trains: the first `make run` on a fresh machine.

The guardrail models (censor, grounding verifier, injection screen) and the knowledge-base index take
about 6.5 of the first run's 11 minutes of training on 2 cores. So `twoline serve` trains the first line,
and when a second-line artifact is missing it writes `TRAINING_MARKER` into the artifacts folder, starts
`python -m router.second_line_training` to train the rest in a child process, and serves at once.

A worker that finds the marker starts without the second line: a knowledge question is handed off with
`second_line_unavailable`, as with no index, and /readyz says `"second_line": "training"`. Its
`SecondLineWatcher` looks for the marker every few seconds; once the child removes it, the watcher
loads the second line (guardrails included) into the running policy. A failed training leaves its error
in the marker: the second line stays off (it never answers unguarded) and /readyz says `"failed"`.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from router.settings import Settings

log = logging.getLogger("twoline.second_line")

TRAINING_MARKER = "second_line.training"
SecondLineState = Literal["training", "ready", "failed"]


def marker_path(settings: Settings) -> Path:
    return settings.artifacts_dir / TRAINING_MARKER


def second_line_missing(settings: Settings) -> list[str]:
    """What `train_second_line` would train: guardrail models, the index, the reranker (when on)."""
    from guardrails.training_pipeline import missing_guardrails
    from second_line.factory import index_missing, reranker_missing

    config, artifacts_dir = settings.second_line, settings.artifacts_dir
    missing = missing_guardrails(artifacts_dir)
    if index_missing(config, artifacts_dir):
        missing.append("index")
    if reranker_missing(config, artifacts_dir):
        missing.append("reranker")
    return missing


def start_training(settings: Settings) -> subprocess.Popen:
    """Write the marker and start the child that trains what is missing (it inherits the environment,
    so it reads the same settings)."""
    settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    marker_path(settings).write_text(json.dumps({"state": "training"}), encoding="utf-8")
    return subprocess.Popen([sys.executable, "-m", "router.second_line_training"])


def clear_stale_marker(settings: Settings) -> None:
    """A marker left by a run that was stopped while training: nothing trains now, so nobody waits."""
    marker_path(settings).unlink(missing_ok=True)


def train_second_line(settings: Settings) -> list[str]:
    """Train the missing guardrails, ingest the knowledge base when it has no index, train the reranker
    when it is configured and missing; returns what was done."""
    from guardrails.training_pipeline import ensure_guardrails_trained
    from second_line.factory import ensure_index, ensure_reranker

    done = ensure_guardrails_trained(settings.data_dir, settings.domain_dir, settings.artifacts_dir)
    if ensure_index(settings.second_line, settings.artifacts_dir, settings.data_dir):
        done.append("index")
    if ensure_reranker(settings.second_line, settings.artifacts_dir):
        done.append("reranker")
    return done


def pending_state(settings: Settings) -> SecondLineState | None:
    """None when no marker exists (the second line loads at start-up as usual)."""
    marker = marker_path(settings)
    try:
        state = json.loads(marker.read_text(encoding="utf-8")).get("state", "training")
    except FileNotFoundError:
        return None
    except ValueError:  # being written
        return "training"
    return "failed" if state == "failed" else "training"


class SecondLineWatcher:
    """In a worker: waits for the marker to go, then calls `attach` (which loads the second line)."""

    def __init__(self, settings: Settings, attach: Callable[[], None], poll_s: float = 2.0) -> None:
        self._settings = settings
        self._attach = attach
        self._poll_s = poll_s
        self._stop = threading.Event()
        self.state: SecondLineState = "training"
        self._thread = threading.Thread(target=self._run, name="second-line-watcher", daemon=True)

    def start(self) -> SecondLineWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            state = pending_state(self._settings)
            if state == "training":
                continue
            if state == "failed":
                self.state = "failed"
                log.error("the second line's training failed; it stays off (see the serve log)")
                return
            try:
                self._attach()
            except Exception:  # a worker keeps serving the first line
                self.state = "failed"
                log.exception("the second line could not be loaded; it stays off")
                return
            self.state = "ready"
            log.info("second line loaded")
            return


def main(settings: Settings | None = None) -> int:
    """The child `start_training` runs: train, then remove the marker (or leave the error in it)."""
    from router.logging_setup import configure_logging
    from router.settings import get_settings

    if settings is None:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_json)
    marker = marker_path(settings)
    started = time.perf_counter()
    try:
        done = train_second_line(settings)
    except Exception as exc:  # any failure reaches the workers through the marker
        log.exception("training the second line failed")
        marker.write_text(json.dumps({"state": "failed", "error": str(exc)[:500]}), encoding="utf-8")
        return 1
    marker.unlink(missing_ok=True)
    seconds = round(time.perf_counter() - started, 1)
    log.info("second line trained", extra={"artifact": ",".join(done), "seconds": seconds})
    return 0


if __name__ == "__main__":
    sys.exit(main())
