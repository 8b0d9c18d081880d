"""The operator's API (claim, release, reply, close a hand-off ticket) and the client's poll for new
messages of its dialog (operator replies reach the chat page through it).

Operators are identified by the `X-Operator` header (a name: letters of any script, digits, space and
`_.@-`) next to the shared operator key: enough to enforce one operator per dialog and to sign replies; a
bank puts its single sign-on in front of the console and fills the header from it. HTTP headers carry
Latin-1 only, so a name like "Анна" travels percent-encoded as UTF-8 (`%D0%90%D0%BD%D0%BD%D0%B0`, what
the console's `encodeURIComponent` sends); `operator_name_from_header` decodes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from first_line.text_input import StorableText, has_visible_text
from router.api_models import ROW_ID_MAX, ErrorResponse, HandoffView
from router.assistant import Assistant
from router.errors import ApiError
from router.settings import Settings
from router.store.dialog_store import DialogNotFoundError
from router.store.models import HandoffTicket, Message
from router.store.ticket_store import Outcome, TicketNotFoundError, TicketStateError, TicketStore

OPERATOR_NAME_PATTERN = re.compile(r"[\w.@ -]{1,64}")
"""Letters and digits of any script (Python's Unicode `\\w`, with `_`), space and `.@-`."""
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (401, 404, 409, 422, 503)
}


class OperatorReplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: StorableText = Field(description="The operator's message to the client.")


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome = Field(
        description="resolved | unresolved | client_left | returned_to_bot (the bot answers again)"
    )


class OperatorReplyResponse(BaseModel):
    message_id: int
    ticket: HandoffView


class UpdateMessageView(BaseModel):
    id: int
    role: str
    """client | bot | operator"""
    text: str
    author: str | None = None
    """The operator's name on operator messages."""
    buttons: list[dict] | None = None
    ocr_text: str | None = None
    """Text read from the client's screenshot, where the OCR gate stored it."""
    created_at: str


class DialogUpdateView(BaseModel):
    dialog_id: str
    status: str
    """open | handed_off | closed"""
    ticket_status: str | None
    """The dialog's latest hand-off ticket: open (waiting for an operator) | claimed | closed; None."""
    messages: list[UpdateMessageView]


class DemoConfig(BaseModel):
    client_api_key: str
    client_key_is_demo: bool = True


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 with the zone: SQLite hands back naive datetimes, stored in UTC."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def handoff_view(ticket: HandoffTicket) -> HandoffView:
    return HandoffView(
        ticket_id=ticket.id,
        dialog_id=ticket.dialog_id,
        client_id=ticket.client_id,
        reason=ticket.reason,
        status=ticket.status,
        priority=ticket.priority,
        summary=ticket.summary or {},
        created_at=_iso(ticket.created_at),
        claimed_by=ticket.claimed_by,
        claimed_at=_iso(ticket.claimed_at),
        outcome=ticket.outcome,
        closed_at=_iso(ticket.closed_at),
    )


def message_view(message: Message) -> UpdateMessageView:
    return UpdateMessageView(
        id=message.id,
        role=message.role,
        text=message.text,
        author=message.author,
        buttons=message.buttons,
        ocr_text=getattr(message, "ocr_text", None),
        created_at=_iso(message.created_at),
    )


@lru_cache(maxsize=8)
def ticket_store(engine: Engine) -> TicketStore:
    return TicketStore(engine)


