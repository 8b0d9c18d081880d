"""`twoline risk score`: the daily batch that rescores every client who ever wrote.

Clients are read in keyset-paginated chunks (`WHERE id > :last ORDER BY id LIMIT :chunk`), so
memory stays bounded by the chunk, not the client base; each chunk's features are computed
with the same bounded queries as training (`features.py`), scored by the LightGBM model and
upserted into `client_risk` in one transaction. Features are taken as of the last midnight
(UTC), so a rerun on the same day rewrites the same rows with the same values: the batch is
idempotent, and a crash halfway loses nothing but time (rerun it). The router reads one row per
first message (`RiskScores.score_of`).
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from first_line.voc_risk_model import VocRiskModel
from router.store.models import Client
from router.store.risk_scores import RiskScores
from router.voc_risk.features import client_features

log = logging.getLogger("twoline.risk")


@dataclass(frozen=True)
class BatchReport:
    clients: int
    chunks: int
    seconds: float
    rows_per_second: float
    peak_rss_mib: float
    high_risk: int
    threshold: float
    model_version: str


def client_id_chunks(engine: Engine, chunk: int) -> Iterator[list[str]]:
    """Every client id, in order, `chunk` at a time (keyset pagination: no OFFSET scans)."""
    last = ""
    while True:
        with engine.connect() as connection:
            ids = list(
                connection.scalars(select(Client.id).where(Client.id > last).order_by(Client.id).limit(chunk))
            )
        if not ids:
            return
        yield ids
        last = ids[-1]


def score_all_clients(
    engine: Engine, model: VocRiskModel, threshold: float, chunk: int = 5000, as_of: datetime | None = None
) -> BatchReport:
    as_of = as_of or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    table = RiskScores(engine)
    started = time.perf_counter()
    clients = chunks = high = 0
    for ids in client_id_chunks(engine, chunk):
        scores = model.predict(client_features(engine, ids, as_of))
        table.upsert(list(zip(ids, scores.tolist(), strict=True)), as_of.date(), model.version)
        clients += len(ids)
        chunks += 1
        high += int((scores >= threshold).sum())
        log.info("risk chunk scored", extra={"count": clients, "chunks": chunks})
    seconds = time.perf_counter() - started
    return BatchReport(
        clients=clients,
        chunks=chunks,
        seconds=round(seconds, 3),
        rows_per_second=round(clients / seconds, 1) if seconds else 0.0,
        peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        high_risk=high,
        threshold=threshold,
        model_version=model.version,
    )
