"""The decision policy: the bank's business rules for one client message, in order.

1. The dialog is already with an operator          → the operator answers (no bot reply).
2. A quick-reply button was clicked                → continue as that intent (step 5).
3. The client asks for a human                     → hand-off `operator_requested`.
   Risk gate: the dialog's first message from a client whose daily VOC-risk score
   is at least `voc_risk_threshold`               → hand-off `high_voc_risk`.
4. Classify the message with its dialog context; a Russian message with the Russian intent model
   (multilingual E5; one threshold for every intent, tuned on Russian dev messages).
   A follow-up that leans on the client's previous message in the dialog ("how long?" after "I ordered
   a new card"; `first_line/follow_up_model.py`), or that answers the bot's request to say more (step 6), is
   read again together with that message, unless its best reading is one of `stand_alone_intents`
   ("thanks, bye").
5. Confident (p ≥ the intent's own threshold), and for a follow-up the reading with the previous
   message gives the same intent (for the answer to a request to say more, confidently) (else step 6):
   - transfer-only intent                          → hand-off `transfer_only_intent`;
   - escalated intent                              → second line;
   - else the scripted answer for this client       → answer `scripted_answer`
     (the empathetic variant when the message reads negative and the scenario has one);
     likes gate (English messages): P(dislike | message, context, answer) > `dislike_threshold`
                                                   → hand-off `predicted_dislike` instead;
     + up to three next-intent buttons (the intents the client likely asks for next).
6. Unsure:
   - the pools model is sure of a pool with ≥ 2 likely intents in it
     (a Russian message: the pool whose intents hold the most probability)
                                                   → clarifying question with buttons;
     else the same, reading the message with the client's previous one in the dialog
     (a follow-up: that reading is asked first)    → clarifying question with buttons;
   - the best guess is an escalated intent          → second line (knowledge questions);
   - the bot did not just ask, and the message does not read upset
     (`ask_to_rephrase`)                           → ask the client to say more (`rephrase_request`),
     whose next message is then read with this one as a follow-up (step 4);
   - else                                          → hand-off `unsure`.
Second line: `SecondLine.answer` (second_line/answerer.py): a cited answer or a hand-off with its reason;
without a knowledge-base index it is a hand-off `second_line_unavailable`.
Every turn the bot answers: the end-of-dialog detector → `feedback_form` (VOC 1..5).

Every decision carries its reason and the scores behind it; the router stores them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from pydantic import BaseModel

from first_line.domain import Domain
from first_line.entities import Entity, slots_from_entities
from first_line.follow_up_model import with_previous
from first_line.intent_model import IntentPrediction
from first_line.language import looks_russian
from first_line.operator_request import is_operator_request
from first_line.pools_model import PoolPrediction
from first_line.responses import ClientProfile, client_language, render_response
from first_line.thresholds import Thresholds

DecisionKind = Literal["answer", "clarify", "handoff", "second_line", "none"]
BUTTON_PREFIX = "intent:"
REPHRASE_REQUEST = "rephrase_request"


class Button(BaseModel):
    label: str
    payload: str


class Decision(BaseModel):
    kind: DecisionKind
    reason: str
    reply: str | None = None
    buttons: list[Button] = []
    intent: str | None = None
    confidence: float | None = None
    threshold: float | None = None
    pool: str | None = None
    scores: dict = {}
    feedback_form: bool = False
    """The end-of-dialog detector fired: the client app shows the VOC 1..5 form."""
    variant: str | None = None
    """The A/B experiment variant whose policy decided (None outside experiments)."""


class Turn(BaseModel):
    """What the policy knows about the incoming message."""

    dialog_key: str
    text: str
    button_payload: str | None = None
    context: list[str] = []
    """The client's earlier messages of the last N days, oldest first."""
    profile: ClientProfile = ClientProfile()
    dialog_status: str = "open"
    today: date | None = None
    negativity: float | None = None
    """P(the message is negative), from the sentiment model; None when not scored."""
    first_message: bool = False
    """The dialog's first client message (the risk gate looks only at those)."""
    voc_risk: float | None = None
    """The client's daily VOC-risk score (batch-scored); None when unknown or stale."""
    dialog_turns: list[tuple[str, str | None]] = []
    """This dialog's earlier client messages with the intent decided for each, oldest first."""
    previous_reason: str | None = None
    """The reason of the decision on this dialog's previous client message (None: none before it)."""

    @property
    def answers_rephrase_request(self) -> bool:
        """The bot's last turn asked the client to say more (rule 6): this message goes on from that one."""
        return self.previous_reason == REPHRASE_REQUEST