def build_operator_router(
    settings: Settings,
    the_assistant: Callable[..., Assistant],
    client_or_operator: Any,
    operator_only: Any,
) -> APIRouter:
    """The routes, bound to the app's own key checks and assistant dependency."""
    router = APIRouter()

    def tickets(bot: Assistant = Depends(the_assistant)) -> TicketStore:
        return ticket_store(bot.store.engine)

    def operator_name(
        x_operator: str = Header(description="The operator's name, percent-encoded UTF-8 outside ASCII."),
    ) -> str:
        return operator_name_from_header(x_operator)

    ticket_path = Path(ge=1, le=ROW_ID_MAX, description="The hand-off ticket's id.")

    @router.get(
        "/v1/handoffs/{ticket_id}", tags=["operator"], dependencies=[operator_only], responses=_ERRORS
    )
    def get_ticket(ticket_id: int = ticket_path, store: TicketStore = Depends(tickets)) -> HandoffView:
        with _ticket_errors():
            return handoff_view(store.ticket(ticket_id))

    @router.post(
        "/v1/handoffs/{ticket_id}/claim", tags=["operator"], dependencies=[operator_only], responses=_ERRORS
    )
    def claim(
        ticket_id: int = ticket_path,
        operator: str = Depends(operator_name),
        store: TicketStore = Depends(tickets),
    ) -> HandoffView:
        """Make the ticket this operator's (409 `ticket_claimed` if another operator holds it)."""
        with _ticket_errors():
            return handoff_view(store.claim(ticket_id, operator))

    @router.post(
        "/v1/handoffs/{ticket_id}/release", tags=["operator"], dependencies=[operator_only], responses=_ERRORS
    )
    def release(
        ticket_id: int = ticket_path,
        operator: str = Depends(operator_name),
        store: TicketStore = Depends(tickets),
    ) -> HandoffView:
        """Give the ticket back to the queue."""
        with _ticket_errors():
            return handoff_view(store.release(ticket_id, operator))

    @router.post(
        "/v1/handoffs/{ticket_id}/reply", tags=["operator"], dependencies=[operator_only], responses=_ERRORS
    )
    def reply(
        body: OperatorReplyRequest,
        ticket_id: int = ticket_path,
        operator: str = Depends(operator_name),
        store: TicketStore = Depends(tickets),
    ) -> OperatorReplyResponse:
        """Write to the client (stored as role `operator`); only the operator holding the ticket."""
        if not has_visible_text(body.text):
            raise ApiError(422, "empty_message", "the message is empty")
        if len(body.text) > settings.max_message_chars:
            raise ApiError(422, "message_too_long", f"the limit is {settings.max_message_chars} characters")
        with _ticket_errors():
            message = store.reply(ticket_id, operator, body.text)
            return OperatorReplyResponse(message_id=message.id, ticket=handoff_view(store.ticket(ticket_id)))

    @router.post(
        "/v1/handoffs/{ticket_id}/close", tags=["operator"], dependencies=[operator_only], responses=_ERRORS
    )
    def close(
        body: CloseRequest,
        ticket_id: int = ticket_path,
        operator: str = Depends(operator_name),
        store: TicketStore = Depends(tickets),
    ) -> HandoffView:
        """Close with an outcome (counted in /metrics); the client page then offers the VOC form."""
        with _ticket_errors():
            return handoff_view(store.close(ticket_id, operator, body.outcome))

    @router.get(
        "/v1/dialogs/{dialog_id}/messages",
        tags=["chat"],
        dependencies=[client_or_operator],
        responses=_ERRORS,
    )
    def dialog_messages(
        dialog_id: str = Path(max_length=36),
        after: int = Query(
            0, ge=0, le=ROW_ID_MAX, description="Only messages with a larger id (the last one you have)."
        ),
        store: TicketStore = Depends(tickets),
    ) -> DialogUpdateView:
        """New messages of a dialog and its state: the chat page polls this for operator replies."""
        try:
            update = store.dialog_update(dialog_id, after)
        except DialogNotFoundError as exc:
            raise ApiError(404, "unknown_dialog", "no such dialog") from exc
        return DialogUpdateView(
            dialog_id=update.dialog_id,
            status=update.status,
            ticket_status=update.ticket_status,
            messages=[message_view(m) for m in update.messages],
        )

    @router.get("/v1/demo-config", tags=["ops"], responses={404: {"model": ErrorResponse}})
    def demo_config() -> DemoConfig:
        """The client key for the demo chat page, only while the service runs on the demo keys."""
        if not settings.uses_demo_keys:
            raise ApiError(404, "not_found", "not a demo deployment: enter the client key in the page")
        return DemoConfig(client_api_key=settings.client_api_key.get_secret_value())

    return router


@contextmanager
def _ticket_errors() -> Iterator[None]:
    """Map the ticket store's errors to API errors (404 unknown_ticket, 409 with the state's code); a busy
    store is answered by the app's handler (503 `store_unavailable`, router/errors.py)."""
    try:
        yield
    except TicketNotFoundError as exc:
        raise ApiError(404, "unknown_ticket", "no such hand-off ticket") from exc
    except TicketStateError as exc:
        raise ApiError(409, exc.code, exc.message) from exc


def operator_name_from_header(value: str) -> str:
    """The operator's name from `X-Operator`: percent-decoded as UTF-8, trimmed, then checked (422
    `invalid_request` naming the header otherwise)."""
    try:
        name = unquote(value, errors="strict").strip()
    except UnicodeDecodeError:
        name = ""
    if OPERATOR_NAME_PATTERN.fullmatch(name) is None:
        raise ApiError(
            422,
            "invalid_request",
            "X-Operator: 1-64 letters, digits, spaces or _.@- (percent-encode UTF-8 outside ASCII)",
        )
    return name
