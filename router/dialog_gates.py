"""Two business rules applied to every decision the policy takes, from the dialog so far:

- step 6, **next-intent buttons**: after an answer, up to `policy.next_intent_buttons` quick buttons
  (payload `intent:<name>`, like pool buttons) with the intents the client most likely asks for
  next, each at least `policy.next_intent_min_probability` likely;
- step 9, **end of dialog**: P(the dialog is over) ≥ `policy.dialog_end_threshold` on a turn the
  bot answered, or an answered `policy.dialog_end_intents` message (a goodbye) → `feedback_form` (the
  VOC 1..5 form); then no next-intent buttons. P comes from the detector, which reads English words,
  or for a message written in Russian from its Russian head over E5 (`russian_dialog_end.py`).

Both store their scores with the decision (`scores.next_intents`, `scores.dialog_end`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from first_line.dialog_features import DialogSoFar
from first_line.dialog_intent_map import DialogIntentMap, load_dialog_intent_map
from first_line.domain import Domain
from first_line.language import looks_russian
from first_line.responses import client_language
from first_line.russian_dialog_end import RussianDialogEnd

if TYPE_CHECKING:
    from first_line.dialog_end_model import DialogEndModel
    from first_line.multilingual_encoder import MultilingualEncoder
    from first_line.next_intent_model import NextIntentModel
    from router.policy import Decision, Turn

FORM_KINDS = frozenset({"answer", "second_line"})
"""The bot itself replied: a dialog can end here (not while an operator or a question is pending)."""


class DialogGates:
    def __init__(
        self,
        domain: Domain,
        intent_map: DialogIntentMap | None,
        next_intent: NextIntentModel | None,
        dialog_end: DialogEndModel | None,
        russian_end: RussianDialogEnd | None = None,
    ) -> None:
        self.domain = domain
        self.policy = domain.settings.policy
        self.next_intent = next_intent
        self.dialog_end = dialog_end
        self.russian_end = russian_end
        never = intent_map.never_suggest if intent_map else frozenset()
        self.suggestable = {i for i in domain.intents if i not in never}

    def apply(self, turn: Turn, decision: Decision) -> Decision:
        if decision.kind == "none":
            return decision
        texts = [text for text, _ in turn.dialog_turns] + [turn.text]
        scores = dict(decision.scores)
        form = False
        if self.dialog_end is not None and self.policy.dialog_end_threshold is not None:
            russian = self.russian_end is not None and looks_russian(turn.text)
            p_over = (self.russian_end if russian else self.dialog_end).probability(texts)
            said_goodbye = decision.intent in self.policy.dialog_end_intents
            form = decision.kind in FORM_KINDS and (
                p_over >= self.policy.dialog_end_threshold or said_goodbye
            )
            scores["dialog_end"] = {
                "p": round(p_over, 4),
                "model": "russian" if russian else "english",
                "threshold": self.policy.dialog_end_threshold,
                "feedback_form": form,
            }
        buttons = decision.buttons
        if decision.kind == "answer" and not buttons and not form and self.next_intent is not None:
            suggested = self._suggest(turn, decision, texts)
            scores["next_intents"] = [[i, round(p, 4)] for i, p in suggested]
            buttons = self._buttons(turn, [i for i, _ in suggested])
        return decision.model_copy(update={"scores": scores, "buttons": buttons, "feedback_form": form})

    def _suggest(self, turn: Turn, decision: Decision, texts: list[str]) -> list[tuple[str, float]]:
        intents = [intent for _, intent in turn.dialog_turns] + [decision.intent]
        labels = tuple((i,) if i else () for i in intents)
        requests = [i for i in intents if i and i in self.suggestable]
        last_request = requests[-1] if requests else None
        so_far = DialogSoFar(texts=tuple(texts), labels=labels, last_request=last_request)
        return self.next_intent.suggest(
            so_far,
            self.suggestable - {decision.intent},
            self.policy.next_intent_buttons,
            self.policy.next_intent_min_probability,
        )

    def _buttons(self, turn: Turn, intents: list[str]) -> list:
        from router.policy import BUTTON_PREFIX, Button

        language = client_language(self.domain, turn.profile)
        return [
            Button(label=self.domain.intents[i].label[language], payload=BUTTON_PREFIX + i) for i in intents
        ]


def load_dialog_gates(
    artifacts_dir: Path, domain_dir: Path, domain: Domain, encoder: MultilingualEncoder | None = None
) -> DialogGates:
    """The models the domain's policy turns on, from their artifacts (ArtifactError if missing). `encoder`:
    the sentiment model's E5, so that a Russian message is embedded once."""
    from first_line.dialog_end_model import DialogEndModel
    from first_line.next_intent_model import NextIntentModel

    policy = domain.settings.policy
    intent_map = load_dialog_intent_map(domain_dir, domain)
    next_intent = None
    if policy.next_intent_buttons > 0:
        next_intent = NextIntentModel(artifacts_dir / "next_intent")
        if next_intent.manifest.depends_on.get("dialog_intents") != intent_map.fingerprint:
            from first_line.artifacts import ArtifactError

            raise ArtifactError(
                f"{artifacts_dir / 'next_intent'}: dialog_intents.yaml changed since it was trained; "
                "run `twoline train next-intent`"
            )
    dialog_end = DialogEndModel(artifacts_dir / "dialog_end") if policy.dialog_end_threshold else None
    russian_end = None
    if dialog_end is not None and "ru" in domain.settings.languages:
        russian_end = RussianDialogEnd(artifacts_dir / "dialog_end", encoder)
    return DialogGates(domain, intent_map, next_intent, dialog_end, russian_end)
