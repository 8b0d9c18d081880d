"""The deployment's domain configuration: intents, pools, scripted responses, policy knobs.

A domain is one folder (e.g. `domains/demo_bank/`) of YAML files:

- `domain.yaml`    — languages, policy settings (target precision, buttons, registers).
- `intents.yaml`   — every intent: button label per language, `transfer_only`, `escalate`, `threshold`.
- `pools.yaml`     — groups of similar intents, each with its clarifying question per language.
- `responses/<lang>.yaml` — scripted answers: intent → register (formal | friendly) → variants;
                       optional `empathetic_formal` / `empathetic_friendly` for negative clients.

`load_domain()` validates all of it with pydantic and cross-checks the files against each other;
any problem raises `DomainConfigError` naming the file and the key, so the service refuses to
start instead of answering with a broken scenario tree.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Language = Literal["en", "ru"]
Register = Literal["formal", "friendly"]

EMPATHETIC_PREFIX = "empathetic_"
REGISTER_KEYS = ("formal", "friendly", "empathetic_formal", "empathetic_friendly")
SLOT_NAMES = frozenset({"amount", "date", "card_last4", "merchant", "name"})
_BRACE = re.compile(r"\{([^{}]*)\}")
_M = TypeVar("_M", bound=BaseModel)


class DomainConfigError(ValueError):
    """The domain configuration is invalid; the message names the file and the key."""

    def __init__(self, file: Path | str, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        super().__init__(f"{file}: {key}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicySettings(_Strict):
    """Business knobs of the decision policy (the trade-off between automation and VOC)."""

    target_precision: float = Field(0.98, gt=0.5, lt=1.0)
    """Per-intent thresholds are tuned so that answered messages reach this precision."""
    threshold_prior_strength: float = Field(20.0, ge=0.0)
    """Shrinks a thin intent's tuned threshold towards the global one (pseudo-count of examples)."""
    pool_threshold: float = Field(0.5, ge=0.0, le=1.0)
    """Minimum pool probability for a clarifying question."""
    max_buttons: int = Field(4, ge=1, le=4)
    """Clarifying-question buttons: the classifier's top intents inside the pool."""
    min_button_probability: float = Field(0.02, ge=0.0, le=1.0)
    context_days: int = Field(3, ge=0, le=365)
    """The client's earlier messages of the last N days are the classifier's dialog context."""
    context_messages: int = Field(3, ge=0, le=20)
    friendly_register_below_age: int = Field(30, ge=0, le=120)
    """Clients younger than this get the friendly register; older or unknown get formal."""
    negative_sentiment_threshold: float = Field(0.5, ge=0.0, le=1.0)
    """A client message at least this negative (sentiment model) gets the empathetic variant, if any."""
    dislike_threshold: float = Field(0.8, gt=0.0, le=1.0)
    """Likes gate: a scripted answer with P(dislike) above this goes to an operator instead."""
    likes_min_stored_reactions: int = Field(500, ge=0)
    """Below this many stored likes/dislikes, `twoline train likes` adds the bootstrap weak labels."""
    voc_risk_threshold: float = Field(0.7, gt=0.0, le=1.0)
    """Risk gate: a client whose daily VOC-risk score is at least this goes to an operator on the
    first message of a dialog."""
    voc_risk_max_age_days: int = Field(3, ge=1, le=365)
    """Risk scores older than this are ignored (the daily batch did not run)."""
    next_intent_buttons: int = Field(3, ge=0, le=3)
    """Quick buttons after an answer with the likely next intents (0 turns the recommender off)."""
    next_intent_min_probability: float = Field(0.1, ge=0.0, le=1.0)
    """A next intent needs at least this probability to get a button."""
    dialog_end_threshold: float | None = Field(0.5, gt=0.0, lt=1.0)
    """P(the dialog is over) at or above which the reply carries the VOC 1..5 form (null: never)."""
    dialog_end_intents: tuple[str, ...] = ("goodbye",)
    """An answered message of one of these intents ends the dialog (the VOC form) whatever the detector
    says (a goodbye is a goodbye in any language). Empty: the detector alone."""
    stand_alone_intents: tuple[str, ...] = ("greeting", "thanks", "goodbye")
    """A message whose best reading is one of these is taken as it is, never as a follow-up of the message
    before it: "great, thanks, bye" after "my card has not arrived" is a goodbye, and "ok" is not a question
    about the card, though short messages that say little alone look like follow-ups to the detector."""
    ask_to_rephrase: bool = True
    """Unsure of a message, with no clarifying question to ask and no knowledge question to escalate: ask the
    client to say more (`messages.rephrase`) before passing it to an operator, never twice in a row; the
    answer is then read together with the message before it. A message at least as negative as
    `negative_sentiment_threshold` goes to an operator at once: an upset client is not asked to repeat
    themselves."""
    rephrase_buttons: tuple[str, ...] = ()
    """Buttons under the request to say more (e.g. `human_operator`, for a client who would rather talk to a
    person)."""