class IntentClassifier(Protocol):
    def predict(self, text: str, context: list[str] | None = None) -> IntentPrediction: ...


class PoolClassifier(Protocol):
    def predict(self, text: str, context: list[str] | None = None) -> PoolPrediction: ...


class DislikeScorer(Protocol):
    def p_dislike(self, text: str, context: list[str], answer: str) -> float: ...


class SecondLine(Protocol):
    def answer(self, turn: Turn) -> Decision: ...


class DialogGates(Protocol):
    """Next-intent buttons after an answer, the end-of-dialog form (router/dialog_gates.py)."""

    def apply(self, turn: Turn, decision: Decision) -> Decision: ...


class FollowUps(Protocol):
    def is_follow_up(self, text: str) -> tuple[bool, float]: ...


@dataclass(frozen=True)
class Reading:
    """One reading of a message: the text a model read (the message alone, or with the previous one), its
    context and what the intent model made of it."""

    text: str
    context: list[str]
    prediction: IntentPrediction


@dataclass(frozen=True)
class IntentReader:
    """A classifier with the thresholds its probabilities are read against."""

    classifier: IntentClassifier
    thresholds: Thresholds


EntityExtractor = Callable[[str, str, date | None, bool], list[Entity]]
"""(text, language, today, use NER) -> entities; rules always run, NER (names, merchants) on request."""


def button_intent(payload: str, domain: Domain) -> str | None:
    """The intent a button payload stands for, or None if the payload is not ours."""
    if payload.startswith(BUTTON_PREFIX) and payload[len(BUTTON_PREFIX) :] in domain.intents:
        return payload[len(BUTTON_PREFIX) :]
    return None


