"""Censor cost per answer on one thread, embedding cache off: wall and CPU time (CPU time is the
figure that transfers to an idle core when the machine is shared).

Without `--data`: four bank answers, each read 60 times with a different reference number. With
`--data`: every row of tone CSVs (`text,label[,language]`, such as the held-out bank-style sets), once
each, reported for the polite rows (label 0: what a censor mostly reads), the inappropriate ones and all.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_censor.py [--censor artifacts/censor]
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_censor.py \
        --data guardrails/data/bank_tone_heldout1[45678].csv [--no-huge-pages]

It runs with the models' weights in huge pages, as `twoline serve` does (router/huge_pages.py), unless
`--no-huge-pages`.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guardrails.censor import Censor
from router.huge_pages import huge_pages_on, restart_with_huge_pages

ANSWERS = [
    ("Your new card will be sent to your registered address within 5 working days [1]. "
     "You can track it in the app. Is there anything else I can help with?", "en"),
    ("A debt collector must tell you the name of the creditor and the amount owed [2]. "
     "If a collector threatens you, you can file a complaint.", "en"),
    ("Карта придёт в течение 5–7 рабочих дней. Если она не придёт, напишите нам.", "ru"),
    ("You have 60 days from the statement date to dispute a charge [1].", "en"),
]  # fmt: skip


def bench_answers(repeats: int = 60) -> list[tuple[str, str, str]]:
    """(text, language, group) of the four answers, each with `repeats` reference numbers."""
    return [(f"{text} Ref {r}.", language, "answers") for r in range(repeats) for text, language in ANSWERS]


def rows_of(paths: list[str]) -> list[tuple[str, str, str]]:
    rows = []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                group = "inappropriate" if row["label"].strip().lower() in ("1", "true") else "polite"
                rows.append((row["text"], row.get("language") or "en", group))
    return rows


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[int(len(ordered) * 0.9)]
    return (
        f"p50 {statistics.median(ordered):.2f} ms  p90 {p90:.2f} ms  mean {statistics.fmean(ordered):.2f} ms"
        f"  (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--censor", default="artifacts/censor")
    parser.add_argument("--data", nargs="*", default=[])
    parser.add_argument("--no-huge-pages", action="store_true", help="as the service runs without them")
    args = parser.parse_args()
    restart_with_huge_pages(not args.no_huge_pages, own_process=True)  # as `twoline serve` runs
    print(f"huge pages: {'on' if huge_pages_on() else 'off'}")
    censor = Censor(args.censor, threads=1)
    censor.warm_up()
    censor.encoder.cache_size = 0
    cpu: dict[str, list[float]] = {}
    wall: list[float] = []
    for text, language, group in rows_of(args.data) if args.data else bench_answers():
        started, started_cpu = time.perf_counter(), time.process_time()
        censor.run(text, language)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.setdefault(group, []).append((time.process_time() - started_cpu) * 1000)
    print(f"wall, all: {percentiles(wall)}")
    for group, values in cpu.items():
        print(f"cpu, {group}: {percentiles(values)}")
    if len(cpu) > 1:
        print(f"cpu, all: {percentiles([v for values in cpu.values() for v in values])}")


if __name__ == "__main__":
    main()
