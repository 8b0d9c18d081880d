"""`twoline eval injection --data PATH [--benign-sample N] [--json]`: the prompt-injection screen.

On a labelled CSV (`text`, `label` 1/0 or true/false, 1 = injection; optional `language`, `category`),
three screens side by side: the rules alone, the trained model alone (at its tuned threshold) and the
two combined (what the second line runs: rule hit or model score at the threshold). For each: `recall`
(share of attacks flagged) and `false_positive_rate` (share of benign rows flagged), per language and
per category. With `--benign-sample N`, the same on N ordinary bank questions (BANKING77 + Ask CFPB
rows reserved from training, `injection_data.benign_sample`). `latency_ms_p50/p95`: one full
screen call per message (rules over all readings + model), one thread, wall time; `latency_cpu_ms_p50`
the CPU time of the same calls (the figure that transfers to an idle core).

JSON keys: `recall`, `false_positive_rate`, `roc_auc` (model score), `rules_only`, `model_only` (the
same keys for each alone), `per_language`, `per_category`, `benign_sample`, `latency_ms_p50`,
`latency_ms_p95`, `threshold`, `missed` and `false_positives` (examples).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from guardrails.injection import InjectionScreen
from guardrails.injection_data import InjectionExample, benign_sample, load_written

MAX_EXAMPLES = 15


def _rates(flagged: np.ndarray, labels: np.ndarray) -> dict:
    attacks, benign = labels == 1, labels == 0
    return {
        "recall": float(flagged[attacks].mean()) if attacks.any() else None,
        "false_positive_rate": float(flagged[benign].mean()) if benign.any() else None,
        "attacks": int(attacks.sum()),
        "benign": int(benign.sum()),
    }


def _screen(screen: InjectionScreen, rows: list[InjectionExample]) -> dict[str, np.ndarray]:
    """Per row: rule hit, model score, combined verdict, and the latency of one combined call."""
    rule, score, combined, latency, cpu = [], [], [], [], []
    for row in rows:
        started, started_cpu = time.perf_counter(), time.process_time()
        verdict = screen.run(row.text)
        latency.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        rule.append(verdict.rule is not None)
        score.append(verdict.model_score)
        combined.append(verdict.is_injection)
    return {
        "rule": np.array(rule),
        "score": np.array(score, dtype=float),
        "combined": np.array(combined),
        "latency": np.array(latency),
        "cpu": np.array(cpu),
    }


def _by(rows: list[InjectionExample], key: str, flags: dict[str, np.ndarray], labels: np.ndarray) -> dict:
    groups: dict[str, dict] = {}
    for value in sorted({getattr(r, key) for r in rows}):
        mask = np.array([getattr(r, key) == value for r in rows])
        groups[value] = {name: _rates(flag[mask], labels[mask]) for name, flag in flags.items()}
    return groups


def evaluate_injection(
    screen: InjectionScreen, data: Path, data_dir: Path | None = None, benign_size: int = 0
) -> dict:
    if not screen.has_model:
        raise ValueError("the screen has no trained model; run `twoline train injection`")
    screen.warm_up()
    rows = load_written(Path(data), source="eval")
    if not rows:
        raise ValueError(f"{data}: no rows")
    labels = np.array([r.label for r in rows])
    result = _screen(screen, rows)
    model = result["score"] >= screen.threshold
    flags = {"combined": result["combined"], "rules_only": result["rule"], "model_only": model}
    report = _rates(result["combined"], labels) | {
        "roc_auc": float(roc_auc_score(labels, result["score"])) if 0 < labels.sum() < len(labels) else None,
        "rules_only": _rates(result["rule"], labels),
        "model_only": _rates(model, labels),
        "threshold": screen.threshold,
        "per_language": _by(rows, "language", flags, labels),
        "per_category": {
            category: rates["combined"] | {"rules_only_recall": rates["rules_only"]["recall"]}
            for category, rates in _by(rows, "category", flags, labels).items()
        },
        "latency_ms_p50": float(np.percentile(result["latency"], 50)),
        "latency_ms_p95": float(np.percentile(result["latency"], 95)),
        "latency_cpu_ms_p50": float(np.percentile(result["cpu"], 50)),
        "missed": [r.text for r, f, y in zip(rows, result["combined"], labels, strict=True) if y and not f][
            :MAX_EXAMPLES
        ],
        "false_positives": [
            r.text for r, f, y in zip(rows, result["combined"], labels, strict=True) if f and not y
        ][:MAX_EXAMPLES],
    }
    if data_dir is not None and benign_size > 0:
        report["benign_sample"] = _benign_report(screen, benign_sample(data_dir, benign_size))
    return report


def _benign_report(screen: InjectionScreen, rows: list[InjectionExample]) -> dict:
    result = _screen(screen, rows)
    model = result["score"] >= screen.threshold
    report = {
        "rows": len(rows),
        "false_positive_rate": float(result["combined"].mean()),
        "rules_only_false_positive_rate": float(result["rule"].mean()),
        "model_only_false_positive_rate": float(model.mean()),
        "latency_ms_p50": float(np.percentile(result["latency"], 50)),
        "latency_cpu_ms_p50": float(np.percentile(result["cpu"], 50)),
        "per_source": {},
        "false_positives": [r.text for r, f in zip(rows, result["combined"], strict=True) if f][
            :MAX_EXAMPLES
        ],
    }
    for source in sorted({r.source for r in rows}):
        mask = np.array([r.source == source for r in rows])
        report["per_source"][source] = {
            "rows": int(mask.sum()),
            "false_positive_rate": float(result["combined"][mask].mean()),
        }
    return report


def _figure(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_report(report: dict) -> str:
    lines = [f"threshold {report['threshold']:.3f}  model ROC-AUC {_figure(report['roc_auc'], 4)}"]
    for name, row in (
        ("combined", report),
        ("rules only", report["rules_only"]),
        ("model only", report["model_only"]),
    ):
        lines.append(
            f"{name:>11}: recall {_figure(row['recall'])} ({row['attacks']} attacks)  "
            f"false positives {_figure(row['false_positive_rate'])} ({row['benign']} benign)"
        )
    for language, rates in report["per_language"].items():
        row = rates["combined"]
        lines.append(
            f"{language:>11}: recall {_figure(row['recall'])}  false positives "
            f"{_figure(row['false_positive_rate'])}"
        )
    sample = report.get("benign_sample")
    if sample:
        lines.append(
            f"benign sample ({sample['rows']} BANKING77 + Ask CFPB rows never trained on): false positives "
            f"{sample['false_positive_rate']:.4f} (rules only "
            f"{sample['rules_only_false_positive_rate']:.4f}, model only "
            f"{sample['model_only_false_positive_rate']:.4f}); latency p50 {sample['latency_ms_p50']:.2f} ms "
            f"(CPU {sample['latency_cpu_ms_p50']:.2f} ms)"
        )
    lines.append(
        f"latency p50 {report['latency_ms_p50']:.2f} ms  p95 {report['latency_ms_p95']:.2f} ms  "
        f"(CPU time p50 {report['latency_cpu_ms_p50']:.2f} ms)"
    )
    return "\n".join(lines)
