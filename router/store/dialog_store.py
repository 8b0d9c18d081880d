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
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from first_line.responses import ClientProfile
from router.policy import Decision
from router.store.models import Client, Dialog, Feedback, HandoffTicket, Message, utcnow
from router.store.models import Decision as DecisionRow
from router.ticket_priority import ticket_priority


class DialogNotFoundError(LookupError):
    pass


class MessageNotFoundError(LookupError):
    pass


class StoreUnavailableError(RuntimeError):
    """The database is locked or unreachable: the request was not acknowledged."""


@dataclass(frozen=True)
class AcceptedMessage:
    dialog_id: str
    message_id: int
    dialog_status: str
    is_retry: bool
    """A message with this client_message_id was accepted before: answer it, store nothing new."""
    client_id: str


@dataclass(frozen=True)
class TurnContext:
    recent_texts: list[str]
    """The client's earlier messages of the last days (any dialog), oldest first."""
    profile: ClientProfile
    dialog_turns: list[tuple[str, str | None]]
    """This dialog's earlier client messages with the intent each was answered as."""


@dataclass(frozen=True)
class RecordedTurn:
    decision_id: int
    reply_message_id: int | None
    ticket_id: int | None


class DialogStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

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
        try:
            return self._accept(client_id, dialog_id, text, button_payload, client_message_id, language)
        except IntegrityError:
            # Two concurrent retries of one message: the other one won; answer with its row.
            if client_message_id is None:
                raise
            return self._accept(client_id, dialog_id, text, button_payload, client_message_id, language)

    def _accept(
        self,
        client_id: str,
        dialog_id: str | None,
        text: str,
        button_payload: str | None,
        client_message_id: str | None,
        language: str | None,
    ) -> AcceptedMessage:
        with self._transaction() as session:
            if client_message_id is not None:
                earlier = session.scalar(
                    select(Message).where(
                        Message.client_id == client_id, Message.client_message_id == client_message_id
                    )
                )
                if earlier is not None:
                    dialog = session.get(Dialog, earlier.dialog_id)
                    return AcceptedMessage(earlier.dialog_id, earlier.id, dialog.status, True, client_id)
            _ensure_client(session, client_id)
            if language:
                session.execute(
                    update(Client)
                    .where(Client.id == client_id, Client.language.is_distinct_from(language))
                    .values(language=language)
                )
            dialog = self._dialog_for(session, client_id, dialog_id)
            message = Message(
                dialog_id=dialog.id,
                client_id=client_id,
                role="client",
                text=text,
                button_payload=button_payload,
                client_message_id=client_message_id,
            )
            session.add(message)
            session.flush()
            return AcceptedMessage(dialog.id, message.id, dialog.status, False, client_id)

    @staticmethod
    def _dialog_for(session: Session, client_id: str, dialog_id: str | None) -> Dialog:
        if dialog_id is None:
            dialog = Dialog(id=str(uuid.uuid4()), client_id=client_id)
            session.add(dialog)
            session.flush()
            return dialog
        dialog = session.get(Dialog, dialog_id)
        if dialog is None or dialog.client_id != client_id:
            raise DialogNotFoundError(dialog_id)
        dialog.updated_at = utcnow()
        return dialog

    def recent_client_texts(
        self, client_id: str, since: datetime, limit: int, before_message_id: int
    ) -> list[str]:
        """The client's earlier messages (any dialog) since `since`, oldest first: dialog context."""
        with self._sessions() as session:
            return _recent_client_texts(session, client_id, since, limit, before_message_id)

    def dialog_client_turns(self, dialog_id: str, before_message_id: int) -> list[tuple[str, str | None]]:
        """This dialog's client messages before the given one, oldest first, each with the intent the
        bot answered it as (None when it did not answer); the text read from a screenshot stands in for
        an empty text."""
        with self._sessions() as session:
            return _dialog_client_turns(session, dialog_id, before_message_id)

    def turn_context(
        self, client_id: str, accepted: AcceptedMessage, since: datetime, limit: int
    ) -> TurnContext:
        """What the policy reads about a turn, in one session: the client's recent messages, its
        profile and this dialog's earlier turns."""
        with self._sessions() as session:
            return TurnContext(
                recent_texts=_recent_client_texts(session, client_id, since, limit, accepted.message_id),
                profile=_client_profile(session, client_id),
                dialog_turns=_dialog_client_turns(session, accepted.dialog_id, accepted.message_id),
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
    ) -> RecordedTurn:
        """Store the decision (and the client message's sentiment, when it was scored)."""
        with self._transaction() as session:
            if sentiment is not None:
                session.execute(
                    update(Message).where(Message.id == accepted.message_id).values(sentiment=sentiment)
                )
            reply_id = None
            if decision.reply:
                reply = Message(
                    dialog_id=accepted.dialog_id,
                    client_id=accepted.client_id,
                    role="bot",
                    text=decision.reply,
                    buttons=[b.model_dump() for b in decision.buttons] or None,
                )
                session.add(reply)
                session.flush()
                reply_id = reply.id
            row = DecisionRow(
                dialog_id=accepted.dialog_id,
                message_id=accepted.message_id,
                reply_message_id=reply_id,
                kind=decision.kind,
                reason=decision.reason,
                intent=decision.intent,
                confidence=decision.confidence,
                threshold=decision.threshold,
                pool=decision.pool,
                scores=decision.scores,
                latency_ms=latency_ms,
                variant=decision.variant,
            )
            session.add(row)
            ticket_id = None
            if decision.kind == "handoff":
                ticket_id = self._open_ticket(session, accepted.dialog_id, decision.reason, summary or {})
            session.flush()
            return RecordedTurn(row.id, reply_id, ticket_id)

    @staticmethod
    def _open_ticket(session: Session, dialog_id: str, reason: str, summary: dict) -> int:
        dialog = session.get(Dialog, dialog_id)
        dialog.status = "handed_off"
        ticket = HandoffTicket(
            dialog_id=dialog_id,
            client_id=dialog.client_id,
            reason=reason,
            summary=summary,
            priority=ticket_priority(reason, summary),
        )
        session.add(ticket)
        session.flush()
        return ticket.id

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
        with self._transaction() as session:
            message = session.get(Message, message_id)
            if message is None or message.role != "bot" or message.dialog_id != dialog_id:
                raise MessageNotFoundError(message_id)
            row = Feedback(dialog_id=message.dialog_id, message_id=message_id, kind=kind)
            session.add(row)
            session.flush()
            return row.id

    def add_voc(self, dialog_id: str, score: int) -> int:
        with self._transaction() as session:
            dialog = session.get(Dialog, dialog_id)
            if dialog is None:
                raise DialogNotFoundError(dialog_id)
            dialog.voc_score = score
            row = Feedback(dialog_id=dialog_id, kind="voc", score=score)
            session.add(row)
            session.flush()
            return row.id

    # -- housekeeping ---------------------------------------------------------------------
    def count_messages(self, role: str | None = None) -> int:
        with self._sessions() as session:
            query = select(func.count(Message.id))
            if role:
                query = query.where(Message.role == role)
            return int(session.scalar(query) or 0)

    def dialog_counts(self) -> tuple[int, int]:
        """(dialogs, dialogs that were handed to an operator)."""
        with self._sessions() as session:
            total = session.scalar(select(func.count(Dialog.id))) or 0
            handed_off = session.scalar(select(func.count(func.distinct(HandoffTicket.dialog_id)))) or 0
            return int(total), int(handed_off)

    def close_dialog(self, dialog_id: str) -> None:
        with self._transaction() as session:
            session.execute(update(Dialog).where(Dialog.id == dialog_id).values(status="closed"))

    def _transaction(self):
        return _Transaction(self._sessions)


