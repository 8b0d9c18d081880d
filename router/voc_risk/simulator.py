"""SYNTHETIC client histories for the VOC-risk model: no public data of this kind exists.

Every row this module writes is made up. It writes them into the real dialog-store schema
(clients, dialogs, messages, decisions, feedback, hand-off tickets), so that the features and
the training pipeline read simulated clients exactly as they read real ones. Client ids start
with `synthetic-`; by default the rows go to their own SQLite file (`var/synthetic_clients.db`),
never into the service's store unless a URL is given on purpose.

The generative story (one client):
- a persistent **temper** g ~ Beta(2, 5) and an **activity** rate (dialogs a month ~ lognormal);
- **trouble episodes**: on any day a problem starts with probability 0.6 % · (1 + 3g) and lasts
  ~ Exponential(mean 21 days); while in trouble, dialogs are about problem intents (failed
  transfers, disputed charges, refunds...) and happen three times as often;
- each dialog: 1-3 client messages (texts sampled from BANKING77 examples of the intent, with an
  angry prefix when the simulated mood is negative), a bot decision per message (hand-off more
  likely in trouble and for problem intents), the **sentiment** a detector would have stored
  (noisy function of mood: this simulator does not run the model, to stay fast), likes/dislikes
  on bot answers (dislikes more likely in trouble and for a high temper), and with probability
  35 % a VOC score 1..5 whose mean drops with temper, trouble, hand-off and dislikes;
- a hand-off ticket is closed after ~ Exponential(mean 1.5 days); until then it is an open request.
So low VOC is predictable from the past (recent trouble, negativity, dislikes, hand-offs, earlier
low scores) but not certain: the noise terms keep it honest.
"""

from __future__ import annotations

import csv
import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, insert, select

from router.store.models import Client, Decision, Dialog, Feedback, HandoffTicket, Message

SYNTHETIC_PREFIX = "synthetic-"
PROBLEM_INTENTS = (
    "failed_transfer",
    "declined_transfer",
    "transfer_not_received_by_recipient",
    "Refund_not_showing_up",
    "request_refund",
    "transaction_charged_twice",
    "card_payment_not_recognised",
    "extra_charge_on_statement",
    "declined_card_payment",
    "card_not_working",
    "pending_transfer",
    "balance_not_updated_after_bank_transfer",
)
"""Intents that mean something went wrong for the client (also a risk feature)."""
ANGRY_PREFIXES = (
    "This is ridiculous! ",
    "Again?! ",
    "I'm really upset. ",
    "Worst service ever. ",
    "Seriously, ",
    "I've had enough. ",
)
BOT_REPLY = "(scripted answer)"
TICKET_DAYS = 1.5
"""Mean days until an operator closes a hand-off ticket (exponential)."""


@dataclass
class SimulationConfig:
    clients: int = 2000
    days: int = 180
    seed: int = 7
    end: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))


@dataclass
class _Rows:
    clients: list[dict] = field(default_factory=list)
    dialogs: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    tickets: list[dict] = field(default_factory=list)