class ExperimentVariant(_Strict):
    """One arm of an A/B experiment: what it changes against the domain's own settings."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    weight: int = Field(1, ge=0)
    """Share of clients, relative to the other variants' weights."""
    target_precision: float | None = Field(None, gt=0.5, lt=1.0)
    """Another threshold set: per-intent thresholds tuned to this precision instead."""
    thresholds: dict[str, float] = {}
    """Per-intent threshold overrides on top of the tuned ones."""
    artifacts_dir: Path | None = None
    """Another model version: an artifacts folder (intents + pools) trained separately."""

    @field_validator("thresholds")
    @classmethod
    def _thresholds_are_probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        for intent, threshold in value.items():
            if not 0.0 < threshold <= 1.0:
                raise ValueError(f"threshold of {intent} must be in (0, 1]")
        return value


class Experiment(_Strict):
    """An A/B experiment: every client is assigned to one variant, deterministically by client id."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    variants: tuple[ExperimentVariant, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _variants_are_distinct_and_reachable(self) -> Experiment:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        if sum(v.weight for v in self.variants) == 0:
            raise ValueError("at least one variant needs a weight above 0")
        return self


SYSTEM_MESSAGES = ("handoff", "with_operator")
REPHRASE_MESSAGE = "rephrase"


class DomainSettings(_Strict):
    name: str
    bank_name: str
    languages: tuple[Language, ...] = ("en", "ru")
    default_language: Language = "en"
    policy: PolicySettings = PolicySettings()
    experiment: Experiment | None = None
    """The running A/B experiment, if any (`twoline eval ab` reports it)."""
    messages: dict[str, dict[Language, str]]
    """What the bot says outside scripted answers: `handoff` (passing the dialog to an operator), ..."""

    @model_validator(mode="after")
    def _every_message_in_every_language(self) -> DomainSettings:
        needed = SYSTEM_MESSAGES + ((REPHRASE_MESSAGE,) if self.policy.ask_to_rephrase else ())
        for name in needed:
            for lang in self.languages:
                if not self.messages.get(name, {}).get(lang, "").strip():
                    raise ValueError(f"messages.{name}.{lang} is missing")
        return self


class Intent(_Strict):
    name: str
    label: dict[Language, str]
    transfer_only: bool = False
    escalate: bool = False
    threshold: float | None = Field(None, gt=0.0, le=1.0)
    """Manual override of the tuned threshold."""

    @property
    def needs_response(self) -> bool:
        return not (self.transfer_only or self.escalate)


class Pool(_Strict):
    name: str
    intents: tuple[str, ...] = Field(min_length=1)
    question: dict[Language, str]


class ResponseVariant(_Strict):
    text: str
    style: Register
    slots: frozenset[str]
    gendered: bool
    """Contains `{masculine|feminine}` alternations: usable only when the client's gender is known."""
    empathetic: bool = False
    """Listed under `empathetic_formal` / `empathetic_friendly`: for a client whose message reads negative."""

    @property
    def is_plain(self) -> bool:
        return not self.slots and not self.gendered


