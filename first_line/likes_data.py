"""Training pairs for the likes model: (client message, its recent context, bot answer) → disliked?

Three sources, strongest first:
1. **Stored reactions** (`stored_reaction_pairs`): every like / dislike a client gave a bot
   answer through `POST /v1/feedback`, joined back to the client message the answer replied to
   and that client's earlier messages (the context the policy saw). This is the real signal; a
   bank running the service retrains on it (`twoline train likes`).
2. **Bootstrap weak labels** from the intent data (`bootstrap_pairs`), used while the store
   holds fewer than `policy.likes_min_stored_reactions` reactions. Assumption (weak label):
   a client is likely to dislike the scripted answer of a *wrong* intent and unlikely to
   dislike the answer of the right one. Every message yields one right pair (label 0) and one
   wrong pair (label 1) whose answer comes, half the time, from an intent of the same pool
   (the mistakes the classifier actually makes) and otherwise from any intent.
3. **STAR bank dialogs** (`star_pairs`, weight `STAR_WEIGHT`): each user turn with the wizard's
   reply; label 1 when the dialog went badly by its questionnaires (the user found the
   assistant not calm and helpful, or the wizard saw the user get aggressive or annoyed),
   else 0. Very weak: a dialog-level label spread over every turn.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from first_line.domain import Domain
from first_line.training_data import Example

STAR_WEIGHT = 0.3
CONTEXT_MESSAGES = 3
SAME_POOL_SHARE = 0.5
WITH_CONTEXT_SHARE = 0.3


@dataclass(frozen=True)
class Pair:
    text: str
    answer: str
    disliked: int
    source: str
    context: tuple[str, ...] = ()
    weight: float = 1.0
    intent: str | None = None
    """The message's true intent (bootstrap pairs): the held-out replay needs it."""


def answers_by_intent(domain: Domain, language: str = "en") -> dict[str, list[str]]:
    """The scripted answers a client can get for each intent (plain variants: slots unfilled)."""
    return {
        intent: [v.text for v in variants if v.is_plain]
        for intent, variants in domain.responses[language].items()
        if any(v.is_plain for v in variants)
    }


def bootstrap_pairs(examples: list[Example], domain: Domain, seed: int = 13) -> list[Pair]:
    """Weak labels (see the module docstring): a right and a wrong answer for every message."""
    rng = random.Random(seed)
    answers = answers_by_intent(domain)
    pool_of = domain.pool_by_intent  # a dict built on each access: once here, not per example
    by_pool: dict[str, list[str]] = defaultdict(list)
    for intent in answers:
        by_pool[pool_of[intent]].append(intent)
    usable = [e for e in examples if e.intent in answers]
    texts = [e.text for e in usable]
    pairs: list[Pair] = []
    for example in usable:
        context = (rng.choice(texts),) if rng.random() < WITH_CONTEXT_SHARE else ()
        pairs.append(Pair(example.text, rng.choice(answers[example.intent]), 0, "bootstrap", context,
                          intent=example.intent))  # fmt: skip
        same_pool = [i for i in by_pool[pool_of[example.intent]] if i != example.intent]
        wrong = (
            rng.choice(same_pool)
            if same_pool and rng.random() < SAME_POOL_SHARE
            else rng.choice([i for i in answers if i != example.intent])
        )
        pairs.append(Pair(example.text, rng.choice(answers[wrong]), 1, "bootstrap", context,
                          intent=example.intent))  # fmt: skip
    return pairs


def star_pairs(star_dir: Path, limit: int | None = None) -> list[Pair]:
    """STAR bank user turns with the wizard's reply; label from the dialog's questionnaires."""
    unhappy = _unhappy_star_dialogs(star_dir / "star_bank_dialogues.jsonl")
    turns: dict[str, list[dict]] = defaultdict(list)
    with open(star_dir / "star_bank_turns.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            turns[row["dialogue_id"]].append(row)
    pairs: list[Pair] = []
    for dialogue_id, rows in sorted(turns.items()):
        rows.sort(key=lambda r: int(r["turn_idx"]))
        said: list[str] = []
        for current, reply in pairwise(rows):
            if current["speaker"] == "User" and reply["speaker"] == "Wizard" and current["text"].strip():
                label = int(dialogue_id in unhappy)
                pairs.append(
                    Pair(
                        current["text"],
                        reply["text"],
                        label,
                        "star",
                        tuple(said[-CONTEXT_MESSAGES:]),
                        STAR_WEIGHT,
                    )
                )
            if current["speaker"] == "User":
                said.append(current["text"])
    return pairs[:limit] if limit else pairs


def _unhappy_star_dialogs(path: Path) -> set[str]:
    unhappy = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            dialog = json.loads(line)
            answers = {
                q["Question"]: q["Answer"]
                for key in ("UserQuestionnaire", "WizardQuestionnaire")
                for q in _json(dialog.get(key)) or []
            }
            not_helpful = any("calm and helpful" in q and a is False for q, a in answers.items())
            annoyed = any("aggressive or annoyed" in q and a is True for q, a in answers.items())
            if not_helpful or annoyed:
                unhappy.add(str(dialog["DialogueID"]))
    return unhappy


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def stored_reaction_pairs(engine: Engine) -> list[Pair]:
    """The last like or dislike of each bot message in the store, with the client message it answered and
    its context."""
    from router.store.models import Decision, Feedback, Message, last_reaction_ids

    client_message = aliased(Message)
    reply = aliased(Message)
    query = (
        select(Feedback.kind, reply.text, client_message.text, client_message.client_id, client_message.id)
        .join(reply, reply.id == Feedback.message_id)
        .join(Decision, Decision.reply_message_id == reply.id)
        .join(client_message, client_message.id == Decision.message_id)
        .where(Feedback.id.in_(last_reaction_ids()))
        .order_by(Feedback.id)
    )
    pairs = []
    with engine.connect() as connection:
        for kind, answer, text, client_id, message_id in connection.execute(query).all():
            earlier = connection.scalars(
                select(Message.text)
                .where(Message.client_id == client_id, Message.role == "client", Message.id < message_id,
                       Message.text != "")
                .order_by(Message.id.desc())
                .limit(CONTEXT_MESSAGES)
            ).all()  # fmt: skip
            pairs.append(Pair(text, answer, int(kind == "dislike"), "stored", tuple(reversed(earlier)), 2.0))
    return pairs
