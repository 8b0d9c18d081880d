"""`twoline`: serve, chat, ingest, train, eval."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import sys
import tempfile
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import typer

from router.cli_gates import register_gates
from router.cli_guard import register_guard
from router.huge_pages import restart_with_huge_pages
from router.logging_setup import configure_logging
from router.settings import Settings, SettingsError, get_settings

app = typer.Typer(help="twoline: a two-tier customer-support assistant for banks.", no_args_is_help=True)
train_app = typer.Typer(help="Train model artifacts (into TWOLINE_ARTIFACTS_DIR).", no_args_is_help=True)
eval_app = typer.Typer(help="Offline evaluations; each takes its data by path and prints JSON with --json.")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")


class Variant(StrEnum):
    fast = "fast"
    full = "full"


@app.callback()
def _process() -> None:
    """Every command runs with the models' weights in huge pages where glibc can (router/huge_pages.py)."""
    try:
        wanted = get_settings().huge_pages
    except SettingsError:
        return  # the command reports the bad setting
    restart_with_huge_pages(wanted)


def _settings() -> Settings:
    try:
        settings = get_settings()
    except SettingsError as exc:
        _fail(f"bad setting: {exc}")
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _check_store(settings: Settings) -> None:
    """Open the dialog store once before anything trains or serves: a wrong URL, a missing database driver
    or a server that is down stops start-up with one line (the URL's password masked); so does a malformed
    encryption key, in its own words."""
    from sqlalchemy.exc import SQLAlchemyError

    from router.store.database import create_store_engine, store_error_line
    from router.store.encryption import EncryptionKeyError, cipher_from_settings

    try:
        cipher_from_settings(settings)
    except EncryptionKeyError as exc:
        _fail(str(exc))
    try:
        engine = create_store_engine(settings.database_url, cipher=None)
        with engine.connect():
            pass
        engine.dispose()
    except (SQLAlchemyError, ImportError, OSError, ValueError) as exc:
        _fail(f"TWOLINE_DATABASE_URL: cannot open the dialog store ({store_error_line(exc)})")


def _domain(settings: Settings):
    from first_line.domain import DomainConfigError, load_domain

    try:
        return load_domain(settings.domain_dir)
    except DomainConfigError as exc:
        _fail(f"invalid domain configuration: {exc}")


@app.command()
def serve(
    train_missing: bool = typer.Option(True, help="Train artifacts that are missing or stale first."),
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
) -> None:
    """Run the router service (FastAPI + uvicorn)."""
    settings = _settings()  # the settings, the domain and the store first: a mistake there is one line
    domain = _domain(settings)  # within a second, before the models' libraries take seconds to import
    _check_store(settings)
    import uvicorn

    from first_line.artifacts import ArtifactError
    from first_line.training_pipeline import ensure_trained
    from router.app import create_app
    from router.assistant import Assistant
    from router.second_line_training import clear_stale_marker, second_line_missing, start_training
    from router.worker_count import default_workers

    clear_stale_marker(settings)
    trainer = None
    if train_missing:
        trained = ensure_trained(
            settings.data_dir, settings.domain_dir, settings.artifacts_dir, domain,
            database_url=settings.database_url,
        )  # fmt: skip
        if trained:
            typer.echo(f"trained: {', '.join(trained)}")
        if missing := second_line_missing(settings):
            typer.echo(
                f"training in the background: {', '.join(missing)}; until it is done the first line "
                "serves and knowledge questions go to an operator (/readyz: second_line)"
            )
            trainer = start_training(settings)
    try:  # load once here, so that a bad artifact or config stops start-up with its message
        loaded = Assistant.load(settings)
    except (ArtifactError, ValueError) as exc:
        _fail(str(exc))
    host, port = host or settings.host, port or settings.port
    workers = workers or settings.workers or default_workers()
    if workers == 1:
        served = create_app(settings, assistant=loaded)  # one process: it serves the models it loaded
    else:
        _stop_background_work(loaded)  # each worker loads its own models; this process supervises them
        del loaded
        _return_memory()
        served = "router.main:app"
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="twoline-metrics-")
    _print_banner(settings, host, port, workers)
    try:
        uvicorn.run(
            served,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            factory=False,
        )
    finally:
        if trainer is not None and trainer.poll() is None:  # stopped while training: next start retrains
            trainer.terminate()


