"""Where a first-line turn's time goes: `Assistant.handle` in process, one thread, timed per stage.

Runs the same traffic shape as `scripts/load_test.py` (distinct BANKING77 texts, several turns per
client) against a throw-away SQLite store and prints, per stage, the mean milliseconds per turn and
its share of the whole turn. The stages are the collaborators the assistant calls (store reads and
writes, sentiment, intent model, entities, likes, dialog gates, second line); "other" is what is
left (policy logic, rendering, logging).

    TWOLINE_ARTIFACTS_DIR=artifacts python scripts/profile_turn.py --turns 400 [--language ru]

`--language ru`: Russian messages instead (the domain's Russian training and dev messages, each with a
unique suffix), read by the Russian intent model on E5.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class StageTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._depth = 0

    def wrap(self, owner: object, attribute: str, stage: str) -> None:
        """Time calls of `owner.attribute` as `stage` (nested timed calls count for the outer one)."""
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            if self._depth:
                return original(*args, **kwargs)
            self._depth += 1
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started
                self._depth -= 1

        setattr(owner, attribute, timed)


def instrument(bot, timer: StageTimer) -> None:
    policy = bot.policy
    for name in ("accept_message", "record_decision", "dialog_history"):
        timer.wrap(bot.store, name, f"store.{name}")
    timer.wrap(bot.store, "turn_context", "store.reads")
    if bot.signals is not None:
        timer.wrap(bot.signals, "negativity", "sentiment")
        timer.wrap(bot.signals, "voc_risk", "store.reads")
    timer.wrap(policy.intents, "predict", "intent")
    if policy.russian is not None:
        timer.wrap(policy.russian.classifier, "predict", "intent (Russian)")
    timer.wrap(policy, "extract_entities", "entities")
    if policy.likes is not None:
        timer.wrap(policy.likes, "p_dislike", "likes")
    if policy.pools is not None:
        timer.wrap(policy.pools, "predict", "pools")
    if policy.dialog_gates is not None:
        timer.wrap(policy.dialog_gates, "apply", "dialog_gates")
    if policy.second_line is not None:
        timer.wrap(policy.second_line, "answer", "second_line")


def texts(data_dir: Path, domain_dir: Path, count: int, language: str) -> list[str]:
    files = [data_dir / "banking77" / "train.csv"]
    if language == "ru":
        files = [domain_dir / "training" / f"russian_messages_{part}.csv" for part in ("train", "dev")]
    rows = []
    for path in files:
        with open(path, newline="", encoding="utf-8") as handle:
            rows += [row["text"] for row in csv.DictReader(handle)]
    random.Random(11).shuffle(rows)
    return (rows * (count // len(rows) + 1))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--language", choices=["en", "ru"], default="en")
    args = parser.parse_args()

    from router.assistant import Assistant
    from router.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="twoline-profile-"))
    settings = Settings(database_url=f"sqlite:///{folder / 'profile.db'}", ocr_enabled=False)
    bot = Assistant.load(settings)
    timer = StageTimer()
    instrument(bot, timer)
    dialogs: dict[str, str] = {}
    messages = texts(settings.data_dir, settings.domain_dir, args.turns + 20, args.language)
    for index, text in enumerate(messages[:20]):  # warm-up, not timed
        bot.handle(f"warm-{index}", text)
    timer.seconds.clear()
    started = time.perf_counter()
    for index, text in enumerate(messages[20:]):
        client = f"client-{index % args.clients}"
        result = bot.handle(client, f"{text} (ref {index})", dialogs.get(client))
        if result.kind == "handoff":
            dialogs.pop(client, None)
        else:
            dialogs[client] = result.dialog_id
    total = time.perf_counter() - started
    per_turn = {
        stage: 1000 * s / args.turns for stage, s in sorted(timer.seconds.items(), key=lambda x: -x[1])
    }
    per_turn["other"] = 1000 * total / args.turns - sum(per_turn.values())
    report = {
        "turns": args.turns,
        "ms_per_turn": round(1000 * total / args.turns, 2),
        "stages_ms": {k: round(v, 2) for k, v in per_turn.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
