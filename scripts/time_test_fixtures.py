"""Times each stage of the test suite's two shared training fixtures, alone, as the fixtures call them
(`tests/conftest.py: train_first_line`, `tests/guardrails/conftest.py: train_guardrails`). `make test` runs
them side by side on its two workers before most tests can start, so they set the suite's first minutes.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/time_test_fixtures.py first-line
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/time_test_fixtures.py guardrails
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import first_line  # noqa: F401  (first: torchvision_compat, as tests/conftest.py imports it)
from tests.conftest import DOMAIN_DIR, first_line_stages, training_slices
from tests.guardrails.conftest import guardrail_stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixture", choices=["first-line", "guardrails"])
    args = parser.parse_args()
    from first_line.domain import load_domain
    from first_line.text_encoder import shared_embeddings

    first = args.fixture == "first-line"
    with tempfile.TemporaryDirectory() as folder, shared_embeddings() if first else contextlib.nullcontext():
        root = Path(folder)
        if first:
            stages = first_line_stages(root, training_slices(), load_domain(DOMAIN_DIR))
        else:
            stages = guardrail_stages(root)
        total = 0.0
        for name, train in stages:
            started = time.perf_counter()
            train()
            seconds = time.perf_counter() - started
            total += seconds
            print(f"{name}: {seconds:.1f} s", flush=True)
        print(f"all: {total:.1f} s")


if __name__ == "__main__":
    main()
