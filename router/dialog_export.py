"""`twoline export-dialogs`: the service's own logged dialogs as a MultiDoGO-layout TSV.

This is how a bank trains the next-intent recommender and the end-of-dialog detector on its own
traffic: export, then `twoline train next-intent --data dialogs.tsv` (and `dialog-end`). Each
client message is a row in dialog order; its `intent` is the one the bot answered it as (empty
when the bot did not answer: an operator's turn, a clarification), so the labels are the bank's
own intent names and need no mapping. Messages carry no client id; texts are exported as stored.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from router.store.dialog_store import DialogStore
from router.store.models import Decision, Message

COLUMNS = ["conversationId", "turnNumber", "utteranceId", "utterance", "slot-labels", "intent"]


def export_dialogs(store: DialogStore, out: Path) -> int:
    """Write every dialog's client messages to `out`; returns the number of rows."""
    query = (
        select(Message.dialog_id, Message.id, Message.text, Message.ocr_text, Decision.kind, Decision.intent)
        .outerjoin(Decision, Decision.message_id == Message.id)
        .where(Message.role == "client")
        .order_by(Message.dialog_id, Message.id)
    )
    rows = 0
    with store.engine.connect() as connection, open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(COLUMNS)
        turn, current = 0, None
        for dialog_id, message_id, text, ocr_text, kind, intent in connection.execute(query):
            turn = turn + 1 if dialog_id == current else 0
            current = dialog_id
            utterance = " ".join((text or ocr_text or "").split())
            if not utterance:
                continue
            label = intent if kind == "answer" and intent else ""
            writer.writerow([dialog_id, f"{turn}.0", f"{dialog_id}:{message_id}", utterance, "O", label])
            rows += 1
    return rows
