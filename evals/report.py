"""`twoline eval all --out DIR [--quick]`: every suite, one report a bank can ship from.

Writes `DIR/report.json` (machine-readable: `twoline eval compare OLD NEW` gates on it) and
`DIR/report.html` (self-contained: plots inline as PNG data, no external file or script).

Each suite is one function `(settings, quick, out_dir) -> dict` registered in `SUITES`; a suite's
dict is its own `--json` output. The page renders every suite the same way: its headline numbers,
its plots (keys ending in `plot` / `plots` that name PNG files) and its worst examples (lists of
dicts under `wrong_answers`, `worst_examples` or `examples`). A suite that fails is reported with its
error and the run exits non-zero; the others still run.
"""

from __future__ import annotations

import base64
import html
import json
import platform
import subprocess
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from evals import gates_b_suites
from evals.compare import direction_of
from router.settings import Settings

Suite = Callable[[Settings, bool, Path], dict]
EXAMPLE_KEYS = ("costliest_intents", "wrong_answers", "worst_examples", "examples")
MAX_EXAMPLE_ROWS = 15


def _intents_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from evals.intents_eval import evaluate_intents
    from first_line.domain import load_domain

    domain = load_domain(settings.domain_dir)
    return evaluate_intents(settings, domain, None, out, with_baseline=not quick)


def _russian_intents_suite(settings: Settings, quick: bool, out: Path) -> dict:
    """The Russian intent model on its held-out Russian messages (`eval intents --language ru`)."""
    from evals.russian_intents_eval import evaluate_russian_intents
    from first_line.domain import load_domain

    return evaluate_russian_intents(settings, load_domain(settings.domain_dir))


def _translit_intents_suite(settings: Settings, quick: bool, out: Path) -> dict:
    """Russian typed in Latin letters (`eval intents --language ru --data TRANSLIT_DATA`)."""
    from evals.russian_intents_eval import TRANSLIT_DATA, evaluate_russian_intents
    from first_line.domain import load_domain

    return evaluate_russian_intents(settings, load_domain(settings.domain_dir), TRANSLIT_DATA)


def _pools_suite(settings: Settings, quick: bool, out: Path) -> dict:
    """The clarifying questions: how many unsure messages a button click recovers, at what precision."""
    from evals.intents_eval import evaluate_intents
    from first_line.domain import load_domain

    report = evaluate_intents(settings, load_domain(settings.domain_dir), None, out, with_baseline=False)
    keys = (
        "pools_recovery",
        "automation",
        "precision",
        "automation_with_pools",
        "precision_with_pools",
        "plot",
    )
    return {key: report[key] for key in keys}


def _dialogs_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from evals.dialog_replay import default_dialogs, replay_dialogs

    return replay_dialogs(settings, default_dialogs(settings, quick), progress=True)


def _follow_ups_suite(settings: Settings, quick: bool, out: Path) -> dict:
    """The blind written follow-ups ("how long?" after "I ordered a new card"), English and Russian, each
    replayed after its context message."""
    from evals.dialog_replay import read_dialogs, replay_dialogs

    return {name: replay_dialogs(settings, read_dialogs(path)) for name, path in FOLLOW_UP_SETS.items()}


def _ab_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from evals.ab_report import ab_report
    from first_line.domain import load_domain
    from router.store.database import create_store_engine, migrate

    experiment = load_domain(settings.domain_dir).settings.experiment
    if experiment is None:
        return {"skipped": "no experiment configured in domain.yaml"}
    engine = create_store_engine(settings.database_url)
    migrate(engine)
    report = ab_report(engine, experiment.name, [v.name for v in experiment.variants])
    return report.model_dump()


REPO = Path(__file__).resolve().parent.parent
RETRIEVAL_QUESTIONS = REPO / "evals" / "data" / "askcfpb_paraphrases_test.jsonl"
HALLUCINATION_QUESTIONS = REPO / "evals" / "data" / "hallucination_dev.jsonl"
FOLLOW_UP_SETS = {
    "en": REPO / "evals" / "data" / "followups_test.csv",
    "ru": REPO / "evals" / "data" / "followups_ru_test.csv",
}
TONE_SETS = {
    path.stem.removeprefix("bank_tone_"): path
    for path in sorted((REPO / "guardrails" / "data").glob("bank_tone_heldout*.csv"))
}
QUICK_HALLUCINATION_QUESTIONS = 12


def _retrieval_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from evals.retrieval_eval import evaluate_retrieval
    from knowledge_base.encoder import PassageEncoder
    from second_line.factory import index_dir
    from second_line.retrieval import HybridRetriever

    config = settings.second_line
    retriever = HybridRetriever(
        index_dir(config, settings.artifacts_dir),
        PassageEncoder(threads=config.encoder_threads),
        config.candidates,
        config.rrf_k,
        config.dense_weight,
        config.bm25_weight,
    )
    return evaluate_retrieval(retriever, RETRIEVAL_QUESTIONS)


