"""Hand-off tickets from the operator's side: claim, release, reply, close; the client's new messages.

One operator per dialog: a claim is one conditional UPDATE (`... WHERE status = 'open'`), so of two
operators claiming at once exactly one gets the ticket, on SQLite (one writer at a time) and on
PostgreSQL (the second UPDATE waits for the first's row lock, re-reads the row and matches nothing).
Reply, release and close first take the same kind of conditional UPDATE on the ticket ("still mine"),
then write: nothing is written for an operator who no longer holds the ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from router.store.dialog_store import DialogNotFoundError, _Transaction
from router.store.models import Dialog, Feedback, HandoffTicket, Message, last_reaction_ids, utcnow

Outcome = Literal["resolved", "unresolved", "client_left", "returned_to_bot"]
"""How an operator closed a ticket: the client's problem was solved; it was not (or needs a branch
visit, a call back...); the client went silent; the operator answered and handed the dialog back to the
bot (the dialog reopens and the bot answers the next message)."""
OUTCOMES: tuple[str, ...] = get_args(Outcome)


class TicketNotFoundError(LookupError):
    pass


class TicketStateError(RuntimeError):
    """The ticket is not in a state that allows this (API: 409 with `code`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DialogUpdate:
    """What the client page polls: the dialog's state and its messages after a given id."""

    dialog_id: str
    status: str
    ticket_status: str | None
    messages: list[Message]


class TicketStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def ticket(self, ticket_id: int) -> HandoffTicket:
        with self._sessions() as session:
            ticket = session.get(HandoffTicket, ticket_id)
            if ticket is None:
                raise TicketNotFoundError(ticket_id)
            return ticket

    def claim(self, ticket_id: int, operator: str) -> HandoffTicket:
        """Make the ticket this operator's; claiming one's own ticket again is a no-op."""
        with _Transaction(self._sessions) as session:
            claimed = session.execute(
                update(HandoffTicket)
                .where(HandoffTicket.id == ticket_id, HandoffTicket.status == "open")
                .values(status="claimed", claimed_by=operator, claimed_at=utcnow())
            ).rowcount
            ticket = _get(session, ticket_id)
            if not claimed and not (ticket.status == "claimed" and ticket.claimed_by == operator):
                _refuse(ticket)
            return ticket

    def release(self, ticket_id: int, operator: str) -> HandoffTicket:
        """Put the ticket back in the queue (the dialog stays with operators)."""
        with _Transaction(self._sessions) as session:
            self._hold(session, ticket_id, operator, status="open", claimed_by=None, claimed_at=None)
            return _get(session, ticket_id)

    def reply(self, ticket_id: int, operator: str, text: str) -> Message:
        """Store the operator's message in the ticket's dialog (role `operator`)."""
        with _Transaction(self._sessions) as session:
            ticket = self._hold(session, ticket_id, operator)
            message = Message(
                dialog_id=ticket.dialog_id,
                client_id=ticket.client_id,
                role="operator",
                text=text,
                author=operator,
            )
            session.add(message)
            session.execute(update(Dialog).where(Dialog.id == ticket.dialog_id).values(updated_at=utcnow()))
            session.flush()
            return message

    def close(self, ticket_id: int, operator: str, outcome: str) -> HandoffTicket:
        """Close with an outcome; the dialog is closed, or reopened for the bot (`returned_to_bot`)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        with _Transaction(self._sessions) as session:
            ticket = self._hold(
                session, ticket_id, operator, status="closed", outcome=outcome, closed_at=utcnow()
            )
            dialog_status = "open" if outcome == "returned_to_bot" else "closed"
            session.execute(update(Dialog).where(Dialog.id == ticket.dialog_id).values(status=dialog_status))
            return ticket

    @staticmethod
    def _hold(session: Session, ticket_id: int, operator: str, **changes) -> HandoffTicket:
        """Lock the ticket if this operator holds it (and apply `changes`), else refuse."""
        held = session.execute(
            update(HandoffTicket)
            .where(
                HandoffTicket.id == ticket_id,
                HandoffTicket.status == "claimed",
                HandoffTicket.claimed_by == operator,
            )
            .values(**(changes or {"claimed_by": operator}))
        ).rowcount
        ticket = _get(session, ticket_id)
        if not held:
            _refuse(ticket)
        return ticket

    # -- the client's side ----------------------------------------------------------------
    def dialog_update(self, dialog_id: str, after_message_id: int = 0) -> DialogUpdate:
        with self._sessions() as session:
            dialog = session.get(Dialog, dialog_id)
            if dialog is None:
                raise DialogNotFoundError(dialog_id)
            messages = session.scalars(
                select(Message)
                .where(Message.dialog_id == dialog_id, Message.id > after_message_id)
                .order_by(Message.id)
            ).all()
            ticket_status = session.scalar(
                select(HandoffTicket.status)
                .where(HandoffTicket.dialog_id == dialog_id)
                .order_by(HandoffTicket.id.desc())
                .limit(1)
            )
            return DialogUpdate(dialog.id, dialog.status, ticket_status, list(messages))

    # -- metrics ----------------------------------------------------------------------------
    def outcome_counts(self) -> dict[tuple[str, str], int]:
        """{(status, outcome or ''): tickets}."""
        with self._sessions() as session:
            rows = session.execute(
                select(HandoffTicket.status, HandoffTicket.outcome, func.count(HandoffTicket.id)).group_by(
                    HandoffTicket.status, HandoffTicket.outcome
                )
            ).all()
        return {(status, outcome or ""): int(count) for status, outcome, count in rows}

    def voc_by_handler(self) -> dict[str, tuple[int, float]]:
        """{'bot' | 'operator': (dialogs with a VOC score, mean score)}; 'operator' = ever handed off."""
        handed_off = select(HandoffTicket.dialog_id).distinct()
        result: dict[str, tuple[int, float]] = {}
        with self._sessions() as session:
            for handler, condition in (
                ("bot", Dialog.id.not_in(handed_off)),
                ("operator", Dialog.id.in_(handed_off)),
            ):
                count, mean = session.execute(
                    select(func.count(Dialog.voc_score), func.avg(Dialog.voc_score)).where(
                        Dialog.voc_score.is_not(None), condition
                    )
                ).one()
                result[handler] = (int(count or 0), float(mean or 0.0))
        return result

    def reaction_counts(self) -> dict[str, int]:
        """{'like': n, 'dislike': n} over bot messages, the last reaction to each."""
        with self._sessions() as session:
            rows = session.execute(
                select(Feedback.kind, func.count(Feedback.id))
                .where(Feedback.id.in_(last_reaction_ids()))
                .group_by(Feedback.kind)
            ).all()
        return {"like": 0, "dislike": 0} | {kind: int(n) for kind, n in rows}


def _get(session: Session, ticket_id: int) -> HandoffTicket:
    ticket = session.get(HandoffTicket, ticket_id, populate_existing=True)
    if ticket is None:
        raise TicketNotFoundError(ticket_id)
    return ticket


def _refuse(ticket: HandoffTicket) -> None:
    if ticket.status == "closed":
        raise TicketStateError("ticket_closed", f"ticket {ticket.id} is closed ({ticket.outcome})")
    if ticket.status == "claimed":
        raise TicketStateError("ticket_claimed", f"ticket {ticket.id} is claimed by {ticket.claimed_by}")
    raise TicketStateError("ticket_not_claimed", f"ticket {ticket.id} is open: claim it first")
