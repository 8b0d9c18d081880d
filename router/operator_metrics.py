"""Prometheus gauges from the store at scrape time: hand-off outcomes, VOC by who handled the
dialog, likes and dislikes. Outcomes recorded in the operator console land here, next to the
automation ratio of router/metrics.py."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily

from router.store.ticket_store import TicketStore


class OperatorCollector:
    def __init__(self, tickets: TicketStore) -> None:
        self._tickets = tickets

    def collect(self):
        tickets = GaugeMetricFamily(
            "twoline_handoff_tickets", "Hand-off tickets by status and outcome", labels=["status", "outcome"]
        )
        for (status, outcome), count in sorted(self._tickets.outcome_counts().items()):
            tickets.add_metric([status, outcome], count)
        yield tickets
        voc = self._tickets.voc_by_handler()
        mean = GaugeMetricFamily(
            "twoline_voc_mean", "Mean VOC score (1..5) by who handled the dialog", labels=["handled_by"]
        )
        answered = GaugeMetricFamily(
            "twoline_voc_responses", "Dialogs with a VOC score by who handled them", labels=["handled_by"]
        )
        for handler, (count, average) in voc.items():
            mean.add_metric([handler], average)
            answered.add_metric([handler], count)
        yield mean
        yield answered
        reactions = GaugeMetricFamily(
            "twoline_reactions", "Likes and dislikes of bot answers", labels=["kind"]
        )
        for kind, count in self._tickets.reaction_counts().items():
            reactions.add_metric([kind], count)
        yield reactions
