"""CLI commands of the data-protection guards (issue 4): `store generate-key|reencrypt` (encryption at rest),
`store purge|forget-client` (retention and erasure) and `train injection` / `eval injection` (the
prompt-injection screen). Registered by `router/cli.py`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import typer

from router.settings import Settings

Done = TypeVar("Done")
"""What a store command's run returns (rows deleted per table, readings cleared)."""

store_app = typer.Typer(
    help="The dialog store: encryption keys at rest, retention and erasure.", no_args_is_help=True
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def register_guard(
    app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer, settings: Callable[[], Settings]
) -> Callable[..., None]:
    """Add the commands; returns `train injection` (which `train all` calls)."""
    app.add_typer(store_app, name="store")

    @store_app.command("generate-key")
    def generate_key_command() -> None:
        """Print a new random key for TWOLINE_ENCRYPTION_KEY (keep it in the bank's secret store)."""
        from router.store.encryption import generate_key

        typer.echo(generate_key())

    @store_app.command("reencrypt")
    def reencrypt_command(
        database_url: str | None = typer.Option(None, help="Default: TWOLINE_DATABASE_URL."),
    ) -> None:
        """Rewrite stored texts under the first key of TWOLINE_ENCRYPTION_KEY: rotates rows written with an
        older key (listed after it) and encrypts rows written before encryption was on."""
        from router.store.database import create_store_engine, migrate
        from router.store.encryption import DecryptionError, EncryptionKeyError, engine_cipher
        from router.store.reencrypt import reencrypt_store

        current = settings()
        try:
            engine = create_store_engine(database_url or current.database_url)
        except EncryptionKeyError as exc:
            _fail(str(exc))
        cipher = engine_cipher(engine)
        if cipher is None:
            _fail("TWOLINE_ENCRYPTION_KEY is not set: there is no key to encrypt with")
        migrate(engine)
        try:
            counts = reencrypt_store(engine, cipher)
        except DecryptionError as exc:
            _fail(str(exc))
        typer.echo(json.dumps({"rewritten": counts}, indent=2))

    @store_app.command("purge")
    def purge_command(
        older_than_days: int = typer.Option(
            ..., min=1, help="Delete dialogs with no message for this many days (their tickets closed)."
        ),
        database_url: str | None = typer.Option(None, help="Default: TWOLINE_DATABASE_URL."),
    ) -> None:
        """Retention: delete idle dialogs with their messages, decisions, feedback and tickets, and the
        client profiles left without dialogs. Dialogs with an open or claimed ticket stay. Clears the
        stored readings of messages older than the domain's `context_days`. Safe while the service runs;
        run it daily from cron."""
        from first_line.domain import load_domain
        from router.store.retention import drop_stale_readings, purge_idle_dialogs

        current = settings()
        now = datetime.now(UTC)
        cutoff = now - timedelta(days=older_than_days)
        context_days = load_domain(current.domain_dir).settings.policy.context_days
        engine = _migrated_engine(database_url or current.database_url)
        deleted = _while_available(lambda: purge_idle_dialogs(engine, cutoff))
        readings = _while_available(lambda: drop_stale_readings(engine, now - timedelta(days=context_days)))
        report = {"cutoff": cutoff.isoformat(timespec="seconds"), "deleted": deleted}
        typer.echo(json.dumps(report | {"readings_cleared": readings}, indent=2))

    @store_app.command("forget-client")
    def forget_client_command(
        client_id: str = typer.Argument(..., help="The client's id, as the chat API received it."),
        database_url: str | None = typer.Option(None, help="Default: TWOLINE_DATABASE_URL."),
    ) -> None:
        """Erasure: delete everything stored about one client (profile, dialogs, messages, decisions,
        feedback, tickets, risk score). Prints the rows deleted per table; zeros for an unknown client."""
        from router.store.retention import forget_client

        engine = _migrated_engine(database_url or settings().database_url)
        deleted = _while_available(lambda: forget_client(engine, client_id))
        typer.echo(json.dumps({"deleted": deleted}, indent=2))

    @train_app.command("injection")
    def train_injection_command(seed: int = 13) -> None:
        """The prompt-injection classifier (MiniLM embeddings + character n-grams; ~1-2 minutes)."""
        from guardrails.training_pipeline import train_injection_artifact

        current = settings()
        manifest = train_injection_artifact(current.data_dir, current.domain_dir, current.artifacts_dir, seed)
        typer.echo(json.dumps(manifest.metrics | manifest.params, indent=2))

    @eval_app.command("injection")
    def eval_injection(
        data: Path = typer.Option(
            Path(__file__).resolve().parent.parent / "guardrails" / "data" / "injection_heldout.csv",
            help="CSV with `text` and `label` (1 = injection); optional `language`, `category`.",
        ),
        benign_sample: int = typer.Option(0, help="Also the FP rate on N BANKING77 + Ask CFPB rows."),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Rules only vs model only vs combined: recall on attacks, false positives on benign messages."""
        from evals.injection_eval import evaluate_injection, format_report
        from first_line.artifacts import ArtifactError
        from guardrails.injection import InjectionScreen

        current = settings()
        try:
            screen = InjectionScreen(current.artifacts_dir / "injection")
            report = evaluate_injection(
                screen, data, current.data_dir if benign_sample else None, benign_sample
            )
        except (ArtifactError, ValueError, OSError) as exc:
            _fail(str(exc))
        typer.echo(json.dumps(report, indent=2) if json_output else format_report(report))

    return train_injection_command


def _migrated_engine(database_url: str):
    """The store's engine with its schema up to date; a bad key or an unreachable database is one line
    (the URL's password masked)."""
    from sqlalchemy.exc import SQLAlchemyError

    from router.store.database import create_store_engine, migrate, store_error_line
    from router.store.encryption import EncryptionKeyError

    try:
        engine = create_store_engine(database_url)
        migrate(engine)
    except EncryptionKeyError as exc:
        _fail(str(exc))
    except (SQLAlchemyError, ImportError, OSError, ValueError) as exc:
        _fail(f"cannot open the dialog store ({store_error_line(exc)})")
    return engine


def _while_available(run: Callable[[], Done]) -> Done:
    """A locked or unreachable store mid-run is one line and exit 2; the batches done so far stay done and
    a rerun goes on from there."""
    from router.store.dialog_store import StoreUnavailableError

    try:
        return run()
    except StoreUnavailableError as exc:
        _fail(f"the dialog store became unavailable ({exc}); what was deleted stays deleted, run it again")
