"""Multi-turn dialog corpora as client-turn sequences: MultiDoGO TSV, SGD CSV, STAR CSV.

The next-intent recommender and the end-of-dialog detector learn from the client's side of a
dialog only (the service sees the client's messages and the intents it decided for them; the
MultiDoGO files have no agent turns at all). Every reader returns `Dialog`s whose `turns` are
the client turns in order, each with its corpus labels:

- MultiDoGO finance (`conversationId, turnNumber, ..., utterance, ..., intent`): the turn's intent
  (`a<div>b` for two), e.g. `reportlostcard`, `thankyou`, `contentonly`.
- SGD Banks (`split, dialogue_id, turn_idx, ..., speaker, utterance, ..., active_intents, dialog_acts`):
  the intents the client opens in this turn (`INFORM_INTENT`, `Banks_1:CheckBalance` → `CheckBalance`),
  plus the acts `THANK_YOU` / `GOODBYE`.
- STAR bank (`dialogue_id, turn_idx, ..., speaker, text, ..., completion_level, happy`): no client
  intents; used for the end of dialog. A dialog that did not complete (the client disconnected)
  has no labelled last turn.

The layout is recognised from the header, so a bank can export its own logs in any of the three.
`held_out(dialog)` is the fixed, seeded rule that keeps a fifth of every training file's dialogs
for evaluation.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HELD_OUT_PERCENT = 20
MULTIDOGO_COLUMNS = {"conversationId", "turnNumber", "utterance", "intent"}
SGD_COLUMNS = {"dialogue_id", "turn_idx", "speaker", "utterance", "active_intents", "dialog_acts"}
STAR_COLUMNS = {"dialogue_id", "turn_idx", "speaker", "text", "completion_level"}
SGD_ACT_LABELS = {"THANK_YOU": "THANK_YOU", "GOODBYE": "GOODBYE"}


@dataclass(frozen=True)
class ClientTurn:
    text: str
    labels: tuple[str, ...] = ()
    """The corpus's labels of this turn (intents and dialog acts), before any mapping."""


@dataclass(frozen=True)
class Dialog:
    source: str
    """multidogo | sgd | star"""
    dialog_id: str
    turns: tuple[ClientTurn, ...]
    ended: bool = True
    """False when the corpus says the dialog broke off: its last turn is not a natural end."""
    meta: dict = field(default_factory=dict, compare=False)


def detect_layout(path: Path) -> str:
    """'multidogo', 'sgd' or 'star' from the file's header; ValueError for anything else."""
    with open(path, newline="", encoding="utf-8") as handle:
        header = handle.readline()
    columns = set(header.strip().split("\t" if "\t" in header else ","))
    for name, needed in (("multidogo", MULTIDOGO_COLUMNS), ("sgd", SGD_COLUMNS), ("star", STAR_COLUMNS)):
        if needed <= columns:
            return name
    raise ValueError(f"{path}: not a MultiDoGO TSV, SGD CSV or STAR CSV (columns: {sorted(columns)[:8]})")


def read_dialogs(path: Path | str) -> list[Dialog]:
    """The client-turn dialogs of one file, in any of the three layouts."""
    path = Path(path)
    layout = detect_layout(path)
    reader = {"multidogo": _read_multidogo, "sgd": _read_sgd, "star": _read_star}[layout]
    return reader(path)


def held_out(dialog: Dialog) -> bool:
    """The fixed evaluation share of a training file: a hash of the dialog id, not a random draw."""
    digest = hashlib.sha1(f"{dialog.source}:{dialog.dialog_id}".encode()).hexdigest()
    return int(digest[:8], 16) % 100 < HELD_OUT_PERCENT


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _rows(path: Path, delimiter: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def _grouped(rows: list[dict[str, str]], key: str, order: str) -> dict[str, list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    for turns in groups.values():
        turns.sort(key=lambda r: float(r[order]))
    return groups


def _read_multidogo(path: Path) -> list[Dialog]:
    dialogs = []
    for dialog_id, rows in _grouped(_rows(path, "\t"), "conversationId", "turnNumber").items():
        turns = tuple(
            ClientTurn(row["utterance"].strip(), tuple(i for i in row["intent"].split("<div>") if i))
            for row in rows
            if row["utterance"].strip()
        )
        if turns:
            dialogs.append(Dialog("multidogo", dialog_id, turns))
    return dialogs


def _read_sgd(path: Path) -> list[Dialog]:
    dialogs = []
    for dialog_id, rows in _grouped(_rows(path, ","), "dialogue_id", "turn_idx").items():
        turns, active = [], set()
        for row in rows:
            if row["speaker"].upper() != "USER":
                continue
            now = {i.split(":", 1)[1] for i in row["active_intents"].split("|") if ":" in i} - {"NONE"}
            acts = {a.split("(", 1)[0] for a in row["dialog_acts"].split("|") if a}
            opened = sorted(now - active)
            labels = tuple(opened) + tuple(SGD_ACT_LABELS[a] for a in sorted(acts) if a in SGD_ACT_LABELS)
            active = now
            if row["utterance"].strip():
                turns.append(ClientTurn(row["utterance"].strip(), labels))
        if turns:
            dialogs.append(Dialog("sgd", dialog_id, tuple(turns)))
    return dialogs


def _read_star(path: Path) -> list[Dialog]:
    dialogs = []
    for dialog_id, rows in _grouped(_rows(path, ","), "dialogue_id", "turn_idx").items():
        turns = tuple(
            ClientTurn(row["text"].strip())
            for row in rows
            if row["speaker"] == "User" and row["text"].strip()
        )
        if turns:
            complete = rows[0].get("completion_level", "Complete") == "Complete"
            dialogs.append(Dialog("star", dialog_id, turns, ended=complete))
    return dialogs