class Domain(_Strict):
    settings: DomainSettings
    intents: dict[str, Intent]
    pools: dict[str, Pool]
    responses: dict[Language, dict[str, tuple[ResponseVariant, ...]]]
    fingerprint: str
    """Hash of every file of the domain: stored with decisions and artifacts."""

    @property
    def intent_names(self) -> list[str]:
        return sorted(self.intents)

    @property
    def threshold_overrides(self) -> dict[str, float]:
        """intents.yaml's manual thresholds: they win over the tuned ones, for English and Russian alike."""
        return {name: i.threshold for name, i in self.intents.items() if i.threshold is not None}

    @property
    def pool_by_intent(self) -> dict[str, str]:
        """intent -> the name of its pool (validation guarantees exactly one each)."""
        return {i: pool.name for pool in self.pools.values() for i in pool.intents}


class _IntentsFile(_Strict):
    class _IntentEntry(_Strict):
        label: dict[Language, str]
        transfer_only: bool = False
        escalate: bool = False
        threshold: float | None = Field(None, gt=0.0, le=1.0)

        @field_validator("label")
        @classmethod
        def _labels_not_empty(cls, value: dict[str, str]) -> dict[str, str]:
            for lang, text in value.items():
                if not text.strip():
                    raise ValueError(f"empty label for {lang}")
            return value

    intents: dict[str, _IntentEntry] = Field(min_length=1)


class _PoolsFile(_Strict):
    class _PoolEntry(_Strict):
        intents: list[str] = Field(min_length=1)
        question: dict[Language, str]

    pools: dict[str, _PoolEntry] = Field(min_length=1)


