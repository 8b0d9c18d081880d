"""CLI commands of the first-line gates (issue 5): `train sentiment|likes|risk`, `risk simulate|score`,
`eval likes`. Registered on the main `twoline` app by `router/cli.py`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import typer

from router.settings import Settings

risk_app = typer.Typer(help="VOC risk: the daily scoring batch and the SYNTHETIC client simulator.",
                       no_args_is_help=True)  # fmt: skip


def register_gates(
    app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer, settings: Callable[[], Settings], domain
) -> Callable[..., None]:
    """Add the commands; returns `train likes` (which `train all` calls)."""
    app.add_typer(risk_app, name="risk")

    @train_app.command("sentiment")
    def train_sentiment_command(
        max_examples: int | None = typer.Option(None, help="At most N examples, balanced (quick runs)."),
    ) -> None:
        """Client sentiment (negativity, English + Russian); prints held-out accuracy."""
        from router.gates_training import train_sentiment_artifact

        current = settings()
        manifest = train_sentiment_artifact(
            current.data_dir, current.domain_dir, current.artifacts_dir, max_examples
        )
        typer.echo(json.dumps(manifest.metrics, indent=2))

    @train_app.command("likes")
    def train_likes_command(
        database_url: str | None = typer.Option(
            None, help="Store to read reactions from (default: the service's)."
        ),
        star_limit: int | None = typer.Option(None, help="At most N STAR pairs (quick runs)."),
    ) -> None:
        """The likes (dislike) model from stored reactions, plus weak labels while those are few."""
        from first_line.training_pipeline import load_splits
        from router.gates_training import train_likes_artifact

        current = settings()
        splits = load_splits(current.data_dir, current.domain_dir)
        manifest = train_likes_artifact(
            splits, domain(current), current.data_dir, current.artifacts_dir,
            database_url or current.database_url, star_limit,
        )  # fmt: skip
        typer.echo(json.dumps({"sizes": manifest.data_sizes, "metrics": manifest.metrics}, indent=2))

    @train_app.command("risk")
    def train_risk_command(
        database_url: str | None = typer.Option(None, help="Store of real dialogs (default: the service's)."),
        clients: int = typer.Option(3000, help="Synthetic clients to simulate when no store has enough."),
        report: Path = typer.Option(
            Path("reports/voc_risk"), help="Folder for the importance plot and JSON."
        ),
    ) -> None:
        """The VOC-risk model (LightGBM, time split): the real store when it has enough, else synthetic."""
        from router.gates_training import train_risk_artifact

        current = settings()
        manifest, url = train_risk_artifact(
            current.data_dir, current.artifacts_dir, domain(current), database_url or current.database_url,
            clients, report,
        )  # fmt: skip
        typer.echo(
            json.dumps({"store": url, "sizes": manifest.data_sizes, "metrics": manifest.metrics}, indent=2)
        )

    @eval_app.command("likes")
    def eval_likes_command(
        json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
        out: Path = typer.Option(Path("reports/likes"), help="Folder for the JSON report."),
    ) -> None:
        """ROC-AUC of the likes model and a replay of held-out messages through the policy's likes gate."""
        from evals.likes_eval import evaluate_likes

        current = settings()
        report = evaluate_likes(current, domain(current), out)
        if json_output:
            typer.echo(json.dumps(report, indent=2))
        else:
            for row in report["replay"]:
                typer.echo(
                    f"threshold {row['threshold']:.2f}: automation {row['automation']:.4f} "
                    f"(cost {row['automation_cost']:.4f}), wrong answers {row['wrong_answers']} "
                    f"(stopped {row['wrong_stopped']} of {report['wrong_without_gate']})"
                )

    @eval_app.command("sentiment")
    def eval_sentiment_command(
        data: Path = typer.Option(..., help="CSV: text, label (1 = upset), optional kind and language."),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Client sentiment on messages labelled by mood: ROC-AUC, upset clients caught and calm ones read as
        upset at the policy's threshold, per language and kind; VADER beside it for English."""
        from evals.sentiment_eval import sentiment_report

        try:
            report = sentiment_report(settings(), data)
        except (ValueError, OSError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--data") from exc
        if json_output:
            typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
            return
        typer.echo(f"threshold {report['threshold']}: {_mood_line(report)}")
        for group in ("by_language", "by_kind"):
            for name, row in report[group].items():
                typer.echo(f"{name:>12}: {_mood_line(row)}")
        if "baseline_english" in report:
            typer.echo(f"{'VADER (en)':>12}: {_mood_line(report['baseline_english'])}")

    @risk_app.command("simulate")
    def simulate_command(
        clients: int = typer.Option(2000, help="How many SYNTHETIC clients."),
        days: int = typer.Option(180, help="History length in days, ending now."),
        seed: int = 7,
        database_url: str | None = typer.Option(
            None, help="Store to write to (default: the synthetic store)."
        ),
    ) -> None:
        """Write SYNTHETIC client histories (ids `synthetic-...`) into a store, in the real schema."""
        from router.gates_training import synthetic_store_url
        from router.store.database import create_store_engine, migrate
        from router.voc_risk.simulator import SimulationConfig, intent_texts, simulate_clients

        current = settings()
        url = database_url or synthetic_store_url(current.artifacts_dir)
        engine = create_store_engine(url)
        migrate(engine)
        texts = intent_texts(current.data_dir / "banking77" / "train.csv")
        counts = simulate_clients(engine, texts, SimulationConfig(clients=clients, days=days, seed=seed))
        typer.echo(json.dumps({"store": url, "rows": counts}, indent=2))

    @risk_app.command("score")
    def score_command(
        database_url: str | None = typer.Option(None, help="Store to score (default: the service's)."),
        chunk: int = typer.Option(5000, min=1, max=20000, help="Clients per chunk (bounds memory)."),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """The daily batch: rescore every client who ever wrote into `client_risk` (idempotent)."""
        from first_line.voc_risk_model import VocRiskModel
        from router.store.database import create_store_engine, migrate
        from router.voc_risk.batch import score_all_clients
        from router.voc_risk.features import FEATURES

        current = settings()
        engine = create_store_engine(database_url or current.database_url)
        migrate(engine)
        model = VocRiskModel(current.risk_dir, FEATURES)
        threshold = domain(current).settings.policy.voc_risk_threshold
        report = dataclasses.asdict(score_all_clients(engine, model, threshold, chunk))
        typer.echo(json.dumps(report, indent=2) if json_output else
                   f"scored {report['clients']} clients in {report['seconds']} s "
                   f"({report['rows_per_second']} rows/s, peak RSS {report['peak_rss_mib']} MiB); "
                   f"{report['high_risk']} at or above {threshold}")  # fmt: skip

    return train_likes_command


def _mood_line(row: dict) -> str:
    return (
        f"ROC-AUC {row['roc_auc']}  upset caught {row['upset_recall']}  "
        f"calm read as upset {row['false_upset_rate']}  (n={row['rows']})"
    )
