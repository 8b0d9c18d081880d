"""The dialog store: every client message is committed before any model looks at it.

A turn is two transactions:
1. `accept_message` — the client (created on first contact), the dialog (created or checked)
   and the message itself; once this commits, the message is acknowledged and never lost.
2. `record_decision` — the decision with its reason and scores, the bot's reply, and a hand-off
   ticket when the dialog goes to an operator.
If anything fails between the two, the message is still there, and a retry with the same
`client_message_id` is answered instead of being stored twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from first_line.responses import ClientProfile
from router.policy import Decision
from router.store import turn_sql as sql
from router.store.models import Client, Dialog, Feedback, HandoffTicket, Message, utcnow
from router.store.models import Decision as DecisionRow
from router.store.write_lock import write_lock_for
from router.ticket_priority import ticket_priority


class DialogNotFoundError(LookupError):
    pass


class MessageNotFoundError(LookupError):
    pass


class StoreUnavailableError(RuntimeError):
    """The database is locked or unreachable: the request was not acknowledged."""


class ClientMessageIdReusedError(ValueError):
    """A client_message_id already names another message (another text or button): answering the earlier
    one would acknowledge this one without storing it, so it is refused."""


@dataclass(frozen=True)
class AcceptedMessage:
    dialog_id: str
    message_id: int
    dialog_status: str
    is_retry: bool
    """A message with this client_message_id was accepted before: answer it, store nothing new."""
    client_id: str


@dataclass(frozen=True)
class StoredReading:
    """An encoder's embedding of a client message, stored with it (`first_line/text_encoder.py` writes and
    reads `vector`)."""

    encoder: str
    """The graph that read the message (its file digest)."""
    vector: str
    """The embedding, base64 of its float32 values."""


@dataclass(frozen=True)
class TurnContext:
    recent_texts: list[str]
    """The client's earlier messages of the last days (any dialog), oldest first."""
    recent_readings: list[StoredReading | None]
    """The stored reading of each of `recent_texts` (None where none was stored)."""
    profile: ClientProfile
    dialog_turns: list[tuple[str, str | None]]
    """This dialog's earlier client messages with the intent each was answered as."""
    previous_reason: str | None = None
    """The reason of the decision on this dialog's previous client message (None: the first message)."""


QUESTION_LEFT_AFTER = timedelta(minutes=30)
"""A clarifying question (buttons, or a request to say more) the client has not answered for this long leaves
the dialog unfinished: the bot did not finish it, though no operator took it either."""


def left_on_a_question(now: datetime) -> ColumnElement[bool]:
    """A dialog whose last decision is a clarifying question the client has not answered for
    `QUESTION_LEFT_AFTER` (how `/metrics` and `eval ab` tell it from one the bot finished)."""
    return (Dialog.last_decision_kind == "clarify") & (Dialog.updated_at < now - QUESTION_LEFT_AFTER)


@dataclass(frozen=True)
class DialogCounts:
    total: int
    handed_off: int
    """Dialogs that went to an operator."""
    left_on_a_question: int
    """Dialogs without an operator whose last decision is a clarifying question, unanswered for
    `QUESTION_LEFT_AFTER`."""

    @property
    def automation(self) -> float:
        """The share of dialogs the bot finished: neither handed off nor left on its own question."""
        finished = self.total - self.handed_off - self.left_on_a_question
        return finished / self.total if self.total else 0.0


@dataclass(frozen=True)
class RecordedTurn:
    decision_id: int
    reply_message_id: int | None
    ticket_id: int | None


class DialogStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._write_lock = write_lock_for(engine)
        self.new_dialog_id: Callable[[], str] = lambda: str(uuid.uuid4())
        """How a new dialog's id is made: a random UUID. The id also picks the dialog's answer variants
        (`first_line/responses.py`), so `eval dialogs` seeds it to give the same figures on every run."""

    # -- clients ------------------------------------------------------------------------
    def upsert_client(self, client_id: str, profile: ClientProfile) -> None:
        with self._transaction() as session:
            client = session.get(Client, client_id) or Client(id=client_id)
            for field, value in profile.model_dump().items():
                setattr(client, field, value)
            session.add(client)

    def client_profile(self, client_id: str) -> ClientProfile:
        with self._sessions() as session:
            return _client_profile(session, client_id)

    # -- the turn -----------------------------------------------------------------------
    def accept_message(
        self,
        client_id: str,
        dialog_id: str | None,
        text: str,
        button_payload: str | None = None,
        client_message_id: str | None = None,
        language: str | None = None,
    ) -> AcceptedMessage:
        # Optimistic: a new message is the common case, so insert it first; a retry (the same
        # client_message_id again, maybe concurrently) hits the unique constraint and is then
        # answered with the row stored the first time.
        try:
            return self._accept(client_id, dialog_id, text, button_payload, client_message_id, language)
        except IntegrityError:
            if client_message_id is None:
                raise
            return self._accept(
                client_id, dialog_id, text, button_payload, client_message_id, language, retry=True
            )

    def _accept(
        self,
        client_id: str,
        dialog_id: str | None,
        text: str,
        button_payload: str | None,
        client_message_id: str | None,
        language: str | None,
        retry: bool = False,
    ) -> AcceptedMessage:
        if retry:
            earlier = self._earlier_message(client_id, client_message_id, text, button_payload)
            if earlier is not None:
                return earlier
        now = utcnow()
        with self._connection() as connection:
            connection.execute(sql.ENSURE_CLIENT, {"client_id": client_id, "now": now})
            if language:
                connection.execute(sql.SET_LANGUAGE, {"client_id": client_id, "language": language})
            if dialog_id is None:
                dialog_id, status = self.new_dialog_id(), "open"
                connection.execute(
                    sql.NEW_DIALOG, {"dialog_id": dialog_id, "client_id": client_id, "now": now}
                )
            else:
                owner = connection.execute(sql.DIALOG_OWNER, {"dialog_id": dialog_id}).first()
                if owner is None or owner.client_id != client_id:
                    raise DialogNotFoundError(dialog_id)
                status = owner.status
                touched = connection.execute(sql.TOUCH_DIALOG, {"dialog_id": dialog_id, "now": now}).rowcount
                if touched != 1:  # purged since it was read (router/store/retention.py)
                    raise DialogNotFoundError(dialog_id)
            message = {"text": text, "button_payload": button_payload, "client_message_id": client_message_id}
            message_id = _insert_message(connection, dialog_id, client_id, "client", now, **message)
        return AcceptedMessage(dialog_id, message_id, status, False, client_id)

    def _earlier_message(
        self, client_id: str, client_message_id: str | None, text: str, button_payload: str | None
    ) -> AcceptedMessage | None:
        """The message stored before under this client_message_id, as a retry of this one; an error when
        that message is another one."""
        with self._sessions() as session:
            earlier = session.scalar(
                select(Message).where(
                    Message.client_id == client_id, Message.client_message_id == client_message_id
                )
            )
            if earlier is None:
                return None
            if (earlier.text, earlier.button_payload) != (text, button_payload):
                raise ClientMessageIdReusedError(client_message_id)
            dialog = session.get(Dialog, earlier.dialog_id)
            return AcceptedMessage(earlier.dialog_id, earlier.id, dialog.status, True, client_id)

    def recent_client_texts(
        self, client_id: str, since: datetime, limit: int, before_message_id: int
    ) -> list[str]:
        """The client's earlier messages (any dialog) since `since`, oldest first: dialog context."""
        with self.engine.connect() as connection:
            return [
                text
                for text, _ in _recent_client_messages(connection, client_id, since, limit, before_message_id)
            ]

    def dialog_client_turns(self, dialog_id: str, before_message_id: int) -> list[tuple[str, str | None]]:
        """This dialog's client messages before the given one, oldest first, each with the intent the
        bot answered it as (None when it did not answer); the text read from a screenshot stands in for
        an empty text."""
        with self.engine.connect() as connection:
            turns = _dialog_client_turns(connection, dialog_id, before_message_id)
        return [(text, intent) for text, intent, _ in turns]

    def turn_context(
        self, client_id: str, accepted: AcceptedMessage, since: datetime, limit: int
    ) -> TurnContext:
        """What the policy reads about a turn, in one connection: the client's recent messages, its
        profile and this dialog's earlier turns."""
        with self.engine.connect() as connection:
            turns = _dialog_client_turns(connection, accepted.dialog_id, accepted.message_id)
            recent = _recent_client_messages(connection, client_id, since, limit, accepted.message_id)
            return TurnContext(
                recent_texts=[text for text, _ in recent],
                recent_readings=[reading for _, reading in recent],
                profile=_client_profile(connection, client_id),
                dialog_turns=[(text, intent) for text, intent, _ in turns],
                previous_reason=turns[-1][2] if turns else None,
            )

    def set_ocr_text(self, message_id: int, text: str) -> None:
        """Store what OCR read from the message's screenshot (the message itself was stored first)."""
        with self._transaction() as session:
            session.execute(update(Message).where(Message.id == message_id).values(ocr_text=text))

    def record_decision(
        self,
        accepted: AcceptedMessage,
        decision: Decision,
        latency_ms: float,
        summary: dict | None = None,
        sentiment: float | None = None,
        reading: StoredReading | None = None,
    ) -> RecordedTurn:
        """Store the decision (and what the models read in the client message: its sentiment and an
        encoder's reading, when they were computed), the bot's reply and, for a hand-off, the operator's
        ticket: one transaction."""
        now = utcnow()
        dialog_id, client_id = accepted.dialog_id, accepted.client_id
        with self._connection() as connection:
            if sentiment is not None or reading is not None:
                connection.execute(sql.SET_MESSAGE_READINGS, _readings_row(accepted, sentiment, reading))
            reply_id = None
            if decision.reply:
                buttons = [b.model_dump() for b in decision.buttons] or None
                reply_id = _insert_message(
                    connection, dialog_id, client_id, "bot", now, text=decision.reply, buttons=buttons
                )
            row = decision.model_dump(include=DECISION_FIELDS)
            row |= {"dialog_id": dialog_id, "message_id": accepted.message_id, "reply_message_id": reply_id}
            row |= {"latency_ms": latency_ms, "now": now}
            decision_id = connection.execute(sql.INSERT_DECISION, row).scalar_one()
            connection.execute(sql.SET_LAST_DECISION, {"kind": decision.kind, "dialog_id": dialog_id})
            ticket_id = None
            if decision.kind == "handoff":
                ticket_id = _open_ticket(connection, accepted, decision.reason, summary or {}, now)
            return RecordedTurn(decision_id, reply_id, ticket_id)

    def recorded_turn(self, message_id: int) -> tuple[DecisionRow, Message | None, int | None] | None:
        """The stored outcome of an earlier accepted message (for retries), or None if undecided."""
        with self._sessions() as session:
            row = session.scalar(select(DecisionRow).where(DecisionRow.message_id == message_id))
            if row is None:
                return None
            reply = session.get(Message, row.reply_message_id) if row.reply_message_id else None
            ticket = session.scalar(
                select(HandoffTicket.id)
                .where(HandoffTicket.dialog_id == row.dialog_id)
                .order_by(HandoffTicket.id.desc())
            )
            return row, reply, ticket if row.kind == "handoff" else None

    # -- what the operator needs -----------------------------------------------------------
    def dialog_history(self, dialog_id: str) -> tuple[list[Message], list[DecisionRow]]:
        with self._sessions() as session:
            if session.get(Dialog, dialog_id) is None:
                raise DialogNotFoundError(dialog_id)
            messages = session.scalars(
                select(Message).where(Message.dialog_id == dialog_id).order_by(Message.id)
            ).all()
            decisions = session.scalars(
                select(DecisionRow).where(DecisionRow.dialog_id == dialog_id).order_by(DecisionRow.id)
            ).all()
            return list(messages), list(decisions)

    def dialog(self, dialog_id: str) -> Dialog:
        with self._sessions() as session:
            dialog = session.get(Dialog, dialog_id)
            if dialog is None:
                raise DialogNotFoundError(dialog_id)
            return dialog

    def handoffs(self, status: str | None = "open", limit: int = 100) -> list[HandoffTicket]:
        with self._sessions() as session:
            query = (
                select(HandoffTicket)
                .order_by(HandoffTicket.priority.desc(), HandoffTicket.id.desc())
                .limit(limit)
            )
            if status == "active":  # the operator queue: waiting or being handled
                query = query.where(HandoffTicket.status.in_(("open", "claimed")))
            elif status:
                query = query.where(HandoffTicket.status == status)
            return list(session.scalars(query).all())

    # -- feedback ---------------------------------------------------------------------------
    def add_message_feedback(self, message_id: int, kind: str, dialog_id: str) -> int:
        try:
            with self._transaction() as session:
                message = session.get(Message, message_id)
                if message is None or message.role != "bot" or message.dialog_id != dialog_id:
                    raise MessageNotFoundError(message_id)
                row = Feedback(dialog_id=message.dialog_id, message_id=message_id, kind=kind)
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError as error:  # the dialog was purged meanwhile (router/store/retention.py)
            raise MessageNotFoundError(message_id) from error

    def add_voc(self, dialog_id: str, score: int) -> int:
        try:
            with self._transaction() as session:
                dialog = session.get(Dialog, dialog_id)
                if dialog is None:
                    raise DialogNotFoundError(dialog_id)
                dialog.voc_score = score
                row = Feedback(dialog_id=dialog_id, kind="voc", score=score)
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError as error:  # the dialog was purged meanwhile (router/store/retention.py)
            raise DialogNotFoundError(dialog_id) from error

    # -- housekeeping ---------------------------------------------------------------------
    def count_messages(self, role: str | None = None) -> int:
        with self._sessions() as session:
            query = select(func.count(Message.id))
            if role:
                query = query.where(Message.role == role)
            return int(session.scalar(query) or 0)

    def dialog_counts(self, now: datetime | None = None) -> DialogCounts:
        """How many dialogs there are, went to an operator, and were left on a question the bot asked."""
        left = select(func.count(Dialog.id)).where(
            left_on_a_question(now or utcnow()),
            Dialog.id.not_in(select(HandoffTicket.dialog_id)),  # counted with the hand-offs
        )
        with self._sessions() as session:
            total = session.scalar(select(func.count(Dialog.id))) or 0
            handed_off = session.scalar(select(func.count(func.distinct(HandoffTicket.dialog_id)))) or 0
            return DialogCounts(int(total), int(handed_off), int(session.scalar(left) or 0))

    def close_dialog(self, dialog_id: str) -> None:
        with self._transaction() as session:
            session.execute(update(Dialog).where(Dialog.id == dialog_id).values(status="closed"))

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """An ORM write transaction, with the database's write lock held (`write_lock.py`)."""
        with self._write_lock.held(), _Transaction(self._sessions) as session:
            yield session

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A write transaction on a plain connection (the per-turn SQL), with the database's write
        lock held; a locked or unreachable database becomes `StoreUnavailableError`."""
        with self._write_lock.held():
            try:
                with self.engine.begin() as connection:
                    yield connection
            except OperationalError as error:
                raise StoreUnavailableError(str(error.orig)) from error


DECISION_FIELDS = {"kind", "reason", "intent", "confidence", "threshold", "pool", "scores", "variant"}


def _insert_message(
    connection: Connection,
    dialog_id: str,
    client_id: str,
    role: str,
    now: datetime,
    text: str,
    button_payload: str | None = None,
    client_message_id: str | None = None,
    buttons: list | None = None,
) -> int:
    values = {"dialog_id": dialog_id, "client_id": client_id, "role": role, "text": text, "now": now}
    values |= {"button_payload": button_payload, "client_message_id": client_message_id, "buttons": buttons}
    return connection.execute(sql.INSERT_MESSAGE, values).scalar_one()


def _open_ticket(
    connection: Connection, accepted: AcceptedMessage, reason: str, summary: dict, now: datetime
) -> int:
    connection.execute(sql.HAND_OFF_DIALOG, {"dialog_id": accepted.dialog_id})
    ticket = {"dialog_id": accepted.dialog_id, "client_id": accepted.client_id, "reason": reason}
    ticket |= {"priority": ticket_priority(reason, summary), "summary": summary, "now": now}
    return connection.execute(sql.INSERT_TICKET, ticket).scalar_one()


def _client_profile(connection: Connection, client_id: str) -> ClientProfile:
    row = connection.execute(sql.CLIENT_PROFILE, {"client_id": client_id}).first()
    if row is None:
        return ClientProfile()
    return ClientProfile(language=row.language, age=row.age, gender=row.gender, first_name=row.first_name)


def _recent_client_messages(
    connection: Connection, client_id: str, since: datetime, limit: int, before_message_id: int
) -> list[tuple[str, StoredReading | None]]:
    """The client's last `limit` non-empty messages since `since`, oldest first, each with its reading."""
    if limit <= 0:
        return []
    query = {"client_id": client_id, "before": before_message_id, "since": since, "limit": 2 * limit}
    rows = [row for row in connection.execute(sql.RECENT_CLIENT_TEXTS, query).all() if row[0]][:limit]
    return [
        (text, StoredReading(encoder, vector) if vector and encoder else None)
        for text, vector, encoder in reversed(rows)
    ]


