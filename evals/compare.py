"""`twoline eval compare OLD.json NEW.json`: the regression gate before shipping a change.

Both files are eval reports (`twoline eval all --out DIR` writes `DIR/report.json`; every suite's
`--json` output works too). Numeric leaves are compared by their dotted path
(`intents.global_threshold.automation`). Only metrics whose direction is known take part:

- higher is better: accuracy, F1, precision, recall, automation, ROC-AUC, MRR, hit@k, block rate,
  recovery, resolved share;
- lower is better: latency, false blocks, calm clients read as upset, unsupported / hallucinated share,
  dislikes, errors, wall time;
- anything else (row counts, thresholds, sizes) is shown when it changes but never fails the gate.

A quality metric may drop by at most `tolerance` (absolute, default 0.01 = one point); a latency or
time may grow by at most `latency_tolerance` (relative, default 25 %: timings are noisy). A metric
present in OLD and missing in NEW fails the gate too: a suite that stopped reporting is a regression.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

Direction = Literal["higher", "lower", "neutral"]

LOWER_IS_BETTER = re.compile(
    r"latency|_ms(_|$)|seconds|wall_time|false_block|false_positive|false_upset|unsupported|hallucinat|dislike"
    r"|error|memory"
)
HIGHER_IS_BETTER = re.compile(
    r"accuracy|f1|precision|recall|automation|roc_auc|auc|mrr|hit@|block_rate|recovery|resolved"
)
TIMING = re.compile(r"latency|_ms(_|$)|seconds|wall_time")
IGNORED = re.compile(r"(^|\.)(curve|rows|count|threshold|created_at|model|target_precision|meta)(\.|$)")


class MetricChange(BaseModel):
    key: str
    old: float | None
    new: float | None
    direction: Direction
    worse: bool
    note: str = ""


class Comparison(BaseModel):
    changes: list[MetricChange]

    @property
    def regressions(self) -> list[MetricChange]:
        return [c for c in self.changes if c.worse]


def flatten(report: dict | list, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested report, keyed by dotted path (lists by index)."""
    items = report.items() if isinstance(report, dict) else enumerate(report)
    leaves: dict[str, float] = {}
    for key, value in items:
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value):
            leaves[path] = float(value)
        elif isinstance(value, dict | list):
            leaves |= flatten(value, path)
    return leaves


def direction_of(key: str) -> Direction:
    if IGNORED.search(key):
        return "neutral"
    leaf = key.lower()
    if LOWER_IS_BETTER.search(leaf):
        return "lower"
    if HIGHER_IS_BETTER.search(leaf):
        return "higher"
    return "neutral"


def compare_reports(
    old: dict, new: dict, tolerance: float = 0.01, latency_tolerance: float = 0.25
) -> Comparison:
    old_leaves, new_leaves = flatten(old), flatten(new)
    changes = []
    for key in sorted(old_leaves.keys() | new_leaves.keys()):
        before, after = old_leaves.get(key), new_leaves.get(key)
        direction = direction_of(key)
        if direction == "neutral":
            if before != after:
                changes.append(MetricChange(key=key, old=before, new=after, direction=direction, worse=False))
            continue
        if after is None:
            changes.append(
                MetricChange(key=key, old=before, new=None, direction=direction, worse=True, note="missing")
            )
            continue
        if before is None:
            changes.append(MetricChange(key=key, old=None, new=after, direction=direction, worse=False))
            continue
        worse, note = _is_worse(key, before, after, direction, tolerance, latency_tolerance)
        if worse or before != after:
            changes.append(
                MetricChange(key=key, old=before, new=after, direction=direction, worse=worse, note=note)
            )
    return Comparison(changes=changes)


def _is_worse(
    key: str, before: float, after: float, direction: Direction, tolerance: float, latency_tolerance: float
) -> tuple[bool, str]:
    if TIMING.search(key.lower()):
        limit = before * (1 + latency_tolerance)
        return after > limit, f"allowed ≤ {limit:.3g} (+{latency_tolerance:.0%})"
    if direction == "higher":
        return after < before - tolerance, f"allowed ≥ {before - tolerance:.4g}"
    return after > before + tolerance, f"allowed ≤ {before + tolerance:.4g}"


def load_report(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON report ({exc})") from exc


def format_comparison(comparison: Comparison) -> str:
    lines = []
    for change in comparison.changes:
        mark = "WORSE" if change.worse else ("" if change.direction == "neutral" else "ok")
        old = "—" if change.old is None else f"{change.old:.4g}"
        new = "—" if change.new is None else f"{change.new:.4g}"
        lines.append(f"{mark:5}  {change.key}: {old} → {new}  {change.note}".rstrip())
    worse = len(comparison.regressions)
    lines.append(f"{worse} regression(s)" if worse else "no regression")
    return "\n".join(lines)
