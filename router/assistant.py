"""The assistant: domain, models, store and policy wired together; one `handle()` per client message.

Both the HTTP API and `twoline chat` go through `Assistant.handle`, so a terminal chat behaves
exactly like the service.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from first_line.artifacts import ArtifactError
from first_line.domain import Domain, ExperimentVariant, load_domain
from first_line.e5_graph import reads_this_e5
from first_line.entities import EntityExtractor
from first_line.follow_up_model import FollowUpDetector, written_follow_ups
from first_line.intent_model import IntentModel, reads_this_intent_encoder
from first_line.intent_training import DEV_PROBABILITIES
from first_line.language import looks_russian
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.pools_model import PoolsModel
from first_line.responses import with_message_language
from first_line.russian_intent_model import RussianIntentModel
from first_line.thresholds import Thresholds, tune_thresholds
from first_line.translit_reader import TranslitReader
from router.client_signals import ClientSignals, load_likes_model
from router.context_readings import ContextReadings
from router.dialog_gates import load_dialog_gates
from router.experiments import VariantPolicies, resolve_artifacts_dir, variant_policy
from router.handoff import handoff_summary
from router.metrics import DECISIONS, TURN_LATENCY
from router.policy import Button, Decision, DecisionPolicy, IntentReader, Turn
from router.screenshots import load_screenshot_reader, read_screenshot
from router.second_line_training import SecondLineWatcher, pending_state
from router.settings import Settings
from router.store.database import create_store_engine, migrate
from router.store.dialog_store import AcceptedMessage, DialogStore
from router.store.encryption import cipher_from_settings
from router.turn_gate import SlowWorkReleasesSlot, TurnGate
from second_line.factory import build_second_line
from second_line.streaming import ACCEPTED_SINK

if TYPE_CHECKING:
    from first_line.ocr import ScreenshotReader

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
    feedback_form: bool = False


def load_thresholds(
    intent_model: IntentModel, domain: Domain, variant: ExperimentVariant | None = None
) -> Thresholds:
    """Per-intent thresholds from the artifact's dev probabilities, at the domain's target precision
    (or an experiment variant's), with the configured overrides winning."""
    dev = np.load(intent_model.artifact_dir / DEV_PROBABILITIES)
    overrides = domain.threshold_overrides
    policy = domain.settings.policy
    target = policy.target_precision
    if variant is not None:
        overrides |= variant.thresholds
        target = variant.target_precision or target
    return tune_thresholds(
        dev["probabilities"],
        dev["labels"],
        intent_model.intents,
        target,
        policy.threshold_prior_strength,
        overrides,
    )


def load_russian_reader(
    settings: Settings, domain: Domain, encoder: MultilingualEncoder | None = None
) -> IntentReader | None:
    """The Russian intent model with its threshold, when the domain speaks Russian (None otherwise: Russian
    messages are then read by the English model). `encoder`: the sentiment model's E5, so that a Russian
    message is embedded once for both."""
    if "ru" not in domain.settings.languages:
        return None
    model = RussianIntentModel(settings.russian_intents_dir, encoder)
    check_labels_match(model.intents, domain, settings.russian_intents_dir)
    model.warm_up()
    thresholds = model.thresholds(domain.settings.policy.target_precision, domain.threshold_overrides)
    return IntentReader(model, thresholds)


def load_translit_reader(settings: Settings, domain: Domain) -> TranslitReader | None:
    """The reader of Russian typed in Latin letters, trained with the Russian intent model, when the
    domain speaks Russian."""
    if "ru" not in domain.settings.languages:
        return None
    reader = TranslitReader(settings.russian_intents_dir)
    reader.warm_up()
    return reader


def load_first_line_models(
    intents_dir: Path, pools_dir: Path, settings: Settings, domain: Domain
) -> tuple[IntentModel, PoolsModel]:
    """The intent classifier and the pools model of one artifacts folder, checked against the domain."""
    intent_model = IntentModel(
        intents_dir, threads=settings.intent_model_threads, cache_size=settings.encoder_cache_size
    )
    check_intents_match(intent_model, domain)
    intent_model.warm_up()
    pools = PoolsModel(pools_dir, intent_model.encoder, domain.pool_by_intent)
    if not reads_this_intent_encoder(pools.manifest.depends_on, intent_model.manifest):
        raise ArtifactError(f"{pools_dir}: trained on another intent model; run `twoline train pools`")
    return intent_model, pools


def load_follow_up_detectors(
    settings: Settings, domain: Domain, intent_model: IntentModel, russian_encoder: MultilingualEncoder
) -> dict[str, FollowUpDetector]:
    """The follow-up detectors by language, each on its intent model's encoder (MiniLM for English, E5 for
    Russian); a language whose domain has no written follow-ups has none (its messages are read alone)."""
    detectors = {}
    if written_follow_ups(settings.domain_dir, "en"):
        detectors["en"] = FollowUpDetector(settings.follow_ups_dir, intent_model.encoder)
        if not reads_this_intent_encoder(detectors["en"].manifest.depends_on, intent_model.manifest):
            raise ArtifactError(
                f"{settings.follow_ups_dir}: trained on another intent model; run `twoline train intents`"
            )
    if "ru" in domain.settings.languages and written_follow_ups(settings.domain_dir, "ru"):
        detectors["ru"] = FollowUpDetector(settings.russian_follow_ups_dir, russian_encoder)
        if not reads_this_e5(detectors["ru"].manifest.depends_on):
            raise ArtifactError(
                f"{settings.russian_follow_ups_dir}: trained on another E5 graph; run `twoline train intents`"
            )
    return detectors


def load_variant_policies(
    base: DecisionPolicy, intent_model: IntentModel, settings: Settings, domain: Domain
) -> VariantPolicies:
    """One policy per variant of the running A/B experiment (none: everybody gets the base policy)."""
    experiment = domain.settings.experiment
    by_variant = {}
    for variant in experiment.variants if experiment else ():
        folder = resolve_artifacts_dir(variant, settings.artifacts_dir)
        if folder == settings.artifacts_dir:
            by_variant[variant.name] = variant_policy(base, load_thresholds(intent_model, domain, variant))
            continue
        intents, pools = load_first_line_models(folder / "intents", folder / "pools", settings, domain)
        thresholds = load_thresholds(intents, domain, variant)
        by_variant[variant.name] = variant_policy(base, thresholds, intents, pools)
    return VariantPolicies(base, experiment, by_variant)


def load_second_line(settings: Settings, domain: Domain):
    """The second line's answerer, warmed up; None when it is off or has no index."""
    return build_second_line(
        settings.second_line, settings.artifacts_dir, domain, settings.domain_dir, use_ner=settings.use_ner
    )


def plain_answers(domain: Domain) -> list[str]:
    """Every scripted answer with nothing to fill in: the same text each time it is given."""
    return [
        v.text
        for by_intent in domain.responses.values()
        for variants in by_intent.values()
        for v in variants
        if v.is_plain
    ]


def check_intents_match(intent_model: IntentModel, domain: Domain) -> None:
    check_labels_match(intent_model.intents, domain, intent_model.artifact_dir)


def check_labels_match(trained_labels: list[str], domain: Domain, artifact_dir: Path) -> None:
    trained, configured = set(trained_labels), set(domain.intents)
    if trained != configured:
        raise ArtifactError(
            f"{artifact_dir}: trained for other intents than {domain.settings.name} "
            f"(not trained: {sorted(configured - trained)[:5]}, "
            f"not configured: {sorted(trained - configured)[:5]}); "
            "run `twoline train intents`"
        )


class Assistant:
    def __init__(
        self,
        settings: Settings,
        domain: Domain,
        store: DialogStore,
        policy: DecisionPolicy,
        ocr: ScreenshotReader | None = None,
        signals: ClientSignals | None = None,
        variants: VariantPolicies | None = None,
        gate: TurnGate | None = None,
        translit: TranslitReader | None = None,
        readings: ContextReadings | None = None,
    ) -> None:
        self.settings = settings
        self.domain = domain
        self.store = store
        self.policy = policy
        self.signals = signals
        self.ocr = ocr
        """Reads screenshots; None when OCR is off or not installed (images are then refused)."""
        self.variants = variants or VariantPolicies(policy, None, {})
        self.gate = gate or TurnGate(settings.turn_slots)
        """How many turns this process computes at once (router/turn_gate.py)."""
        self.translit = translit
        """Reads Russian typed in Latin letters (first_line/translit_reader.py); None: the domain speaks no
        Russian."""
        self.readings = readings
        """Stores an encoder's reading of each client message for the client's next turns
        (router/context_readings.py); None: every turn embeds its context itself."""
        self.second_line_watcher: SecondLineWatcher | None = None
        """Set while the second line trains in the background (router/second_line_training.py)."""

    @classmethod
    def load(cls, settings: Settings) -> Assistant:
        """Load and check everything; raises DomainConfigError / ArtifactError with a clear message."""
        domain = load_domain(settings.domain_dir)
        intent_model, pools = load_first_line_models(
            settings.intents_dir, settings.pools_dir, settings, domain
        )
        extractor = EntityExtractor(use_ner=settings.use_ner)
        extractor.warm_up()
        likes = load_likes_model(settings.likes_dir, intent_model)
        likes.warm_up(plain_answers(domain))
        engine = create_store_engine(settings.database_url, cipher_from_settings(settings))
        migrate(engine)
        signals = ClientSignals.load(
            settings.sentiment_dir, engine, domain.settings.policy.voc_risk_max_age_days, intent_model
        )
        gate = TurnGate(settings.turn_slots)
        training = pending_state(settings) is not None  # the second line trains in the background
        second_line = None if training else load_second_line(settings, domain)
        russian = load_russian_reader(settings, domain, signals.sentiment.encoder)
        policy = DecisionPolicy(
            domain=domain,
            intents=intent_model,
            pools=pools,
            thresholds=load_thresholds(intent_model, domain),
            extract_entities=extractor.run,
            likes=likes,
            second_line=second_line and SlowWorkReleasesSlot(second_line, gate),
            dialog_gates=load_dialog_gates(
                settings.artifacts_dir, settings.domain_dir, domain, signals.sentiment.encoder
            ),
            russian=russian,
            follow_ups=load_follow_up_detectors(settings, domain, intent_model, signals.sentiment.encoder),
        )
        variants = load_variant_policies(policy, intent_model, settings, domain)
        store = DialogStore(engine)
        ocr = load_screenshot_reader(settings)
        translit = load_translit_reader(settings, domain)
        readings = ContextReadings(intent_model.encoder, signals.sentiment.encoder)
        assistant = cls(settings, domain, store, policy, ocr, signals, variants, gate, translit, readings)
        if training:
            assistant.second_line_watcher = SecondLineWatcher(settings, assistant.attach_second_line).start()
        return assistant

    def attach_second_line(self) -> None:
        """Load the second line (trained in the background meanwhile) into every policy of this process."""
        answerer = load_second_line(self.settings, self.domain)
        wrapped = answerer and SlowWorkReleasesSlot(answerer, self.gate)
        for policy in self.variants.policies():
            policy.second_line = wrapped

    @property
    def second_line_state(self) -> str:
        """For /readyz: "training" / "failed" while the background training runs or after it failed,
        else "ready" (answering) or "off" (disabled, or no index)."""
        if self.second_line_watcher is not None and self.second_line_watcher.state != "ready":
            return self.second_line_watcher.state
        return "ready" if self.policy.second_line is not None else "off"

    def handle(
        self,
        client_id: str,
        text: str,
        dialog_id: str | None = None,
        button_payload: str | None = None,
        client_message_id: str | None = None,
        language: str | None = None,
        image: np.ndarray | None = None,
    ) -> TurnResult:
        with self.gate.turn():
            return self._handle(
                client_id, text, dialog_id, button_payload, client_message_id, language, image
            )

    def _handle(
        self,
        client_id: str,
        text: str,
        dialog_id: str | None,
        button_payload: str | None,
        client_message_id: str | None,
        language: str | None,
        image: np.ndarray | None,
    ) -> TurnResult:
        accepted = self.store.accept_message(
            client_id, dialog_id, text, button_payload, client_message_id, language
        )
        if (tell_accepted := ACCEPTED_SINK.get()) is not None:
            tell_accepted(accepted.dialog_id, accepted.message_id)
        if accepted.is_retry:
            earlier = self._earlier_result(accepted)
            if earlier is not None:
                return earlier
        started = time.perf_counter()
        read_as = self._text_to_read(text) if not button_payload else text
        negativity = self._negativity(read_as) if not button_payload else None
        first_message = dialog_id is None
        decision = self._decide(
            client_id, accepted, read_as, button_payload, image, negativity, first_message
        )
        if read_as != text:
            decision = decision.model_copy(update={"scores": decision.scores | {"read_as": read_as}})
        latency = time.perf_counter() - started
        summary = None
        if decision.kind == "handoff":
            messages, decisions = self.store.dialog_history(accepted.dialog_id)
            summary = handoff_summary(messages, decisions, decision)
        reading = self.readings.to_store(text) if self.readings else None  # the next turns' context
        latency_ms = latency * 1000
        recorded = self.store.record_decision(accepted, decision, latency_ms, summary, negativity, reading)
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
            feedback_form=decision.feedback_form,
        )

    def _decide(
        self,
        client_id: str,
        accepted: AcceptedMessage,
        text: str,
        button_payload: str | None,
        image: np.ndarray | None = None,
        negativity: float | None = None,
        first_message: bool = False,
    ) -> Decision:
        policy = self.domain.settings.policy
        decision_policy, variant = self.variants.for_client(client_id)
        try:
            ocr_scores = {}
            if image is not None:  # the message is stored; now read the screenshot (step 4)
                with self.gate.waiting():
                    text, ocr_scores = read_screenshot(self.ocr, self.store, accepted.message_id, text, image)
                if not text.strip() and accepted.dialog_status != "handed_off":  # nothing legible
                    unreadable = self.policy.handoff(
                        Turn(dialog_key=accepted.dialog_id, text=""), "image_unreadable"
                    )
                    return unreadable.model_copy(update={"scores": unreadable.scores | ocr_scores})
            since = datetime.now(UTC) - timedelta(days=policy.context_days)
            known = self.store.turn_context(client_id, accepted, since, policy.context_messages)
            if self.readings is not None:
                self.readings.recall(known)
            read_earlier = self._earlier_text_reader(text)
            turn = Turn(
                dialog_key=accepted.dialog_id,
                text=text,
                button_payload=button_payload,
                context=[read_earlier(t) for t in known.recent_texts],
                profile=with_message_language(self.domain, known.profile, text),
                dialog_status=accepted.dialog_status,
                today=date.today(),
                negativity=negativity,
                first_message=first_message,
                voc_risk=self._voc_risk(client_id) if first_message else None,
                dialog_turns=[(read_earlier(t), intent) for t, intent in known.dialog_turns],
                previous_reason=known.previous_reason,
            )
            decision = decision_policy.decide(turn)
            return decision.model_copy(update={"scores": decision.scores | ocr_scores, "variant": variant})
        except Exception:  # the message is stored; the client gets a person, not an error
            log.exception("decision failed", extra={"message_id": accepted.message_id})
            failed = self.policy.handoff(Turn(dialog_key=accepted.dialog_id, text=""), "assistant_error")
            return failed.model_copy(update={"variant": variant})

    def _earlier_text_reader(self, text: str) -> Callable[[str], str]:
        """How the client's earlier messages are read for this turn: for a Russian message (Cyrillic, or
        translit already read in Cyrillic) an earlier translit message in Cyrillic too, for the Russian
        models that read them (the end-of-dialog head, rule 6's reading with the previous message); for
        an English message as written (reading every message of a long dialog cost ~0.7 ms a turn in the load
        test, where clients write ~15 messages a dialog)."""
        if self.translit is None or not looks_russian(text):
            return str  # as written
        return self._text_to_read

    def _text_to_read(self, text: str) -> str:
        """What the models read: the Cyrillic reading of Russian typed in Latin letters, else the text as
        sent (also when the reader fails: the turn goes on, logged)."""
        if self.translit is None or not text.strip():
            return text
        try:
            return self.translit.text_to_read(text)
        except Exception:
            log.exception("translit reading failed")
            return text

    def _negativity(self, text: str) -> float | None:
        """The sentiment model's P(negative); None (and a logged error) if it fails: the turn goes on."""
        if self.signals is None or not text.strip():
            return None
        try:
            return self.signals.negativity(text)
        except Exception:
            log.exception("sentiment failed")
            return None

    def _voc_risk(self, client_id: str) -> float | None:
        return self.signals.voc_risk(client_id, date.today()) if self.signals else None

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
            feedback_form=bool((row.scores or {}).get("dialog_end", {}).get("feedback_form")),
        )