class DecisionPolicy:
    def __init__(
        self,
        domain: Domain,
        intents: IntentClassifier,
        pools: PoolClassifier,
        thresholds: Thresholds,
        extract_entities: EntityExtractor,
        second_line: SecondLine | None = None,
        likes: DislikeScorer | None = None,
        dialog_gates: DialogGates | None = None,
        russian: IntentReader | None = None,
        follow_ups: dict[str, FollowUps] | None = None,
    ) -> None:
        self.domain = domain
        self.intents = intents
        self.pools = pools
        self.thresholds = thresholds
        self.extract_entities = extract_entities
        self.second_line = second_line
        self.likes = likes
        self.dialog_gates = dialog_gates
        self.russian = russian
        """Russian messages' intents (first_line/russian_intent_model.py); None: read by `intents`."""
        self.follow_ups = follow_ups or {}
        """Tells a follow-up from a self-contained message, by language ("en", "ru": the one its intent model
        reads); a language without one reads every message alone."""
        self.policy = domain.settings.policy

    def decide(self, turn: Turn) -> Decision:
        decision = self._decide(turn)
        return self.dialog_gates.apply(turn, decision) if self.dialog_gates else decision

    def _decide(self, turn: Turn) -> Decision:
        if turn.dialog_status == "handed_off":
            return Decision(kind="none", reason="with_operator")
        if turn.button_payload:
            return self._button_click(turn)
        if is_operator_request(turn.text):
            return self.handoff(turn, "operator_requested")
        if self._high_voc_risk(turn):
            return self.handoff(turn, "high_voc_risk", scores={"voc_risk": round(turn.voc_risk or 0.0, 4)})
        russian = self.russian is not None and looks_russian(turn.text)
        reader = self.russian if russian else IntentReader(self.intents, self.thresholds)
        prediction = reader.classifier.predict(turn.text, turn.context)
        threshold = reader.thresholds.for_intent(prediction.top)
        scores = {"top_intents": [[i, round(p, 4)] for i, p in prediction.top_k(5)]}
        if russian:
            scores["intent_model"] = "russian"
        if turn.negativity is not None:
            scores["sentiment"] = round(turn.negativity, 4)
        confident = prediction.confidence >= threshold
        stands_alone = prediction.top in self.policy.stand_alone_intents
        follow_up = None if stands_alone else self._follow_up_reading(turn, reader, russian, scores)
        if confident and (follow_up is None or self._readings_agree(turn, reader, prediction, follow_up)):
            decision = self._confident(turn, prediction.top, "confident")
        else:
            alone = Reading(turn.text, turn.context, prediction)
            readings = self._readings_to_ask(turn, reader, alone, follow_up, scores)
            decision = self._unsure(turn, prediction, readings, scores, russian)
        return decision.model_copy(
            update={
                "intent": decision.intent or prediction.top,
                "confidence": prediction.confidence,
                "threshold": threshold,
                "scores": scores | decision.scores,
            }
        )

    @staticmethod
    def _readings_agree(
        turn: Turn, reader: IntentReader, alone: IntentPrediction, follow_up: Reading
    ) -> bool:
        """A follow-up read with the message before gives the intent it gives alone; the answer to a request
        to say more must be sure read that way too (the message it explains was one the bot could not
        read)."""
        together = follow_up.prediction
        if together.top != alone.top:
            return False
        if not turn.answers_rephrase_request:
            return True
        return together.confidence >= reader.thresholds.for_intent(together.top)

    def _reads_upset(self, turn: Turn) -> bool:
        """The sentiment model reads the message at least as negative as `negative_sentiment_threshold`: the
        empathetic answer variant, and no request to say more."""
        return turn.negativity is not None and turn.negativity >= self.policy.negative_sentiment_threshold

    def _high_voc_risk(self, turn: Turn) -> bool:
        """The dialog's first message, from a client the daily batch scored at or above the threshold."""
        return turn.first_message and (turn.voc_risk or 0.0) >= self.policy.voc_risk_threshold

    # -- rule 5: the classifier is sure -------------------------------------------------
    def _confident(self, turn: Turn, intent: str, how: str) -> Decision:
        config = self.domain.intents[intent]
        if config.transfer_only:
            return self.handoff(turn, "transfer_only_intent", intent=intent)
        if config.escalate:
            return self._escalate(turn, intent)
        return self._scripted_answer(turn, intent, how)

    def _scripted_answer(self, turn: Turn, intent: str, how: str) -> Decision:
        language = client_language(self.domain, turn.profile)
        # NER only when one of this intent's answers can name the merchant (names come from the profile).
        needs_ner = any("merchant" in v.slots for v in self.domain.responses[language].get(intent, ()))
        entities = self.extract_entities(turn.text, language, turn.today, needs_ner) if turn.text else []
        slots = slots_from_entities(entities)
        response = render_response(
            self.domain, intent, turn.profile, slots, turn.dialog_key, self._reads_upset(turn)
        )
        shown = {"language": response.language, "style": response.style, "variant": response.variant,
                 "empathetic": response.empathetic}  # fmt: skip
        asked = turn.text.strip() or self.domain.intents[intent].label[language]  # a bare click: its label
        gated = self.likes is not None and not looks_russian(asked)  # its MiniLM reads Russian as noise
        p_dislike = self.likes.p_dislike(asked, turn.context, response.text) if gated else None
        if p_dislike is not None and p_dislike > self.policy.dislike_threshold:
            gate = {"p_dislike": round(p_dislike, 4), "response": shown}
            return self.handoff(turn, "predicted_dislike", intent=intent, scores=gate)
        return Decision(
            kind="answer",
            reason="button_click" if how == "button" else "scripted_answer",
            reply=response.text,
            intent=intent,
            scores={
                "response": shown,
                "entities": [{"kind": e.kind, "value": e.value} for e in entities],
            }
            | ({"p_dislike": round(p_dislike, 4)} if p_dislike is not None else {}),
        )

    # -- rule 4: a follow-up is read with the message before -------------------------------
    def _follow_up_reading(
        self, turn: Turn, reader: IntentReader, russian: bool, scores: dict
    ) -> Reading | None:
        """A message that leans on the client's previous one ("how long?"), read together with it; None for
        a message that stands on its own, or with no message before it in the dialog."""
        detector = self.follow_ups.get("ru" if russian else "en")
        previous = self._previous_message(turn)
        if previous is None or not turn.text.strip():
            return None
        if turn.answers_rephrase_request:
            scores["after_rephrase_request"] = True
            return self._read_with_previous(reader, previous, turn.text, scores)
        if detector is None:
            return None
        leans, p_follow_up = detector.is_follow_up(turn.text)
        scores["follow_up"] = round(p_follow_up, 4)
        if not leans:
            return None
        return self._read_with_previous(reader, previous, turn.text, scores)

    @staticmethod
    def _read_with_previous(reader: IntentReader, previous: str, text: str, scores: dict) -> Reading:
        both = with_previous(previous, text)
        read = reader.classifier.predict(both, [])
        scores["read_with_previous"] = [[i, round(p, 4)] for i, p in read.top_k(5)]
        return Reading(both, [], read)

    # -- rule 6: the classifier is unsure -------------------------------------------------
    def _unsure(
        self,
        turn: Turn,
        prediction: IntentPrediction,
        readings: Iterator[Reading],
        scores: dict,
        russian: bool,
    ) -> Decision:
        """`readings`: the message's readings whose clarifying question may be asked, in order."""
        for reading in readings:
            pool, offered = self._clarification(reading, russian)
            if offered or reading.prediction is prediction:
                scores["pool"] = [pool.pool, round(pool.confidence, 4)]
            if offered:
                language = client_language(self.domain, turn.profile)
                return Decision(
                    kind="clarify",
                    reason="pool_clarification",
                    reply=self.domain.pools[pool.pool].question[language],
                    buttons=[self._button(intent, language) for intent in offered],
                    pool=pool.pool,
                )
        if self.domain.intents[prediction.top].escalate:
            return self._escalate(turn, prediction.top)
        if self._may_ask_to_rephrase(turn):
            return self._rephrase_request(turn)
        return self.handoff(turn, "unsure")

    def _may_ask_to_rephrase(self, turn: Turn) -> bool:
        """Not twice in a row, not of a client who reads upset, and only of a message with words in it."""
        asked = turn.answers_rephrase_request
        return (
            self.policy.ask_to_rephrase
            and not self._reads_upset(turn)
            and not asked
            and bool(turn.text.strip())
        )

    def _rephrase_request(self, turn: Turn) -> Decision:
        language = client_language(self.domain, turn.profile)
        return Decision(
            kind="clarify",
            reason=REPHRASE_REQUEST,
            reply=self.domain.settings.messages["rephrase"][language],
            buttons=[self._button(intent, language) for intent in self.policy.rephrase_buttons],
        )

    def _readings_to_ask(
        self, turn: Turn, reader: IntentReader, alone: Reading, follow_up: Reading | None, scores: dict
    ) -> Iterator[Reading]:
        """In order: a follow-up's reading with the previous message first, then the message alone, then (if
        not read yet, and only when asked for) the message with the previous one ("how long will it take?"
        that the follow-up detector did not catch)."""
        if follow_up is not None:
            yield follow_up
        yield alone
        previous = self._previous_message(turn)
        if follow_up is None and previous is not None:
            yield self._read_with_previous(reader, previous, turn.text, scores)

    def _clarification(self, reading: Reading, russian: bool) -> tuple[PoolPrediction, list[str]]:
        """The pool of an unsure reading and the buttons of its clarifying question (none: not asked)."""
        prediction = reading.prediction
        if russian:
            pool = pool_of_intents(prediction, self.domain)
        else:
            pool = self.pools.predict(reading.text, reading.context)
        return pool, clarifying_intents(prediction, self.domain, pool)

    @staticmethod
    def _previous_message(turn: Turn) -> str | None:
        """The client's message before this one in the same dialog, if any."""
        earlier = [text for text, _ in turn.dialog_turns if text.strip()]
        return earlier[-1] if earlier else None

    def _button(self, intent: str, language: str) -> Button:
        return Button(label=self.domain.intents[intent].label[language], payload=BUTTON_PREFIX + intent)

    # -- rule 2: a button was clicked -----------------------------------------------------
    def _button_click(self, turn: Turn) -> Decision:
        intent = button_intent(turn.button_payload or "", self.domain)
        if intent is None:  # the API refuses unknown payloads; this guards direct callers
            raise ValueError(f"unknown button payload {turn.button_payload!r}")
        decision = self._confident(turn, intent, "button")
        return decision.model_copy(
            update={
                "intent": intent,
                "confidence": 1.0,
                "scores": {"button": turn.button_payload} | decision.scores,
            }
        )

    # -- hand-offs and the second line ----------------------------------------------------
    def _escalate(self, turn: Turn, intent: str) -> Decision:
        if self.second_line is None:
            return self.handoff(turn, "second_line_unavailable", intent=intent)
        decision = self.second_line.answer(turn.model_copy(update={"text": self._question(turn, intent)}))
        if decision.kind == "handoff":  # through `handoff`, so the ticket gets the entities too
            handoff = self.handoff(turn, decision.reason, intent=intent)
            return handoff.model_copy(update={"scores": decision.scores | handoff.scores})
        return decision.model_copy(update={"intent": decision.intent or intent})

    def _question(self, turn: Turn, intent: str) -> str:
        """What the second line answers: the message, or for a bare button click the client's message
        before it (the question the clarifying buttons were offered for), else the button's label."""
        if turn.text.strip():
            return turn.text
        previous = self._previous_message(turn)
        if previous:
            return previous
        return self.domain.intents[intent].label[client_language(self.domain, turn.profile)]

    def handoff(
        self, turn: Turn, reason: str, intent: str | None = None, scores: dict | None = None
    ) -> Decision:
        """Pass the dialog to an operator; the entities of the message go into the ticket's summary."""
        language = client_language(self.domain, turn.profile)
        entities = self.extract_entities(turn.text, language, turn.today, True) if turn.text.strip() else []
        return Decision(
            kind="handoff",
            reason=reason,
            reply=self.domain.settings.messages["handoff"][language],
            intent=intent,
            scores={"entities": [{"kind": e.kind, "value": e.value} for e in entities]} | (scores or {}),
        )