def _stop_background_work(assistant) -> None:
    """Stop the loaded assistant's watcher for the second line (the workers load the second line)."""
    if assistant.second_line_watcher is not None:
        assistant.second_line_watcher.stop()


def _return_memory() -> None:
    """Collect the checked models and hand the freed heap back to the system: the supervisor of several
    workers went from 1.9 GB resident to 1.7 GB with the collection alone, to 1.3 GB with glibc's trim
    (what stays is the libraries it imported)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _print_banner(settings: Settings, host: str, port: int, workers: int) -> None:
    processes = "1 worker process" if workers == 1 else f"{workers} worker processes"
    typer.echo(
        f"twoline serving on http://{host}:{port} with {processes}  (API docs: http://{host}:{port}/docs)"
    )
    if settings.uses_demo_keys:
        typer.echo(
            "demo API keys (set TWOLINE_CLIENT_API_KEY / TWOLINE_OPERATOR_API_KEY in production): "
            f"client='{settings.client_api_key.get_secret_value()}' "
            f"operator='{settings.operator_api_key.get_secret_value()}'  (router/settings.py)"
        )


@app.command()
def chat(
    client_id: str = typer.Option("terminal-client", help="Client id to chat as."),
    language: str | None = typer.Option(None, help="en or ru"),
) -> None:
    """Chat with the assistant in the terminal (the same policy and store as the service)."""
    from first_line.text_input import storable_text
    from router.assistant import Assistant

    settings = _settings()
    bot = Assistant.load(settings)
    dialog_id = None
    buttons: list = []
    typer.echo("Type a message (a number picks a button; empty line or Ctrl-D quits).")
    for line in sys.stdin:
        text = storable_text(line).strip()
        if not text:
            break
        payload = None
        if text.isdigit() and 0 < int(text) <= len(buttons):
            payload, text = buttons[int(text) - 1].payload, buttons[int(text) - 1].label
        result = bot.handle(client_id, text, dialog_id, payload, language=language)
        dialog_id = result.dialog_id
        buttons = result.buttons
        typer.secho(
            f"bot [{result.kind}/{result.reason}]: {result.reply or '(an operator will reply)'}", fg="green"
        )
        for index, button in enumerate(buttons, 1):
            typer.echo(f"  {index}. {button.label}")
        if result.feedback_form:
            typer.echo("  [feedback form: how satisfied are you with this dialog, 1..5?]")


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders: .jsonl Q&A, .md, .html, .pdf, .txt"),
    index: Path | None = typer.Option(None, help="Index folder (default: <artifacts>/knowledge_base)."),
    titles: bool = typer.Option(True, help="Embed article titles with their text (--no-titles: text only)."),
    prune: bool = typer.Option(True, help="Delete documents the sources no longer have."),
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Load, chunk, embed and index documents; incremental (only new and changed documents are embedded)."""
    from first_line.artifacts import ArtifactError
    from knowledge_base.ingest import ingest as run_ingest
    from second_line.factory import index_dir

    settings = _settings()
    target = index or index_dir(settings.second_line, settings.artifacts_dir)
    try:
        report = run_ingest(paths, target, include_titles=titles, prune=prune, progress=not json_output)
    except (ArtifactError, FileNotFoundError) as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
        return
    typer.echo(
        f"{target}: version {report.version} ({'written' if report.written else 'unchanged'}), "
        f"{report.documents} documents, {report.chunks} chunks; added {len(report.added)}, "
        f"updated {len(report.updated)}, deleted {len(report.deleted)}, unchanged {report.unchanged}; "
        f"embedded {report.embedded_chunks} chunks in {report.seconds:.1f} s "
        f"({report.chunks_per_s} chunks/s); {report.index_bytes / 1e6:.1f} MB"
    )
    for source, why in report.skipped:
        typer.secho(f"skipped {source}: {why}", fg=typer.colors.YELLOW, err=True)