def intent_texts(banking77_csv: Path) -> dict[str, list[str]]:
    """BANKING77 training texts by intent: what simulated clients say."""
    texts: dict[str, list[str]] = defaultdict(list)
    with open(banking77_csv, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            texts[row["category"]].append(row["text"])
    return dict(texts)


def simulate_clients(engine: Engine, texts: dict[str, list[str]], config: SimulationConfig) -> dict[str, int]:
    """Write `config.clients` synthetic client histories into the store behind `engine`; returns counts."""
    rng = random.Random(config.seed)
    ids = _next_ids(engine)
    problem = [i for i in PROBLEM_INTENTS if i in texts]
    ordinary = [i for i in texts if i not in PROBLEM_INTENTS]
    counts: dict[str, int] = defaultdict(int)
    batch = _Rows()
    for index in range(config.clients):
        _simulate_one(
            f"{SYNTHETIC_PREFIX}{config.seed}-{index:07d}", rng, config, texts, problem, ordinary, ids, batch
        )
        if len(batch.messages) > 20_000:
            _flush(engine, batch, counts)
            batch = _Rows()
    _flush(engine, batch, counts)
    return dict(counts)


def _simulate_one(
    client_id: str,
    rng: random.Random,
    config: SimulationConfig,
    texts: dict[str, list[str]],
    problem: list[str],
    ordinary: list[str],
    ids: dict[str, int],
    rows: _Rows,
) -> None:
    start = config.end - timedelta(days=config.days)
    temper = rng.betavariate(2, 5)
    monthly = math.exp(rng.gauss(math.log(1.2), 0.6))
    rows.clients.append({"id": client_id, "language": "en", "created_at": start, "updated_at": start})
    trouble_until = -1.0
    for day in range(config.days):
        if day > trouble_until and rng.random() < 0.006 * (1 + 3 * temper):
            trouble_until = day + rng.expovariate(1 / 21)
        in_trouble = day <= trouble_until
        if rng.random() < monthly / 30 * (3 if in_trouble else 1):
            when = start + timedelta(days=day, seconds=rng.randrange(86_400))
            _dialog(client_id, when, in_trouble, temper, rng, config, texts, problem, ordinary, ids, rows)


def _dialog(
    client_id: str,
    when: datetime,
    in_trouble: bool,
    temper: float,
    rng: random.Random,
    config: SimulationConfig,
    texts: dict[str, list[str]],
    problem: list[str],
    ordinary: list[str],
    ids: dict[str, int],
    rows: _Rows,
) -> None:
    dialog_id = str(uuid.UUID(int=rng.getrandbits(128)))
    intent = rng.choice(problem if in_trouble and rng.random() < 0.8 else ordinary)
    trouble = 1.0 if in_trouble else 0.0
    handed_off = disliked = open_ticket = False
    now = when
    for _turn in range(rng.choice((1, 1, 2, 2, 3))):
        mood = min(1.0, max(0.0, 0.15 + 0.45 * trouble + 0.4 * temper + rng.gauss(0, 0.15)))
        text = rng.choice(texts[intent])
        if mood > 0.55:
            text = rng.choice(ANGRY_PREFIXES) + text
        message_id = _take(ids, "messages")
        rows.messages.append(_message(message_id, dialog_id, client_id, "client", text, now, mood))
        handoff = rng.random() < 0.1 + 0.25 * trouble + (0.15 if intent in problem else 0.0)
        reply_id = _take(ids, "messages")
        reply = "I'm passing your question to a member of our support team." if handoff else BOT_REPLY
        rows.messages.append(
            _message(reply_id, dialog_id, client_id, "bot", reply, now + timedelta(seconds=1))
        )
        rows.decisions.append(
            {
                "id": _take(ids, "decisions"),
                "dialog_id": dialog_id,
                "message_id": message_id,
                "reply_message_id": reply_id,
                "kind": "handoff" if handoff else "answer",
                "reason": "unsure" if handoff else "scripted_answer",
                "intent": intent,
                "confidence": round(rng.uniform(0.3, 1.0), 3),
                "threshold": 0.7,
                "pool": None,
                "scores": {"synthetic": True},
                "latency_ms": 5.0,
                "created_at": now,
            }
        )
        if handoff:
            handed_off = True
            closed_at = now + timedelta(days=rng.expovariate(1 / TICKET_DAYS))
            still_open = open_ticket = closed_at > config.end
            rows.tickets.append(
                {
                    "id": _take(ids, "handoff_tickets"),
                    "dialog_id": dialog_id,
                    "client_id": client_id,
                    "reason": "unsure",
                    "status": "open" if still_open else "closed",
                    "priority": 0,
                    "summary": {"synthetic": True},
                    "claimed_by": None,
                    "outcome": None,
                    "created_at": now,
                    "closed_at": None if still_open else closed_at,
                }
            )
            break
        if rng.random() < 0.25:
            dislike = rng.random() < 0.1 + 0.4 * trouble + 0.4 * temper
            disliked |= dislike
            rows.feedback.append(
                _feedback(ids, dialog_id, reply_id, "dislike" if dislike else "like", None, now)
            )
        now += timedelta(minutes=rng.randrange(1, 10))
    voc = None
    if rng.random() < 0.35:
        mean = 5.0 - 1.6 * trouble - 3.5 * temper - 0.6 * handed_off - 0.7 * disliked
        voc = int(min(5, max(1, round(rng.gauss(mean, 0.8)))))
        rows.feedback.append(_feedback(ids, dialog_id, None, "voc", voc, now + timedelta(minutes=1)))
    status = "handed_off" if open_ticket else "closed"
    rows.dialogs.append(
        {
            "id": dialog_id,
            "client_id": client_id,
            "status": status,
            "voc_score": voc,
            "created_at": when,
            "updated_at": now,
        }
    )


def _message(
    message_id: int,
    dialog_id: str,
    client_id: str,
    role: str,
    text: str,
    when: datetime,
    mood: float | None = None,
) -> dict:
    return {
        "id": message_id,
        "dialog_id": dialog_id,
        "client_id": client_id,
        "role": role,
        "text": text,
        "button_payload": None,
        "client_message_id": None,
        "buttons": None,
        "created_at": when,
        "sentiment": None if mood is None else round(mood, 3),
    }


def _feedback(
    ids: dict[str, int], dialog_id: str, message_id: int | None, kind: str, score: int | None, when: datetime
) -> dict:
    return {
        "id": _take(ids, "feedback"),
        "dialog_id": dialog_id,
        "message_id": message_id,
        "kind": kind,
        "score": score,
        "created_at": when,
    }


def _next_ids(engine: Engine) -> dict[str, int]:
    tables = {
        "messages": Message,
        "decisions": Decision,
        "feedback": Feedback,
        "handoff_tickets": HandoffTicket,
    }
    with engine.connect() as connection:
        return {name: int(connection.scalar(select(func.max(t.id))) or 0) + 1 for name, t in tables.items()}


def _take(ids: dict[str, int], table: str) -> int:
    ids[table] += 1
    return ids[table] - 1


def _flush(engine: Engine, rows: _Rows, counts: dict[str, int]) -> None:
    with engine.begin() as connection:
        for table, values in (
            (Client, rows.clients),
            (Dialog, rows.dialogs),
            (Message, rows.messages),
            (Decision, rows.decisions),
            (Feedback, rows.feedback),
            (HandoffTicket, rows.tickets),
        ):
            if values:
                connection.execute(insert(table), values)
                counts[table.__tablename__] += len(values)