def _hallucination_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from evals.hallucination_eval import evaluate_hallucination
    from first_line.domain import load_domain
    from second_line.factory import build_second_line

    answerer = build_second_line(
        settings.second_line,
        settings.artifacts_dir,
        load_domain(settings.domain_dir),
        settings.domain_dir,
        use_ner=settings.use_ner,
    )
    if answerer is None:
        raise RuntimeError("the second line is off or has no index; run `twoline ingest`")
    questions = HALLUCINATION_QUESTIONS
    if quick:  # evenly spaced over the file: answerable and unanswerable questions alike
        out.mkdir(parents=True, exist_ok=True)
        lines = [line for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
        step = max(1, len(lines) // QUICK_HALLUCINATION_QUESTIONS)
        questions = out / "questions_quick.jsonl"
        picked = lines[::step][:QUICK_HALLUCINATION_QUESTIONS]
        questions.write_text("\n".join(picked) + "\n", encoding="utf-8")
    return evaluate_hallucination(answerer, questions)


def _grounding_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from evals.grounding_eval import evaluate_grounding
    from guardrails.grounding import GroundingChecker

    checker = GroundingChecker(settings.artifacts_dir / "grounding")
    return evaluate_grounding(checker, settings.data_dir / "begin_wow" / "begin_dev_wow.tsv")


def _tone_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from evals.tone_eval import evaluate_tone, served_censor

    censor = served_censor(settings)
    sets = dict(TONE_SETS)
    held_out_toxicity = settings.artifacts_dir / "censor" / "heldout_toxicity_en.csv"
    if held_out_toxicity.is_file() and not quick:
        sets["toxicity_en"] = held_out_toxicity
    return {name: evaluate_tone(censor, path) for name, path in sets.items()}


def _injection_suite(settings: Settings, quick: bool, out: Path) -> dict:
    """The prompt-injection screen on its held-out CSV and on benign bank questions never trained on."""
    from evals.injection_eval import evaluate_injection
    from guardrails.injection import InjectionScreen
    from guardrails.injection_data import WRITTEN_HELDOUT

    screen = InjectionScreen(settings.artifacts_dir / "injection")
    report = evaluate_injection(screen, WRITTEN_HELDOUT, settings.data_dir, 500 if quick else 2000)
    missed = [{"kind": "missed attack", "text": t} for t in report.pop("missed")]
    flagged = [{"kind": "false positive", "text": t} for t in report.pop("false_positives")]
    return report | {"examples": missed + flagged}


def _client_mood_suite(settings: Settings, quick: bool, out: Path) -> dict:
    """Client sentiment on the blind set of bank clients' messages labelled by mood (`eval sentiment`)."""
    from evals.sentiment_eval import BLIND_SET, sentiment_report

    return sentiment_report(settings, BLIND_SET)


def _likes_suite(settings: Settings, quick: bool, out: Path) -> dict:
    from evals.likes_eval import evaluate_likes
    from first_line.domain import load_domain

    return evaluate_likes(settings, load_domain(settings.domain_dir), out)


SUITES: dict[str, Suite] = {
    "intents": _intents_suite,
    "russian_intents": _russian_intents_suite,
    "translit_intents": _translit_intents_suite,
    "pools": _pools_suite,
    "dialogs": _dialogs_suite,
    "follow_ups": _follow_ups_suite,
    "retrieval": _retrieval_suite,
    "hallucination": _hallucination_suite,
    "grounding": _grounding_suite,
    "tone": _tone_suite,
    "injection": _injection_suite,
    "likes": _likes_suite,
    "client_mood": _client_mood_suite,
    "ab": _ab_suite,
    "next_intent": gates_b_suites.next_intent_suite,
    "dialog_end": gates_b_suites.dialog_end_suite,
    "ocr": gates_b_suites.ocr_suite,
}
"""Suite name -> runner, in report order. Other issues' suites register here."""


def run_all(settings: Settings, out_dir: Path, quick: bool, only: list[str] | None = None) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report: dict = {"meta": _meta(settings, quick), "suites": {}, "errors": {}, "wall_time_s": {}}
    for name, suite in SUITES.items():
        if only and name not in only:
            continue
        suite_started = time.perf_counter()
        try:
            report["suites"][name] = suite(settings, quick, out_dir / name)
        except Exception as exc:  # one broken suite must not hide the others
            report["errors"][name] = f"{type(exc).__name__}: {exc}"
            report["meta"].setdefault("tracebacks", {})[name] = traceback.format_exc(limit=5)
        report["wall_time_s"][name] = round(time.perf_counter() - suite_started, 1)
    report["wall_time_s"]["total"] = round(time.perf_counter() - started, 1)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(report), encoding="utf-8")
    return report


def _meta(settings: Settings, quick: bool) -> dict:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit or None,
        "quick": quick,
        "domain": str(settings.domain_dir),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
    }