@train_app.command("intents")
def train_intents_command(
    variant: Variant = typer.Option(
        Variant.fast, help="fast: frozen encoder (~4 min); full: fine-tuned (~20 min)."
    ),
    data: Path | None = typer.Option(None, help="A text,category CSV instead of the demo bank's data."),
    seed: int = 13,
    epochs: int = 3,
    per_intent: int | None = typer.Option(None, help="Train on at most N examples per intent (quick runs)."),
) -> None:
    """Train the intent classifier, then the pools model and the follow-up detector on top of it, then the
    Russian intent model."""
    from first_line.intent_training import IntentTrainingConfig
    from first_line.text_encoder import shared_embeddings
    from first_line.training_pipeline import (
        load_splits,
        train_follow_ups,
        train_intents,
        train_pools,
        train_russian_follow_ups,
        train_russian_intents,
    )

    settings = _settings()
    domain = _domain(settings)
    splits = load_splits(settings.data_dir, settings.domain_dir, data, seed, per_intent)
    config = IntentTrainingConfig(variant=variant.value, seed=seed, epochs=epochs)
    # the pools model and the follow-up detectors read what the intent models embedded
    with shared_embeddings():
        manifest = train_intents(splits, settings.intents_dir, domain, config)
        pools = train_pools(splits, settings.intents_dir, settings.pools_dir, domain)
        follow_ups = train_follow_ups(
            splits, settings.intents_dir, settings.follow_ups_dir, settings.domain_dir
        )
        russian = train_russian_intents(
            splits, settings.data_dir, settings.domain_dir, settings.russian_intents_dir, domain
        )
        russian_follow_ups = train_russian_follow_ups(
            settings.domain_dir, settings.russian_follow_ups_dir, domain
        )
    report = {"intents": manifest.metrics, "pools": pools.metrics}
    report |= {"follow_ups": follow_ups.metrics} if follow_ups else {}
    report |= {"follow_ups_ru": russian_follow_ups.metrics} if russian_follow_ups else {}
    typer.echo(json.dumps(report | ({"russian_intents": russian.metrics} if russian else {}), indent=2))


@train_app.command("pools")
def train_pools_command(seed: int = 13, data: Path | None = None) -> None:
    """Retrain only the pools model (after editing pools.yaml)."""
    from first_line.training_pipeline import load_splits, train_pools

    settings = _settings()
    domain = _domain(settings)
    manifest = train_pools(
        load_splits(settings.data_dir, settings.domain_dir, data, seed),
        settings.intents_dir,
        settings.pools_dir,
        domain,
    )
    typer.echo(json.dumps(manifest.metrics, indent=2))


@train_app.command("all")
def train_all(variant: Variant = Variant.fast) -> None:
    """Every model: intents and pools, client sentiment, likes and VOC risk, next intent and end of
    dialog, the censor, the grounding verifier and the prompt-injection classifier."""
    from first_line.text_encoder import shared_embeddings
    from router.gates_training import train_risk_artifact, train_sentiment_artifact

    settings = _settings()
    with shared_embeddings():  # intents, pools, sentiment and likes embed many of the same messages
        train_intents_command(variant=variant, data=None, seed=13, epochs=3, per_intent=None)
        train_sentiment_artifact(settings.data_dir, settings.domain_dir, settings.artifacts_dir)
        train_likes(database_url=None, star_limit=None)
    train_risk_artifact(
        settings.data_dir, settings.artifacts_dir, _domain(settings), settings.database_url,
        report_dir=Path("reports/voc_risk"),
    )  # fmt: skip
    train_next_intent_command(data=None, seed=13)
    train_dialog_end_command(data=None, seed=13)
    train_censor_command(seed=13, scale=1.0, variant=variant)
    train_grounding_command(seed=13, articles=300)
    train_injection(seed=13)
    if settings.second_line.reranker:  # off by default: it lost to the fusion (README "Second line")
        train_reranker_command(seed=13)


