"""Times the first line's training (what the first `make run` trains) into an empty folder, with the
stages sharing their MiniLM embeddings (`shared_embeddings()`, as `ensure_trained` does) or, with
`--no-share`, each stage embedding its messages again. Prints the total and each stage's seconds.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/time_shared_embeddings.py            # shared
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/time_shared_embeddings.py --no-share

Session 21 (one host, one run after the other): 146 s shared, 185 s not (pools 6.6 vs 27.6 s, likes
13.2 vs 25.9 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
STAGE_LOGGERS = ("twoline.train", "twoline.train.sentiment", "twoline.train.likes", "twoline.train.gates",
                 "twoline.train.risk")  # fmt: skip


class StageClock(logging.Handler):
    """Notes when each training stage logs its start."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.marks: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.marks.append((time.perf_counter(), record.getMessage()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-share", action="store_true", help="each stage embeds its messages again")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()

    import first_line  # noqa: F401  (torchvision_compat first)
    from first_line import training_pipeline
    from first_line.domain import load_domain

    if args.no_share:
        training_pipeline.shared_embeddings = contextlib.nullcontext
    clock = StageClock()
    for name in STAGE_LOGGERS:
        logging.getLogger(name).addHandler(clock)
        logging.getLogger(name).setLevel(logging.INFO)
    domain_dir = REPO / "domains" / "demo_bank"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        started = time.perf_counter()
        training_pipeline.ensure_trained(
            args.data_dir,
            domain_dir,
            out,
            load_domain(domain_dir),
            database_url=f"sqlite:///{out / 'train.db'}",
        )
        ended = time.perf_counter()
    marks = [*clock.marks, (ended, "end")]
    stages: dict[str, float] = {}
    for (at, stage), (next_at, _) in pairwise(marks):
        stages[stage] = round(stages.get(stage, 0.0) + next_at - at, 1)
    print(json.dumps({"shared": not args.no_share, "seconds": round(ended - started, 1), "stages": stages}))


if __name__ == "__main__":
    main()
