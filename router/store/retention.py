"""Data retention and erasure: what the bank deletes from the dialog store, and when.

Two rules, both run by the bank (a cron job, its CRM), never by the service on its own:

- **Retention** (`purge_idle_dialogs`, `twoline store purge --older-than-days N`): a dialog nobody has
  written to for N days goes, with its messages, decisions, feedback and tickets; so does a client
  profile that has no dialog left and was not updated in that time. A dialog whose hand-off ticket is
  still open or claimed stays: it is an operator's work in progress, however old.
- **Stale readings** (`drop_stale_readings`, run by the same `twoline store purge`): the encoder's
  embedding stored with a client message (`messages.reading`, 2 KB) serves only the client's turns within
  the domain's `context_days`; after that it is cleared, the message kept.
- **Erasure** (`forget_client`, `twoline store forget-client ID`, `DELETE /v1/clients/{id}`): everything
  stored about one client (a data-subject request), open tickets included.

Both delete in batches of dialogs, each batch one short transaction under the store's write lock, so the
service keeps answering while a large purge runs. Nothing a client sent after the cut-off is deleted: a
batch locks the dialog rows it deletes (`FOR UPDATE` on PostgreSQL; SQLite runs one writer at a time) and
checks the cut-off again inside its transaction, and a message that reaches a dialog the same moment it
is purged is refused as an unknown dialog (`turn_sql.TOUCH_DIALOG` updates no row), not acknowledged.
The models trained on stored data keep no texts (their manifests hold data hashes); retrain them to drop
what a deleted client contributed to their weights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, exists, select, update
from sqlalchemy.exc import OperationalError

from router.store.dialog_store import StoreUnavailableError
from router.store.models import Client, ClientRisk, Decision, Dialog, Feedback, HandoffTicket, Message
from router.store.write_lock import write_lock_for

BATCH = 200
"""Dialogs deleted per transaction: a few ms of write lock each on SQLite."""

WORK_IN_PROGRESS = ("open", "claimed")
"""Ticket states that keep a dialog from the retention purge."""

_DIALOG_TABLES = (Feedback, Decision, HandoffTicket, Message)
"""Rows that belong to a dialog, deleted before it (children first: foreign keys)."""


def purge_idle_dialogs(engine: Engine, cutoff: datetime, batch: int = BATCH) -> dict[str, int]:
    """Delete the dialogs with no activity since `cutoff` (aware UTC), then the client profiles left
    without dialogs and untouched since then; returns rows deleted per table."""
    deleted: Counter[str] = Counter()
    idle = Dialog.updated_at < cutoff
    recent_message = exists().where(Message.dialog_id == Dialog.id, Message.created_at >= cutoff)
    in_progress = exists().where(
        HandoffTicket.dialog_id == Dialog.id, HandoffTicket.status.in_(WORK_IN_PROGRESS)
    )
    while _delete_dialog_batch(engine, [idle, ~recent_message, ~in_progress], batch, deleted):
        pass
    _delete_clients(engine, [Client.updated_at < cutoff], deleted)
    return _counts(deleted)


def drop_stale_readings(engine: Engine, before: datetime, batch: int = 5 * BATCH) -> int:
    """Clear the stored readings of client messages written before `before` (aware UTC), `batch` messages
    a transaction; returns how many were cleared."""
    cleared = 0
    stale = [Message.reading.is_not(None), Message.created_at < before]
    while True:
        with _write(engine) as connection:
            ids = list(connection.execute(select(Message.id).where(*stale).limit(batch)).scalars())
            if not ids:
                return cleared
            cleared += _rowcount(
                connection,
                update(Message).where(Message.id.in_(ids)).values(reading=None, reading_of=None),
            )


def forget_client(engine: Engine, client_id: str, batch: int = BATCH) -> dict[str, int]:
    """Delete every row stored about `client_id`; returns rows deleted per table (all zero when the store
    never heard of the client)."""
    deleted: Counter[str] = Counter()
    while _delete_dialog_batch(engine, [Dialog.client_id == client_id], batch, deleted):
        pass
    with _write(engine) as connection:
        deleted["client_risk"] += _rowcount(
            connection, delete(ClientRisk).where(ClientRisk.client_id == client_id)
        )
    _delete_clients(engine, [Client.id == client_id], deleted)
    return _counts(deleted)


def _delete_dialog_batch(engine: Engine, conditions: list, batch: int, deleted: Counter[str]) -> bool:
    """Delete up to `batch` dialogs matching `conditions` with their rows, in one transaction; False when
    none matched."""
    with _write(engine) as connection:
        query = select(Dialog.id).where(*conditions).order_by(Dialog.id).limit(batch).with_for_update()
        dialog_ids = list(connection.execute(query).scalars())
        if not dialog_ids:
            return False
        for table in _DIALOG_TABLES:
            deleted[table.__tablename__] += _rowcount(
                connection, delete(table).where(table.dialog_id.in_(dialog_ids))
            )
        deleted["dialogs"] += _rowcount(connection, delete(Dialog).where(Dialog.id.in_(dialog_ids)))
    return True


def _delete_clients(engine: Engine, conditions: list, deleted: Counter[str]) -> None:
    """Delete the client profiles matching `conditions` that have no dialog (a client who started one
    since keeps the profile it needs) and their risk scores."""
    conditions = [*conditions, ~exists().where(Dialog.client_id == Client.id)]
    with _write(engine) as connection:
        client_ids = list(
            connection.execute(select(Client.id).where(*conditions).with_for_update()).scalars()
        )
        for start in range(0, len(client_ids), BATCH):
            chunk = client_ids[start : start + BATCH]
            deleted["client_risk"] += _rowcount(
                connection, delete(ClientRisk).where(ClientRisk.client_id.in_(chunk))
            )
            # The conditions again: a dialog opened since the select keeps its client (PostgreSQL reads
            # each statement's own snapshot).
            deleted["clients"] += _rowcount(
                connection, delete(Client).where(Client.id.in_(chunk), *conditions)
            )


@contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    """One write transaction under the store's write lock; a locked or unreachable database becomes
    `StoreUnavailableError` (nothing of the batch is deleted)."""
    with write_lock_for(engine).held():
        try:
            with engine.begin() as connection:
                yield connection
        except OperationalError as error:
            raise StoreUnavailableError(str(error.orig)) from error


def _rowcount(connection: Connection, statement) -> int:
    return connection.execute(statement.execution_options(synchronize_session=False)).rowcount


TABLES = ("clients", "client_risk", "dialogs", "messages", "decisions", "feedback", "handoff_tickets")


def _counts(deleted: Counter[str]) -> dict[str, int]:
    return {table: deleted[table] for table in TABLES}