def _client_profile(session: Session, client_id: str) -> ClientProfile:
    client = session.get(Client, client_id)
    if client is None:
        return ClientProfile()
    return ClientProfile(
        language=client.language, age=client.age, gender=client.gender, first_name=client.first_name
    )


def _recent_client_texts(
    session: Session, client_id: str, since: datetime, limit: int, before_message_id: int
) -> list[str]:
    if limit <= 0:
        return []
    rows = session.scalars(
        select(Message.text)
        .where(
            Message.client_id == client_id,
            Message.role == "client",
            Message.id < before_message_id,
            Message.created_at >= since,
            Message.text != "",
        )
        .order_by(Message.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def _dialog_client_turns(
    session: Session, dialog_id: str, before_message_id: int
) -> list[tuple[str, str | None]]:
    rows = session.execute(
        select(Message.text, Message.ocr_text, DecisionRow.kind, DecisionRow.intent)
        .outerjoin(DecisionRow, DecisionRow.message_id == Message.id)
        .where(Message.dialog_id == dialog_id, Message.role == "client")
        .where(Message.id < before_message_id)
        .order_by(Message.id)
    ).all()
    return [(text or ocr or "", intent if kind == "answer" else None) for text, ocr, kind, intent in rows]


def _ensure_client(session: Session, client_id: str) -> None:
    """Create the client on first contact; safe when two first messages arrive at once."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    session.execute(
        insert(Client)
        .values(id=client_id, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
    )


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