# -- HTML ---------------------------------------------------------------------------------------
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1d2330}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #dde3ee;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #dde3ee;padding:.25rem .6rem;
text-align:left;vertical-align:top}th{background:#f3f6fb}.num{text-align:right;font-variant-numeric:tabular-nums}
.error{background:#fdecec;border:1px solid #e8a3a3;padding:.6rem}.meta{color:#5b6475}
img{max-width:100%;border:1px solid #dde3ee;margin:.5rem 0}
"""


def render_html(report: dict) -> str:
    meta = report["meta"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>twoline eval report</title><style>{STYLE}</style></head><body>",
        "<h1>twoline eval report</h1>",
        f"<p class='meta'>{_e(meta['created_at'])} · commit {_e(meta.get('commit') or '?')} · "
        f"{'quick' if meta['quick'] else 'full'} run · {_e(meta['machine'])} · "
        f"total {report['wall_time_s'].get('total', 0)} s</p>",
        _overview(report),
    ]
    for name, suite in report["suites"].items():
        parts.append(_suite_section(name, suite, report["wall_time_s"].get(name)))
    for name, error in report["errors"].items():
        parts.append(f"<h2 id='{_e(name)}'>{_e(name)}</h2><div class='error'>failed: {_e(error)}</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _overview(report: dict) -> str:
    rows = []
    for name, suite in report["suites"].items():
        metrics = [(k, v) for k, v in _headline(suite).items() if direction_of(k) != "neutral"]
        headline = ", ".join(f"{k} {_fmt(v)}" for k, v in metrics[:6]) or suite.get("skipped", "")
        rows.append(f"<tr><td><a href='#{_e(name)}'>{_e(name)}</a></td><td>{_e(headline)}</td></tr>")
    for name, error in report["errors"].items():
        rows.append(
            f"<tr><td><a href='#{_e(name)}'>{_e(name)}</a></td><td class='error'>{_e(error)}</td></tr>"
        )
    return "<h2>Overview</h2><table><tr><th>suite</th><th>headline</th></tr>" + "".join(rows) + "</table>"


def _headline(suite: dict) -> dict:
    """The suite's top-level numbers, and those one level down (`bank.roc_auc`, `fused.recall@5`)."""
    numbers = {}
    for key, value in suite.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            numbers[key] = value
        elif isinstance(value, dict):
            for inner, inner_value in value.items():
                if isinstance(inner_value, int | float) and not isinstance(inner_value, bool):
                    numbers[f"{key}.{inner}"] = inner_value
    return numbers


def _suite_section(name: str, suite: dict, seconds: float | None) -> str:
    parts = [f"<h2 id='{_e(name)}'>{_e(name)}</h2>"]
    if seconds is not None:
        parts.append(f"<p class='meta'>{seconds} s</p>")
    if "skipped" in suite:
        parts.append(f"<p>skipped: {_e(suite['skipped'])}</p>")
    numbers = _headline(suite)
    if numbers:
        parts.append("<table><tr><th>metric</th><th>value</th></tr>")
        parts += [f"<tr><td>{_e(k)}</td><td class='num'>{_fmt(v)}</td></tr>" for k, v in numbers.items()]
        parts.append("</table>")
    for key, value in suite.items():
        if (
            isinstance(value, dict)
            and len(value) > 8
            and all(isinstance(v, int | float) for v in value.values())
        ):
            parts.append(f"<h3>{_e(key)}</h3>{_table([{'key': k, 'value': v} for k, v in value.items()])}")
    for plot in _plots(suite):
        parts.append(_inline_png(plot))
    for key in EXAMPLE_KEYS:
        rows = suite.get(key)
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            parts.append(f"<h3>{_e(key.replace('_', ' '))}</h3>{_table(rows[:MAX_EXAMPLE_ROWS])}")
    return "\n".join(parts)


def _plots(suite: dict) -> list[Path]:
    found = []
    for key, value in suite.items():
        if key.endswith("plot") and isinstance(value, str):
            found.append(Path(value))
        elif key.endswith("plots") and isinstance(value, list | dict):
            found += [Path(v) for v in (value.values() if isinstance(value, dict) else value)]
    return [p for p in found if p.suffix.lower() == ".png" and p.is_file()]


def _inline_png(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<figure><img alt='{_e(path.stem)}' src='data:image/png;base64,{data}'></figure>"


def _table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(_fmt(row.get(c, '')))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)[:300]
    return str(value)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