@train_app.command("reranker")
def train_reranker_command(seed: int = 13) -> None:
    """The second line's learned reranker (optional, setting `reranker`), on queries made from the
    knowledge-base index: its titles, each against the index without its own title (~4-7 minutes)."""
    from first_line.artifacts import ArtifactError
    from second_line.factory import train_reranker_artifact

    settings = _settings()
    try:
        manifest = train_reranker_artifact(settings.second_line, settings.artifacts_dir, seed)
    except (ArtifactError, ValueError) as exc:
        _fail(f"{exc} (ingest the knowledge base first: `twoline ingest` or `twoline serve` once)")
    typer.echo(json.dumps(manifest.metrics | manifest.params, indent=2))


@train_app.command("censor")
def train_censor_command(
    seed: int = 13,
    scale: float = typer.Option(1.0, help="Sample the public corpora down to this share (quick runs)."),
    variant: Variant = typer.Option(
        Variant.fast, help="fast: on the packaged MiniLM; full: on a MiniLM fine-tuned to read tone."
    ),
) -> None:
    """The censor's tone classifier (EN + RU; fast ~6-9 minutes on 2 cores, full ~25)."""
    from guardrails.training_pipeline import train_censor_artifact

    settings = _settings()
    manifest = train_censor_artifact(
        settings.data_dir, settings.domain_dir, settings.artifacts_dir, seed, scale,
        full=variant == Variant.full,
    )  # fmt: skip
    typer.echo(json.dumps(manifest.metrics | manifest.params, indent=2))


@train_app.command("grounding")
def train_grounding_command(
    seed: int = 13, articles: int = typer.Option(300, help="Ask CFPB articles for synthetic pairs.")
) -> None:
    """The grounding verifier (KB synthetic pairs, HaluEval, half of BEGIN dev; ~2 minutes)."""
    from guardrails.training_pipeline import train_grounding_artifact

    settings = _settings()
    manifest = train_grounding_artifact(settings.data_dir, settings.artifacts_dir, seed, articles)
    typer.echo(json.dumps(manifest.metrics | manifest.params, indent=2))


@train_app.command("next-intent")
def train_next_intent_command(
    data: list[Path] | None = typer.Option(
        None, help="Dialog files (MultiDoGO TSV / SGD CSV layout); default: the shared corpora."
    ),
    seed: int = 13,
) -> None:
    """The next-intent recommender (quick buttons after an answer)."""
    from first_line.dialog_training import train_next_intent

    settings = _settings()
    domain = _domain(settings)
    manifest = train_next_intent(
        settings.data_dir,
        settings.domain_dir,
        settings.artifacts_dir / "next_intent",
        domain,
        data or None,
        seed,
    )
    typer.echo(json.dumps(manifest.metrics | {"samples": manifest.data_sizes}, indent=2))


@train_app.command("dialog-end")
def train_dialog_end_command(
    data: list[Path] | None = typer.Option(
        None, help="Dialog files (MultiDoGO TSV / SGD CSV / STAR CSV layout); default: the shared corpora."
    ),
    seed: int = 13,
) -> None:
    """The end-of-dialog detector (the VOC feedback form)."""
    from first_line.dialog_training import train_dialog_end

    settings = _settings()
    domain = _domain(settings)
    manifest = train_dialog_end(
        settings.data_dir,
        settings.artifacts_dir / "dialog_end",
        domain,
        data or None,
        seed,
        domain_dir=settings.domain_dir,
    )
    typer.echo(json.dumps(manifest.metrics | {"samples": manifest.data_sizes}, indent=2))


@app.command("suggest-pools")
def suggest_pools(clusters: int = typer.Option(16, help="How many pools to suggest.")) -> None:
    """Suggest a pools.yaml grouping from the intent classifier's confusion on the dev split."""
    from evals.pool_suggestion import suggest_pools_yaml

    settings = _settings()
    typer.echo(suggest_pools_yaml(settings.intents_dir, clusters))