def _readings_row(accepted: AcceptedMessage, sentiment: float | None, reading: StoredReading | None) -> dict:
    return {
        "message_id": accepted.message_id,
        "sentiment": sentiment,
        "reading": reading.vector if reading else None,
        "reading_of": reading.encoder if reading else None,
    }


def _dialog_client_turns(
    connection: Connection, dialog_id: str, before_message_id: int
) -> list[tuple[str, str | None, str | None]]:
    """(text, the intent it was answered as, the decision's reason) of each earlier client message."""
    query = {"dialog_id": dialog_id, "before": before_message_id}
    rows = connection.execute(sql.DIALOG_CLIENT_TURNS, query).all()
    return [
        (text or ocr or "", intent if kind == "answer" else None, reason)
        for text, ocr, kind, intent, reason in rows
    ]


class _Transaction:
    """`with store._transaction() as session:` commits on success, rolls back on error, and turns
    a locked or unreachable database into `StoreUnavailableError`."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._session = sessions()

    def __enter__(self) -> Session:
        return self._session

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                self._session.commit()
            else:
                self._session.rollback()
        except OperationalError as error:
            self._session.rollback()
            raise StoreUnavailableError(str(error.orig)) from error
        finally:
            self._session.close()
        if exc_type is not None and issubclass(exc_type, OperationalError):
            raise StoreUnavailableError(str(getattr(exc, "orig", exc))) from exc
        return False