def load_domain(folder: Path | str) -> Domain:
    """Load and validate a domain folder; raises `DomainConfigError` naming the file and key."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DomainConfigError(folder, "-", "domain folder does not exist")
    settings = _parse(folder / "domain.yaml", DomainSettings)
    intents_file = _parse(folder / "intents.yaml", _IntentsFile)
    pools_file = _parse(folder / "pools.yaml", _PoolsFile)
    intents = {name: Intent(name=name, **entry.model_dump()) for name, entry in intents_file.intents.items()}
    pools = {
        name: Pool(name=name, intents=tuple(entry.intents), question=entry.question)
        for name, entry in pools_file.pools.items()
    }
    responses = {lang: _load_responses(folder / "responses" / f"{lang}.yaml") for lang in settings.languages}
    _check_labels(folder / "intents.yaml", intents, settings.languages)
    _check_pools(folder / "pools.yaml", pools, intents, settings.languages)
    _check_experiment(folder / "domain.yaml", settings.experiment, intents)
    policy = settings.policy
    _check_named_intents(
        folder / "domain.yaml", "policy.dialog_end_intents", policy.dialog_end_intents, intents
    )
    _check_named_intents(
        folder / "domain.yaml", "policy.stand_alone_intents", policy.stand_alone_intents, intents
    )
    _check_named_intents(folder / "domain.yaml", "policy.rephrase_buttons", policy.rephrase_buttons, intents)
    for lang, by_intent in responses.items():
        _check_responses(folder / "responses" / f"{lang}.yaml", by_intent, intents, lang)
    return Domain(
        settings=settings,
        intents=intents,
        pools=pools,
        responses=responses,
        fingerprint=_fingerprint(folder),
    )


def _read_yaml(path: Path) -> object:
    if not path.is_file():
        raise DomainConfigError(path, "-", "file is missing")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DomainConfigError(path, "-", f"invalid YAML: {exc}") from exc


def _parse(path: Path, model: type[_M]) -> _M:
    data = _read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "-"
        raise DomainConfigError(path, key, first["msg"]) from exc


def _load_responses(path: Path) -> dict[str, tuple[ResponseVariant, ...]]:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise DomainConfigError(path, "-", "expected a mapping intent -> register -> list of texts")
    parsed: dict[str, tuple[ResponseVariant, ...]] = {}
    for intent, registers in data.items():
        if not isinstance(registers, dict):
            raise DomainConfigError(path, str(intent), "expected a mapping register -> list of texts")
        variants: list[ResponseVariant] = []
        for register, texts in registers.items():
            key = f"{intent}.{register}"
            if register not in REGISTER_KEYS:
                raise DomainConfigError(path, key, f"register must be one of {list(REGISTER_KEYS)}")
            if not isinstance(texts, list) or not texts:
                raise DomainConfigError(path, key, "expected a non-empty list of texts")
            for index, text in enumerate(texts):
                variants.append(_parse_variant(path, f"{key}[{index}]", text, register))
        variants = [v for v in variants if not v.empathetic] + [v for v in variants if v.empathetic]
        parsed[str(intent)] = tuple(variants)
    return parsed


def _parse_variant(path: Path, key: str, text: object, register_key: str) -> ResponseVariant:
    empathetic = register_key.startswith(EMPATHETIC_PREFIX)
    register: Register = register_key.removeprefix(EMPATHETIC_PREFIX)  # type: ignore[assignment]
    if not isinstance(text, str) or not text.strip():
        raise DomainConfigError(path, key, "expected a non-empty string")
    slots: set[str] = set()
    gendered = False
    for token in _BRACE.findall(text):
        if "|" in token:
            if token.count("|") != 1 or not all(part.strip() for part in token.split("|")):
                raise DomainConfigError(path, key, f"bad gender alternation {{{token}}}: use {{male|female}}")
            gendered = True
        elif token in SLOT_NAMES:
            slots.add(token)
        else:
            raise DomainConfigError(path, key, f"unknown slot {{{token}}}; known: {sorted(SLOT_NAMES)}")
    return ResponseVariant(
        text=text.strip(), style=register, slots=frozenset(slots), gendered=gendered, empathetic=empathetic
    )


def _check_labels(path: Path, intents: dict[str, Intent], languages: tuple[str, ...]) -> None:
    for name, intent in intents.items():
        for lang in languages:
            if lang not in intent.label:
                raise DomainConfigError(path, f"intents.{name}.label.{lang}", "missing button label")


def _check_pools(
    path: Path, pools: dict[str, Pool], intents: dict[str, Intent], languages: tuple[str, ...]
) -> None:
    seen: dict[str, str] = {}
    for name, pool in pools.items():
        for lang in languages:
            if not pool.question.get(lang, "").strip():
                raise DomainConfigError(path, f"pools.{name}.question.{lang}", "missing clarifying question")
        for intent in pool.intents:
            if intent not in intents:
                raise DomainConfigError(path, f"pools.{name}.intents", f"unknown intent '{intent}'")
            if intent in seen:
                raise DomainConfigError(
                    path, f"pools.{name}.intents", f"intent '{intent}' is already in pool '{seen[intent]}'"
                )
            seen[intent] = name
    for intent in intents:
        if intent not in seen:
            raise DomainConfigError(path, "pools", f"intent '{intent}' belongs to no pool")


def _check_experiment(path: Path, experiment: Experiment | None, intents: dict[str, Intent]) -> None:
    for index, variant in enumerate(experiment.variants if experiment else ()):
        for intent in variant.thresholds:
            if intent not in intents:
                raise DomainConfigError(
                    path, f"experiment.variants.{index}.thresholds", f"unknown intent '{intent}'"
                )


def _check_named_intents(path: Path, key: str, named: tuple[str, ...], intents: dict[str, Intent]) -> None:
    for intent in named:
        if intent not in intents:
            raise DomainConfigError(path, key, f"unknown intent '{intent}'")


def _check_responses(
    path: Path, responses: dict[str, tuple[ResponseVariant, ...]], intents: dict[str, Intent], lang: str
) -> None:
    for intent in responses:
        if intent not in intents:
            raise DomainConfigError(path, intent, "response for an unknown intent")
    for name, intent in intents.items():
        if not intent.needs_response:
            continue
        variants = responses.get(name, ())
        if not variants:
            raise DomainConfigError(path, name, "missing response")
        for register in ("formal", "friendly"):
            if not any(v.style == register and v.is_plain and not v.empathetic for v in variants):
                raise DomainConfigError(
                    path, f"{name}.{register}", "needs at least one variant without slots or gender forms"
                )


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(folder.rglob("*.yaml")):
        digest.update(str(file.relative_to(folder)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]
