"""Prometheus metrics: decisions by kind and reason, turn latency, automation.

With several uvicorn workers, metrics are aggregated through PROMETHEUS_MULTIPROC_DIR
(set by `twoline serve`). Automation is the business's own number: the share of dialogs the bot finished,
that never went to an operator and were not left on a clarifying question the client did not answer for
30 minutes (buttons, or a request to say more), read from the dialog store at scrape time. While the store
is down a scrape still answers, with the process's own counters and `twoline_store_up 0`: monitoring keeps
its view of the service exactly when it matters.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.exc import DBAPIError

from router.store.dialog_store import DialogCounts, StoreUnavailableError

DECISIONS = Counter("twoline_decisions_total", "Decisions by kind and reason", ["kind", "reason"])
TURN_LATENCY = Histogram(
    "twoline_turn_latency_seconds",
    "Time from the accepted message to the stored decision",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)
REQUEST_ERRORS = Counter("twoline_request_errors_total", "Refused requests by error code", ["code"])


class _AutomationCollector:
    def __init__(self, dialog_counts: Callable[[], DialogCounts]) -> None:
        self._dialog_counts = dialog_counts

    def collect(self):
        counts = self._dialog_counts()
        yield GaugeMetricFamily("twoline_dialogs", "Dialogs in the store", value=counts.total)
        yield GaugeMetricFamily(
            "twoline_dialogs_handed_off", "Dialogs that went to an operator", value=counts.handed_off
        )
        yield GaugeMetricFamily(
            "twoline_dialogs_left_on_a_question",
            "Dialogs whose last bot turn is a clarifying question unanswered for 30 minutes",
            value=counts.left_on_a_question,
        )
        yield GaugeMetricFamily(
            "twoline_automation_ratio",
            "Share of dialogs the bot finished: no operator, no question left unanswered",
            value=counts.automation,
        )


def render_metrics(dialog_counts: Callable[[], DialogCounts], extra_collectors: Sequence = ()) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in (DECISIONS, TURN_LATENCY, REQUEST_ERRORS):
            registry.register(metric)
    # e.g. router/operator_metrics.py: outcomes, VOC, likes
    registry.register(_StoreBacked([_AutomationCollector(dialog_counts), *extra_collectors]))
    return generate_latest(registry)


class _StoreBacked:
    """Collectors that read the dialog store, all or nothing: `twoline_store_up` says whether they could."""

    def __init__(self, collectors: Sequence) -> None:
        self._collectors = collectors

    def collect(self):
        try:
            families, up = [family for collector in self._collectors for family in collector.collect()], 1.0
        except (DBAPIError, StoreUnavailableError):
            families, up = [], 0.0
        yield GaugeMetricFamily("twoline_store_up", "1 when the dialog store answered this scrape", value=up)
        yield from families