def pool_of_intents(prediction: IntentPrediction, domain: Domain) -> PoolPrediction:
    """The pool whose intents hold the most of the prediction's probability, with that sum as its
    confidence (the pools model reads MiniLM, which knows English only)."""
    mass: dict[str, float] = {}
    pool_of = domain.pool_by_intent
    for intent, p in zip(prediction.intents, prediction.probabilities, strict=True):
        pool = pool_of.get(intent)
        if pool is not None:
            mass[pool] = mass.get(pool, 0.0) + float(p)
    if not mass:
        return PoolPrediction(pool="", confidence=0.0)
    best = max(mass, key=mass.__getitem__)
    return PoolPrediction(pool=best, confidence=mass[best])


def clarifying_intents(prediction: IntentPrediction, domain: Domain, pool: PoolPrediction) -> list[str]:
    """Rule 6's buttons: the pool's likely intents when the pool is sure (`pool_threshold`) and offers at
    least two; empty when no clarifying question is asked."""
    if pool.pool not in domain.pools or pool.confidence < domain.settings.policy.pool_threshold:
        return []
    likely = likely_pool_intents(prediction, domain, pool.pool)
    return likely if len(likely) >= 2 else []


def likely_pool_intents(prediction: IntentPrediction, domain: Domain, pool: str) -> list[str]:
    """The pool's intents the prediction finds likely (p ≥ `min_button_probability`), best first, at most
    `max_buttons`: the buttons of a clarifying question."""
    policy = domain.settings.policy
    members = set(domain.pools[pool].intents)
    return [
        intent
        for intent, p in zip(prediction.intents, prediction.probabilities, strict=True)
        if intent in members and p >= policy.min_button_probability
    ][: policy.max_buttons]
