"""The `client_risk` table: a VOC-risk score per client, written by the daily batch, read by the router."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from router.store.models import ClientRisk, utcnow

ROWS_PER_STATEMENT = 1000
"""Rows per multi-row INSERT: 5 parameters each stays far below SQLite's 32,766 bound parameters."""


class RiskScores:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def score_of(self, client_id: str, not_before: date) -> float | None:
        """The client's latest score, or None if never scored or scored before `not_before` (stale)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(ClientRisk.score, ClientRisk.scored_on).where(ClientRisk.client_id == client_id)
            ).first()
        if row is None or row.scored_on < not_before:
            return None
        return float(row.score)

    def upsert(self, rows: Sequence[tuple[str, float]], scored_on: date, model_version: str) -> None:
        """Write (client_id, score) rows in one transaction; a rerun overwrites (idempotent)."""
        if not rows:
            return
        insert = postgresql_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        now = utcnow()
        values = [
            {
                "client_id": c,
                "score": float(s),
                "scored_on": scored_on,
                "model_version": model_version,
                "scored_at": now,
            }
            for c, s in rows
        ]
        with self.engine.begin() as connection:
            for start in range(0, len(values), ROWS_PER_STATEMENT):
                statement = insert(ClientRisk).values(values[start : start + ROWS_PER_STATEMENT])
                statement = statement.on_conflict_do_update(
                    index_elements=["client_id"],
                    set_={
                        "score": statement.excluded.score,
                        "scored_on": statement.excluded.scored_on,
                        "model_version": statement.excluded.model_version,
                        "scored_at": statement.excluded.scored_at,
                    },
                )
                connection.execute(statement)

    def count(self, scored_on: date | None = None) -> int:
        query = select(func.count()).select_from(ClientRisk)
        if scored_on is not None:
            query = query.where(ClientRisk.scored_on == scored_on)
        with self.engine.connect() as connection:
            return int(connection.scalar(query) or 0)