@eval_app.command("intents")
def eval_intents(
    data: Path | None = typer.Option(None, help="CSV with text,category (default: the held-out demo split)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    out: Path = typer.Option(Path("reports/intents"), help="Folder for the plot and the JSON report."),
    baseline: bool = typer.Option(True, help="Also train and score the frozen-encoder baseline."),
    fp32: bool = typer.Option(False, help="Run the fp32 encoder instead of int8 (to compare speed)."),
    language: str = typer.Option(
        "en", help="ru: the Russian intent model on Russian messages (default data: its held-out test set)."
    ),
) -> None:
    """Accuracy, automation vs precision (per-intent vs global thresholds), pools recovery, latency."""
    from evals.intents_eval import evaluate_intents

    settings = _settings()
    domain = _domain(settings)
    if language == "ru":
        _eval_russian_intents(settings, domain, data, json_output)
        return
    if language != "en":
        _fail(f"--language: en or ru, not {language!r}")
    report = evaluate_intents(settings, domain, data, out, with_baseline=baseline, quantized=not fp32)
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(f"accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}")
        typer.echo(
            f"per-intent: automation {report['automation']:.4f} precision {report['precision']:.4f} | "
            f"global: automation {report['global_threshold']['automation']:.4f} "
            f"precision {report['global_threshold']['precision']:.4f} | "
            f"pools recovery {report['pools_recovery']:.4f}"
        )
        typer.echo(f"latency p50 {report['latency_ms_p50']:.2f} ms  p95 {report['latency_ms_p95']:.2f} ms")
        typer.echo(f"report and plot in {out}")


def _eval_russian_intents(settings: Settings, domain, data: Path | None, json_output: bool) -> None:
    from evals.russian_intents_eval import evaluate_russian_intents
    from first_line.artifacts import ArtifactError

    try:
        report = evaluate_russian_intents(settings, domain, data)
    except (ArtifactError, ValueError, OSError) as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    base = report["baseline"]
    typer.echo(f"accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  (n={report['rows']})")
    typer.echo(
        f"threshold {report['threshold']:.3f}: automation {report['automation']:.4f} "
        f"precision {report['precision']:.4f} | with clarifications {report['automation_with_pools']:.4f} "
        f"/ {report['precision_with_pools']:.4f}"
    )
    typer.echo(
        f"English model on the same rows: accuracy {base['accuracy']:.4f}, "
        f"answered {base['automation']:.4f}, "
        f"answered wrong {base['answered_wrong_rate']:.4f}"
    )
    typer.echo(f"latency p50 {report['latency_ms_p50']:.2f} ms  p95 {report['latency_ms_p95']:.2f} ms")


@app.command("export-dialogs")
def export_dialogs_command(out: Path = typer.Option(Path("dialogs.tsv"), help="TSV file to write.")) -> None:
    """The service's logged dialogs as a MultiDoGO-layout TSV, to train next-intent / dialog-end on."""
    from router.dialog_export import export_dialogs
    from router.store.database import create_store_engine, migrate
    from router.store.dialog_store import DialogStore

    settings = _settings()
    engine = create_store_engine(settings.database_url)
    migrate(engine)
    typer.echo(f"{export_dialogs(DialogStore(engine), out)} client messages written to {out}")


@eval_app.command("next-intent")
def eval_next_intent(
    data: list[Path] | None = typer.Option(
        None, help="MultiDoGO TSV / SGD CSV files (default: MultiDoGO dev + the held-out dialogs)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """hit@3 of the next-intent recommender against the most-frequent-next-intent baseline."""
    from first_line.dialog_intent_map import load_dialog_intent_map
    from first_line.dialog_training import default_eval_files, evaluate_next_intent

    settings = _settings()
    domain = _domain(settings)
    files = data or default_eval_files(settings.data_dir, "next_intent")
    intent_map = load_dialog_intent_map(settings.domain_dir, domain)
    report = evaluate_next_intent(settings.artifacts_dir / "next_intent", files, intent_map)
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(
            f"hit@3 {report['hit@3']:.4f}  baseline (most frequent) {report['baseline_hit@3']:.4f}  "
            f"hit@1 {report['hit@1']:.4f}  on {report['samples']} next intents"
        )


@eval_app.command("dialog-end")
def eval_dialog_end(
    data: list[Path] | None = typer.Option(
        None, help="MultiDoGO TSV / SGD CSV / STAR CSV files (default: MultiDoGO dev + held-out dialogs)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    language: str = typer.Option("en", help="ru: the Russian head on a dialog_id,turn,text,is_last CSV."),
) -> None:
    """F1 of the end-of-dialog detector at the domain's threshold against the "thanks"/"bye" keywords."""
    from first_line.dialog_training import default_eval_files, evaluate_dialog_end

    settings = _settings()
    domain = _domain(settings)
    threshold = domain.settings.policy.dialog_end_threshold or 0.5
    if language == "ru":
        from evals.russian_dialog_end_eval import evaluate_russian_dialog_end

        report = evaluate_russian_dialog_end(
            settings.artifacts_dir / "dialog_end", threshold, data[0] if data else None
        )
        typer.echo(json.dumps(report, indent=2))
        return
    if language != "en":
        _fail("--language: en or ru")
    files = data or default_eval_files(settings.data_dir, "dialog_end")
    report = evaluate_dialog_end(settings.artifacts_dir / "dialog_end", files, threshold)
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(
            f"F1 {report['f1']:.4f} at threshold {threshold}  keyword baseline {report['baseline_f1']:.4f}  "
            f"(best F1 {report['best_f1']:.4f} at {report['best_threshold']})"
        )


@eval_app.command("ocr")
def eval_ocr(
    count: int = typer.Option(60, help="How many screenshots to render and read."),
    seed: int = typer.Option(1000, help="Seed of the first screenshot (each image has its own)."),
    save: Path | None = typer.Option(None, help="Folder to save the rendered screenshots into."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """EasyOCR on rendered screenshots: character accuracy, topic (intent) accuracy, latency per image."""
    from evals.ocr_eval import evaluate_ocr

    settings = _settings()
    report = evaluate_ocr(settings.intents_dir, count, seed, save, settings.ocr_threads)
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(
            f"{count} images: character accuracy {report['char_accuracy']:.4f}  "
            f"topic accuracy {report['topic_accuracy']:.4f} (on the true text "
            f"{report['topic_accuracy_on_true_text']:.4f})  latency p50 {report['latency_ms_p50']:.0f} ms "
            f"p95 {report['latency_ms_p95']:.0f} ms  (load average {report['load_average']})"
        )


@eval_app.command("all")
def eval_all(
    out: Path = typer.Option(Path("reports/all"), help="Folder for report.html and report.json."),
    quick: bool = typer.Option(False, help="Smaller sets and no baselines (under 5 minutes)."),
    only: list[str] = typer.Option([], help="Run only these suites (repeatable)."),
) -> None:
    """Every eval suite, one self-contained HTML report and one JSON report (for `eval compare`)."""
    from evals.report import SUITES, run_all

    unknown = sorted(set(only) - set(SUITES))
    if unknown:
        _fail(f"unknown suite(s) {unknown}; known: {list(SUITES)}")
    report = run_all(_settings(), out, quick, only or None)
    for name, seconds in report["wall_time_s"].items():
        status = "FAILED " + report["errors"][name] if name in report["errors"] else "ok"
        typer.echo(f"{name:14} {seconds:8.1f} s  {status}")
    typer.echo(f"report: {out / 'report.html'}  json: {out / 'report.json'}")
    if report["errors"]:
        raise typer.Exit(code=1)


@eval_app.command("pools")
def eval_pools(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    out: Path = typer.Option(Path("reports/pools"), help="Folder for the plot."),
) -> None:
    """Clarifying questions on the held-out split: pools recovery, automation and precision with them."""
    from evals.report import SUITES

    report = SUITES["pools"](_settings(), False, out)
    lines = [json.dumps(report, indent=2)] if json_output else [f"{k}: {v}" for k, v in report.items()]
    typer.echo("\n".join(lines))


@eval_app.command("dialogs")
def eval_dialogs(
    data: Path | None = typer.Option(None, help="JSONL dialogs or a text,category CSV (default: held out)."),
    quick: bool = typer.Option(False, help="A smaller default set (200 dialogs instead of 1,100)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    out: Path = typer.Option(Path("reports/dialogs"), help="Folder for the JSON report."),
) -> None:
    """Replay dialogs through the real router: automation, hand-offs, clarifications, latency."""
    from evals.dialog_replay import default_dialogs, read_dialogs, replay_dialogs

    settings = _settings()
    try:
        dialogs = read_dialogs(data) if data else default_dialogs(settings, quick)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    report = replay_dialogs(settings, dialogs, progress=not json_output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(
            f"{report['dialogs']} dialogs, {report['turns']} turns: automation {report['automation']:.1%}, "
            f"precision of answers {report['precision_answered']}, hand-offs {report['handoffs_by_reason']}, "
            f"clarifications {report['clarifications']} "
            f"({report['clarifications_resolved_by_click']} resolved by a click), "
            f"latency p50 {report['latency_ms_p50']:.1f} ms"
        )


@eval_app.command("ab")
def eval_ab(
    since: datetime | None = typer.Option(None, help="Only dialogs started on or after this date."),
    database_url: str | None = typer.Option(None, help="The dialog store (default: TWOLINE_DATABASE_URL)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The running A/B experiment from the stored dialogs: automation, hand-offs, dislikes, VOC."""
    from evals.ab_report import ab_report, format_ab
    from router.store.database import create_store_engine, migrate

    settings = _settings()
    experiment = _domain(settings).settings.experiment
    engine = create_store_engine(database_url or settings.database_url)
    migrate(engine)
    order = [v.name for v in experiment.variants] if experiment else []
    report = ab_report(engine, experiment.name if experiment else None, order, since)
    typer.echo(report.model_dump_json(indent=2) if json_output else format_ab(report))


@eval_app.command("compare")
def eval_compare(
    old: Path = typer.Argument(..., help="The report of what runs now (report.json or a suite's --json)."),
    new: Path = typer.Argument(..., help="The report of the candidate change."),
    tolerance: float = typer.Option(0.01, help="How far a quality metric may drop (absolute)."),
    latency_tolerance: float = typer.Option(0.25, help="How far a latency may grow (relative)."),
    json_output: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """The regression gate: what got worse from OLD to NEW; exits 1 if anything did."""
    from evals.compare import compare_reports, format_comparison, load_report

    try:
        comparison = compare_reports(load_report(old), load_report(new), tolerance, latency_tolerance)
    except ValueError as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(comparison.model_dump_json(indent=2))
    else:
        typer.echo(format_comparison(comparison))
    if comparison.regressions:
        raise typer.Exit(code=1)


train_likes = register_gates(app, train_app, eval_app, _settings, _domain)
train_injection = register_guard(app, train_app, eval_app, _settings)


@eval_app.command("tone")
def eval_tone(
    data: Path = typer.Option(..., help="CSV with a text column and a 1/0 (or true/false) label; 1 = block."),
    text_col: str = typer.Option("text", "--text-col"),
    label_col: str = typer.Option("label", "--label-col"),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The censor vs alt-profanity-check: ROC-AUC, block rate, false block rate, per category. The censor
    decides at its served threshold (TWOLINE_SECOND_LINE_CENSOR_THRESHOLD when set, else its trained one)."""
    from evals.tone_eval import evaluate_tone, served_censor

    settings = _settings()
    try:
        report = evaluate_tone(served_censor(settings), data, text_col, label_col)
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    for name, row in (("censor", report), ("alt-profanity-check", report["baseline"])):
        typer.echo(
            f"{name:>20}: ROC-AUC {_rounded(row['roc_auc'])}  "
            f"block rate {row['block_rate']}  false block rate {row['false_block_rate']}"
        )
    for category, row in report["per_category"].items():
        base = report["baseline"]["per_category"].get(category, {}).get("block_rate")
        typer.echo(f"{category:>19}: blocked {row['block_rate']:.2f} (baseline {base:.2f}, n={row['rows']})")
    for length, row in report["by_length"].items():
        base = _rounded(row["baseline"]["roc_auc"])
        typer.echo(f"{length:>19}: ROC-AUC {_rounded(row['roc_auc'])} (baseline {base}, n={row['rows']})")
    typer.echo(f"latency p50 {report['latency_ms_p50']:.2f} ms  p95 {report['latency_ms_p95']:.2f} ms")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@eval_app.command("responses")
def eval_responses(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The censor over every scripted answer of the domain (slots filled with samples): a lint for the
    people who write them. Lists each answer it would not send as written; exits 1 if there is one."""
    from evals.tone_eval import served_censor
    from guardrails.response_lint import lint_responses

    settings = _settings()
    try:
        report = lint_responses(_domain(settings), served_censor(settings))
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        for f in report.findings:
            where = f"{f.language} {f.intent} {f.style}[{f.index}]"
            typer.echo(f"{where}: {f.action} ({f.category}, {f.score:.3f}) {f.text}")
        typer.echo(f"{report.texts} texts of {report.variants} variants judged in {report.seconds} s: "
                   f"{len(report.findings)} not allowed as written")  # fmt: skip
    if report.findings:
        raise typer.Exit(1)


@eval_app.command("grounding")
def eval_grounding(
    data: Path = typer.Option(..., help="BEGIN TSV or HaluEval QA JSONL."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The grounding check vs token overlap: F1 on unsupported responses, balanced accuracy."""
    from evals.grounding_eval import evaluate_grounding
    from guardrails.grounding import GroundingChecker

    settings = _settings()
    try:
        report = evaluate_grounding(GroundingChecker(settings.artifacts_dir / "grounding"), data)
    except (ValueError, OSError, KeyError) as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    for part, row in (("all rows", report), ("held-out half", report.get("heldout_half"))):
        if row:
            typer.echo(
                f"{part}: F1(unsupported) {row['f1_unsupported']:.4f}  balanced accuracy "
                f"{row['balanced_accuracy']:.4f} | token overlap: F1 "
                f"{row['baseline']['f1_unsupported']:.4f}  balanced accuracy "
                f"{row['baseline']['balanced_accuracy']:.4f}  (n={row['rows']})"
            )


@eval_app.command("retrieval")
def eval_retrieval(
    questions: Path = typer.Option(..., help='JSONL: {"question": ..., "ask_ids": [...]} a line.'),
    index: Path | None = typer.Option(None, help="Index folder (default: <artifacts>/knowledge_base)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Recall@1/5/10 and MRR of dense, BM25, fused and reranked retrieval, and retrieval latency p50/p95."""
    from evals.retrieval_eval import dump, evaluate_retrieval, format_report
    from first_line.artifacts import ArtifactError
    from second_line.factory import build_retriever

    settings = _settings()
    retriever = build_retriever(settings.second_line, settings.artifacts_dir, index)
    try:
        report = evaluate_retrieval(retriever, questions)
    except ArtifactError as exc:
        _fail(str(exc))
    typer.echo(dump(report) if json_output else format_report(report))


@eval_app.command("hallucination")
def eval_hallucination(
    questions: Path = typer.Option(..., help="JSONL: question, ask_ids, answerable?, facts? a line."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The whole second line: answered / handed-off shares, citation accuracy, unsupported sentences."""
    from evals.hallucination_eval import evaluate_hallucination
    from second_line.factory import build_second_line

    settings = _settings()
    domain = _domain(settings)
    answerer = build_second_line(
        settings.second_line, settings.artifacts_dir, domain, settings.domain_dir, use_ner=settings.use_ner
    )
    if answerer is None:
        _fail("the second line is off or has no index; run `twoline serve` once or `twoline ingest`")
    report = evaluate_hallucination(answerer, questions)
    typer.echo(json.dumps(report, indent=2 if json_output else None))


if __name__ == "__main__":
    app()
