"""`twoline eval dialogs --data PATH`: held-out dialogs replayed through the real router.

The FastAPI app runs in process with the real models, index and a throw-away SQLite store; each
dialog is sent turn by turn as a client would, over the HTTP API (FastAPI's test client, so the
whole request path runs: validation, policy, store). A simulated client clicks the button of its
true intent when a clarifying question offers it (a question to a turn of unknown intent, such as a
follow-up's context message, it ignores and writes its next message), and stops when the dialog is handed
off (an operator takes over from there).

Data: JSONL, one dialog a line: `{"id": "...", "language": "en", "turns": [{"text": "...",
"intent": "card_arrival"}, ...]}` (`intent` optional: the true intent, when known), or a
`text,category` CSV, each row a one-question dialog, or a `context,text,category` CSV of follow-ups, each
row the context message and then the follow-up. Default: the held-out split of the demo data
as single questions plus dialogs composed from it (greeting, one or two questions, thanks).

Reported (what the business steers by):
- automation: dialogs the bot finished without an operator and without leaving a clarifying
  question unresolved;
- hand-offs by reason; clarifications and how many the simulated client resolved by a click;
- precision of answered turns whose true intent is known, and the wrong answers themselves;
- second-line answers and their grounding and tone flags; predicted dislikes; end-of-dialog
  forms shown; latency per turn.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from first_line.table_files import open_table
from first_line.training_data import Example
from router.settings import Settings

BUTTON_PREFIX = "intent:"
DIALOG_ID_SEED = 33
WORST_EXAMPLES = 20


class ReplayTurn(BaseModel):
    text: str
    intent: str | None = None


class ReplayDialog(BaseModel):
    id: str
    language: str | None = None
    turns: list[ReplayTurn]


@dataclass
class _Tally:
    dialogs: int = 0
    automated: int = 0
    turns: int = 0
    answered: int = 0
    answered_labelled: int = 0
    answered_correct: int = 0
    clarifications: int = 0
    resolved_by_click: int = 0
    unresolved_clarifications: int = 0
    second_line_answers: int = 0
    grounding_dropped: int = 0
    censored: int = 0
    predicted_dislikes: int = 0
    feedback_forms: int = 0
    handoffs: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    wrong_answers: list[dict] = field(default_factory=list)


def read_dialogs(path: Path) -> list[ReplayDialog]:
    """JSONL dialogs, a text,category CSV of single questions, or a context,text,category CSV of
    follow-ups (`evals/data/followups_*.csv`): the context message, then the follow-up with its intent."""
    if path.suffix.lower() == ".csv":
        with open_table(path) as handle:
            rows = [r for r in csv.DictReader(handle) if (r.get("text") or "").strip()]
        return [ReplayDialog(id=f"row-{i}", turns=_csv_turns(row)) for i, row in enumerate(rows)]
    dialogs = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    dialogs.append(ReplayDialog.model_validate_json(line))
                except ValueError as exc:
                    raise ValueError(f"{path}:{number}: not a dialog ({exc})") from exc
    return dialogs


def _csv_turns(row: dict[str, str]) -> list[ReplayTurn]:
    question = ReplayTurn(text=row["text"], intent=row.get("category") or None)
    context = (row.get("context") or "").strip()
    return [ReplayTurn(text=context), question] if context else [question]


def composed_dialogs(
    held_out: list[Example], singles: int, composed: int, seed: int = 13
) -> list[ReplayDialog]:
    """The default replay set, from the held-out split only: single questions, and dialogs made of a
    greeting, one or two questions and a thank-you (composed, not real transcripts)."""
    rng = random.Random(seed)
    by_intent: dict[str, list[Example]] = {}
    for example in held_out:
        by_intent.setdefault(example.intent, []).append(example)
    small_talk = {"greeting", "thanks", "goodbye"}
    questions = [e for e in held_out if e.intent not in small_talk]
    rng.shuffle(questions)
    dialogs = [
        ReplayDialog(id=f"single-{i}", turns=[ReplayTurn(text=e.text, intent=e.intent)])
        for i, e in enumerate(questions[:singles])
    ]
    greetings, thanks = (
        by_intent.get("greeting", []),
        by_intent.get("thanks", []) + by_intent.get("goodbye", []),
    )
    pool = questions[singles:] or questions
    for i in range(composed):
        turns = []
        if greetings and rng.random() < 0.5:
            turns.append(_turn(rng.choice(greetings)))
        turns += [_turn(rng.choice(pool)) for _ in range(rng.choice((1, 2)))]
        if thanks:
            turns.append(_turn(rng.choice(thanks)))
        dialogs.append(ReplayDialog(id=f"composed-{i}", turns=turns))
    return dialogs


def _turn(example: Example) -> ReplayTurn:
    return ReplayTurn(text=example.text, intent=example.intent)


def replay_dialogs(settings: Settings, dialogs: list[ReplayDialog], progress: bool = True) -> dict:
    """Replay through the API on a throw-away store; returns the JSON report."""
    from router.app import create_app

    tally = _Tally()
    with tempfile.TemporaryDirectory(prefix="twoline-replay-") as scratch:
        replay_settings = settings.model_copy(
            update={"database_url": f"sqlite:///{Path(scratch) / 'replay.db'}", "log_level": "WARNING"}
        )
        logging.disable(logging.INFO)  # a log line per replayed turn would drown the progress bar
        try:
            _replay_all(create_app(replay_settings), replay_settings, dialogs, tally, progress)
        finally:
            logging.disable(logging.NOTSET)
    return _report(tally)


def _replay_all(app, settings: Settings, dialogs: list[ReplayDialog], tally: _Tally, progress: bool) -> None:
    from fastapi.testclient import TestClient
    from tqdm import tqdm

    with TestClient(app) as client:
        app.state.assistant.store.new_dialog_id = seeded_dialog_ids(DIALOG_ID_SEED)
        client.headers["Authorization"] = f"Bearer {settings.client_api_key.get_secret_value()}"
        operator = {"Authorization": f"Bearer {settings.operator_api_key.get_secret_value()}"}
        for dialog in tqdm(dialogs, desc="replay", unit="dialog", disable=not progress):
            _replay_one(client, operator, dialog, tally)


def seeded_dialog_ids(seed: int) -> Callable[[], str]:
    """Dialog ids (UUIDs) from a seeded generator: the id picks a dialog's answer variants, and the likes
    gate reads the answer, so random ids moved its hand-offs by ±5 of 1,100 dialogs from run to run."""
    rng = random.Random(seed)
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _replay_one(client, operator_headers: dict, dialog: ReplayDialog, tally: _Tally) -> None:
    tally.dialogs += 1
    dialog_id = None
    automated = True
    for turn in dialog.turns:
        body = {"client_id": f"replay-{dialog.id}"[:64], "text": turn.text, "dialog_id": dialog_id}
        if dialog.language:
            body["language"] = dialog.language
        response = _post(client, body, tally)
        dialog_id = response["dialog_id"]
        if response["decision"]["kind"] == "clarify":
            tally.clarifications += 1
            payload = BUTTON_PREFIX + (turn.intent or "")
            buttons = [b["payload"] for b in (response.get("reply") or {}).get("buttons", [])]
            if turn.intent and payload in buttons:
                tally.resolved_by_click += 1
                response = _post(
                    client, {**body, "dialog_id": dialog_id, "text": "", "button": payload}, tally
                )
            elif turn.intent is None and turn is not dialog.turns[-1]:
                continue  # a turn of unknown intent ("hi", a follow-up's context): the client writes on
            else:
                tally.unresolved_clarifications += 1
                automated = False
                break
        if not _count_decision(response, turn, tally):
            automated = False
            break
    _count_flags(client, operator_headers, dialog_id, tally)
    tally.automated += automated


def _post(client, body: dict, tally: _Tally) -> dict:
    started = time.perf_counter()
    response = client.post("/v1/messages", json={k: v for k, v in body.items() if v is not None})
    tally.latencies_ms.append((time.perf_counter() - started) * 1000)
    tally.turns += 1
    if response.status_code != 200:
        raise RuntimeError(f"replay: the API refused a turn: {response.status_code} {response.text[:200]}")
    return response.json()


def _count_decision(response: dict, turn: ReplayTurn, tally: _Tally) -> bool:
    """Tally one final decision; False when the dialog left the bot (hand-off)."""
    decision = response["decision"]
    tally.feedback_forms += bool(response.get("feedback_form"))
    if decision["kind"] == "handoff":
        tally.handoffs[decision["reason"]] += 1
        tally.predicted_dislikes += decision["reason"] == "predicted_dislike"
        return False
    if decision["kind"] in ("answer", "second_line"):
        tally.answered += 1
        if decision["reason"].startswith("second_line") or decision["kind"] == "second_line":
            tally.second_line_answers += 1
        if turn.intent is not None:
            tally.answered_labelled += 1
            correct = decision["intent"] == turn.intent
            tally.answered_correct += correct
            if not correct and len(tally.wrong_answers) < WORST_EXAMPLES:
                tally.wrong_answers.append(
                    {
                        "text": turn.text,
                        "true_intent": turn.intent,
                        "answered_as": decision["intent"],
                        "confidence": decision["confidence"],
                    }
                )
    return True


def _count_flags(client, operator_headers: dict, dialog_id: str | None, tally: _Tally) -> None:
    """Grounding and tone flags of the dialog's second-line answers, from the stored decisions."""
    if dialog_id is None:
        return
    stored = client.get(f"/v1/dialogs/{dialog_id}", headers=operator_headers).json()
    for decision in stored.get("decisions", []):
        record = (decision.get("scores") or {}).get("second_line") or {}
        grounding = record.get("grounding") or {}
        dropped = [s for s in grounding.get("sentences", []) if not s.get("supported", True)]
        if grounding.get("rejected") or dropped:
            tally.grounding_dropped += 1
        if (record.get("censor") or {}).get("action") in ("rewrite", "block"):
            tally.censored += 1


