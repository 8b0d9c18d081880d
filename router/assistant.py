"""The assistant: domain, models, store and policy wired together; one `handle()` per client message.

Both the HTTP API and `twoline chat` go through `Assistant.handle`, so a terminal chat behaves
exactly like the service.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
from pydantic import BaseModel

from first_line.artifacts import ArtifactError
from first_line.domain import Domain, load_domain
from first_line.entities import EntityExtractor
from first_line.intent_model import IntentModel
from first_line.intent_training import DEV_PROBABILITIES
from first_line.pools_model import PoolsModel
from first_line.thresholds import Thresholds, tune_thresholds
from router.handoff import handoff_summary
from router.metrics import DECISIONS, TURN_LATENCY
from router.policy import Button, Decision, DecisionPolicy, Turn
from router.settings import Settings
from router.store.database import create_store_engine, migrate
from router.store.dialog_store import AcceptedMessage, DialogStore
from second_line.factory import build_second_line

log = logging.getLogger("twoline.assistant")


class TurnResult(BaseModel):
    dialog_id: str
    message_id: int
    reply: str | None
    buttons: list[Button]
    kind: str
    reason: str
    intent: str | None
    confidence: float | None
    reply_message_id: int | None
    ticket_id: int | None
    retry: bool = False
    citations: list[dict] = []
    """Second-line answers: [{index, title, url}] for the [n] markers in `reply`."""


def load_thresholds(intent_model: IntentModel, domain: Domain) -> Thresholds:
    """Per-intent thresholds from the artifact's dev probabilities, at the domain's target precision."""
    dev = np.load(intent_model.artifact_dir / DEV_PROBABILITIES)
    overrides = {name: i.threshold for name, i in domain.intents.items() if i.threshold is not None}
    policy = domain.settings.policy
    return tune_thresholds(
        dev["probabilities"],
        dev["labels"],
        intent_model.intents,
        policy.target_precision,
        policy.threshold_prior_strength,
        overrides,
    )


def check_intents_match(intent_model: IntentModel, domain: Domain) -> None:
    trained, configured = set(intent_model.intents), set(domain.intents)
    if trained != configured:
        raise ArtifactError(
            f"{intent_model.artifact_dir}: trained for other intents than {domain.settings.name} "
            f"(not trained: {sorted(configured - trained)[:5]}, "
            f"not configured: {sorted(trained - configured)[:5]}); "
            "run `twoline train intents`"
        )


class Assistant:
    def __init__(
        self, settings: Settings, domain: Domain, store: DialogStore, policy: DecisionPolicy
    ) -> None:
        self.settings = settings
        self.domain = domain
        self.store = store
        self.policy = policy

    @classmethod
    def load(cls, settings: Settings) -> Assistant:
        """Load and check everything; raises DomainConfigError / ArtifactError with a clear message."""
        domain = load_domain(settings.domain_dir)
        intent_model = IntentModel(
            settings.intents_dir,
            threads=settings.intent_model_threads,
            cache_size=settings.encoder_cache_size,
        )
        check_intents_match(intent_model, domain)
        intent_model.warm_up()
        pools = PoolsModel(settings.pools_dir, intent_model.encoder, domain.pool_by_intent)
        encoder_hash = intent_model.manifest.files.get("encoder.int8.onnx")
        if pools.manifest.depends_on.get("intents") != encoder_hash:
            raise ArtifactError(
                f"{settings.pools_dir}: trained on another intent model; run `twoline train pools`"
            )
        extractor = EntityExtractor(use_ner=settings.use_ner)
        extractor.warm_up()
        engine = create_store_engine(settings.database_url)
        migrate(engine)
        policy = DecisionPolicy(
            domain=domain,
            intents=intent_model,
            pools=pools,
            thresholds=load_thresholds(intent_model, domain),
            extract_entities=extractor.run,
            second_line=build_second_line(
                settings.second_line,
                settings.artifacts_dir,
                domain,
                settings.domain_dir,
                use_ner=settings.use_ner,
            ),
        )
        return cls(settings, domain, DialogStore(engine), policy)

    def handle(
        self,
        client_id: str,
        text: str,
        dialog_id: str | None = None,
        button_payload: str | None = None,
        client_message_id: str | None = None,
        language: str | None = None,
    ) -> TurnResult:
        accepted = self.store.accept_message(
            client_id, dialog_id, text, button_payload, client_message_id, language
        )
        if accepted.is_retry:
            earlier = self._earlier_result(accepted)
            if earlier is not None:
                return earlier
        started = time.perf_counter()
        decision = self._decide(client_id, accepted, text, button_payload)
        latency = time.perf_counter() - started
        summary = None
        if decision.kind == "handoff":
            messages, decisions = self.store.dialog_history(accepted.dialog_id)
            summary = handoff_summary(messages, decisions, decision)
        recorded = self.store.record_decision(accepted, decision, latency * 1000, summary)
        DECISIONS.labels(decision.kind, decision.reason).inc()
        TURN_LATENCY.observe(latency)
        log.info(
            "decision",
            extra={
                "dialog_id": accepted.dialog_id,
                "message_id": accepted.message_id,
                "kind": decision.kind,
                "reason": decision.reason,
                "intent": decision.intent,
                "confidence": decision.confidence,
                "latency_ms": round(latency * 1000, 2),
            },
        )
        return TurnResult(
            dialog_id=accepted.dialog_id,
            message_id=accepted.message_id,
            reply=decision.reply,
            buttons=decision.buttons,
            kind=decision.kind,
            reason=decision.reason,
            intent=decision.intent,
            confidence=decision.confidence,
            reply_message_id=recorded.reply_message_id,
            ticket_id=recorded.ticket_id,
            citations=decision.scores.get("citations", []),
        )

    def _decide(
        self, client_id: str, accepted: AcceptedMessage, text: str, button_payload: str | None
    ) -> Decision:
        policy = self.domain.settings.policy
        try:
            since = datetime.now(UTC) - timedelta(days=policy.context_days)
            context = self.store.recent_client_texts(
                client_id, since, policy.context_messages, accepted.message_id
            )
            turn = Turn(
                dialog_key=accepted.dialog_id,
                text=text,
                button_payload=button_payload,
                context=context,
                profile=self.store.client_profile(client_id),
                dialog_status=accepted.dialog_status,
                today=date.today(),
            )
            return self.policy.decide(turn)
        except Exception:  # the message is stored; the client gets a person, not an error
            log.exception("decision failed", extra={"message_id": accepted.message_id})
            return self.policy.handoff(Turn(dialog_key=accepted.dialog_id, text=""), "assistant_error")

    def _earlier_result(self, accepted: AcceptedMessage) -> TurnResult | None:
        recorded = self.store.recorded_turn(accepted.message_id)
        if recorded is None:
            return None
        row, reply, ticket_id = recorded
        return TurnResult(
            dialog_id=accepted.dialog_id,
            message_id=accepted.message_id,
            reply=reply.text if reply else None,
            buttons=[Button(**b) for b in (reply.buttons or [])] if reply else [],
            kind=row.kind,
            reason=row.reason,
            intent=row.intent,
            confidence=row.confidence,
            reply_message_id=row.reply_message_id,
            ticket_id=ticket_id,
            retry=True,
            citations=(row.scores or {}).get("citations", []),
        )