def _report(tally: _Tally) -> dict:
    latencies = np.array(tally.latencies_ms or [0.0])
    return {
        "dialogs": tally.dialogs,
        "turns": tally.turns,
        "automation": tally.automated / max(1, tally.dialogs),
        "answered_turns": tally.answered,
        "precision_answered": tally.answered_correct / tally.answered_labelled
        if tally.answered_labelled
        else None,
        "handoffs": sum(tally.handoffs.values()),
        "handoffs_by_reason": dict(tally.handoffs.most_common()),
        "clarifications": tally.clarifications,
        "clarifications_resolved_by_click": tally.resolved_by_click,
        "clarifications_unresolved": tally.unresolved_clarifications,
        "second_line_answers": tally.second_line_answers,
        "second_line_grounding_flags": tally.grounding_dropped,
        "second_line_tone_flags": tally.censored,
        "predicted_dislikes": tally.predicted_dislikes,
        "feedback_forms_shown": tally.feedback_forms,
        "latency_ms_p50": float(np.percentile(latencies, 50)),
        "latency_ms_p95": float(np.percentile(latencies, 95)),
        "wrong_answers": tally.wrong_answers,
    }


def default_dialogs(settings: Settings, quick: bool) -> list[ReplayDialog]:
    from first_line.intent_model import IntentModel
    from first_line.training_pipeline import load_splits

    seed = IntentModel(settings.intents_dir).manifest.seed
    held_out = load_splits(settings.data_dir, settings.domain_dir, seed=seed).test
    return composed_dialogs(held_out, singles=150 if quick else 800, composed=50 if quick else 300, seed=seed)


def write_dialogs(dialogs: list[ReplayDialog], path: Path) -> Path:
    path.write_text(
        "".join(json.dumps(d.model_dump(exclude_none=True)) + "\n" for d in dialogs), encoding="utf-8"
    )
    return path
