"""The router service: the chat API in front of the assistant (FastAPI, OpenAPI at /docs)."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from first_line.text_input import has_visible_text
from router.api_models import (
    CLIENT_ID_PATTERN,
    ClientErasureResponse,
    ClientProfileRequest,
    DecisionBody,
    DecisionView,
    DialogView,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    HandoffView,
    MessageRequest,
    MessageResponse,
    MessageView,
    ReplyBody,
)
from router.assistant import Assistant
from router.errors import ApiError, error_response, install_error_handlers
from router.image_upload import decode_upload
from router.metrics import render_metrics
from router.operator_api import build_operator_router, handoff_view, ticket_store
from router.operator_metrics import OperatorCollector
from router.policy import button_intent
from router.settings import Settings, get_settings
from router.store.dialog_store import (
    ClientMessageIdReusedError,
    DialogCounts,
    DialogNotFoundError,
    MessageNotFoundError,
    StoreUnavailableError,
)
from router.store.retention import forget_client
from router.web_pages import install_pages
from second_line.streaming import stream_events

log = logging.getLogger("twoline.api")
_bearer = HTTPBearer(auto_error=False)
_ERRORS = {status: {"model": ErrorResponse} for status in (401, 404, 409, 413, 422, 503)}


class BodySizeLimit:
    """Refuse bodies over the limit before they are read into memory (413 `body_too_large`)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, "body_too_large", f"body over {self.max_bytes} bytes")(
                scope, receive, send
            )
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise ApiError(413, "body_too_large", f"body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)


def limit_math_threads(threads: int) -> None:
    """One BLAS / OpenMP thread per worker (see router/main.py), also for libraries that were
    loaded before the environment could say so (`twoline serve` in one process)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


STREAM_READERS = 256
"""Threads that wait for the next event of open answer streams (blocked, not computing)."""


async def _relay(events: Iterator[str], limiter: anyio.CapacityLimiter) -> AsyncIterator[str]:
    """An answer stream read in threads of its own: a client watching a long answer must not hold one of
    the worker's few request threads while the turn runs (under the turn gate) in another."""
    done = object()
    while (event := await anyio.to_thread.run_sync(next, events, done, limiter=limiter)) is not done:
        yield event


def limit_request_threads(threads: int) -> None:
    """The thread pool the message turns and the other (sync) endpoints run in: anyio's default limiter,
    per process. Every runnable thread competes for the GIL; a few keep the convoy short
    (router/turn_gate.py)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.assistant = assistant or Assistant.load(settings)
        limit_math_threads(settings.math_threads)
        limit_request_threads(settings.request_threads)
        app.state.stream_limiter = anyio.CapacityLimiter(STREAM_READERS)
        yield

    app = FastAPI(
        title="twoline",
        version="0.1.0",
        summary="Two-tier customer-support assistant for banks",
        lifespan=lifespan,
    )
    app.state.assistant = assistant
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    install_error_handlers(app)

    # The dependencies are `async`: they run on the event loop, where a plain `def` would cost a hop to
    # the request threads and back for every request.
    async def the_assistant(request: Request) -> Assistant:
        loaded = request.app.state.assistant
        if loaded is None:
            raise ApiError(503, "not_ready", "models are still loading")
        return loaded

    def require_key(*allowed: str):
        async def check(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
            token = credentials.credentials if credentials else ""
            if not any(hmac.compare_digest(token.encode(), key.encode()) for key in allowed):
                raise ApiError(401, "unauthorized", "missing or wrong API key (Authorization: Bearer <key>)")

        return check

    client_key = settings.client_api_key.get_secret_value()
    operator_key = settings.operator_api_key.get_secret_value()
    client_only = Depends(require_key(client_key))
    operator_only = Depends(require_key(operator_key))
    client_or_operator = Depends(require_key(client_key, operator_key))

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:  # on the event loop: answers while every thread is busy
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses={503: {"model": ErrorResponse}})
    def readyz(request: Request) -> JSONResponse:
        if request.app.state.assistant is None:
            return error_response(503, "not_ready", "models are still loading")
        loaded = request.app.state.assistant
        ocr = "off" if loaded.ocr is None else ("ready" if loaded.ocr.ready else "loading")
        return JSONResponse(
            {
                "status": "ready",
                "domain": loaded.domain.settings.name,
                "ocr": ocr,
                "second_line": loaded.second_line_state,
            }
        )

    @app.get("/metrics", tags=["ops"])
    def metrics(request: Request) -> Response:
        loaded = request.app.state.assistant
        counts = loaded.store.dialog_counts if loaded else (lambda: DialogCounts(0, 0, 0))
        extra = [OperatorCollector(ticket_store(loaded.store.engine))] if loaded else []
        return Response(render_metrics(counts, extra), media_type="text/plain; version=0.0.4")

    @app.post(
        "/v1/messages",
        tags=["chat"],
        dependencies=[client_only],
        responses=_ERRORS,
        response_model=MessageResponse,
    )
    async def post_message(body: MessageRequest, bot: Assistant = Depends(the_assistant)) -> Response:
        """The turn runs in one request thread; its answer is returned as JSON already built from the
        typed MessageResponse (a plain `def` endpoint costs a second thread hop to re-validate it)."""
        answer = await run_in_threadpool(_checked_message_response, body, bot, settings)
        return Response(answer.model_dump_json(), media_type="application/json")

    @app.post("/v1/messages/stream", tags=["chat"], dependencies=[client_only], responses=_ERRORS)
    def post_message_stream(
        body: MessageRequest, bot: Assistant = Depends(the_assistant)
    ) -> StreamingResponse:
        """POST /v1/messages as server-sent events: `accepted` (`{dialog_id, message_id}`) once the message is
        stored; `sentence` events carry a second-line answer sentence by sentence, each sent only after the
        guardrails passed it; the last event, `message`, is the whole MessageResponse (its reply is what the
        dialog stores); `error` carries `{code, message}`."""
        image = _accepted_image(body, bot, settings)
        run = lambda: _message_response(body, bot, image).model_dump_json()  # noqa: E731
        events = stream_events(run, _stream_error)
        return StreamingResponse(_relay(events, app.state.stream_limiter), media_type="text/event-stream")

    @app.post("/v1/feedback", tags=["chat"], dependencies=[client_only], responses=_ERRORS)
    def post_feedback(body: FeedbackRequest, bot: Assistant = Depends(the_assistant)) -> FeedbackResponse:
        if (body.reaction is None) == (body.voc is None):
            raise ApiError(422, "invalid_request", "send either `reaction` (with `message_id`) or `voc`")
        try:
            if body.reaction is not None:
                if body.message_id is None:
                    raise ApiError(
                        422, "invalid_request", "`reaction` needs the `message_id` of a bot message"
                    )
                dialog = bot.store.dialog(body.dialog_id)
                feedback_id = bot.store.add_message_feedback(body.message_id, body.reaction, dialog.id)
            else:
                feedback_id = bot.store.add_voc(body.dialog_id, body.voc)
        except DialogNotFoundError as exc:
            raise ApiError(404, "unknown_dialog", "no such dialog") from exc
        except MessageNotFoundError as exc:
            raise ApiError(404, "unknown_message", "no such bot message in this dialog") from exc
        return FeedbackResponse(feedback_id=feedback_id)

    @app.put("/v1/clients/{client_id}", tags=["chat"], dependencies=[client_only], responses=_ERRORS)
    def put_client(
        client_id: str, body: ClientProfileRequest, bot: Assistant = Depends(the_assistant)
    ) -> dict:
        _check_client_id(client_id)
        bot.store.upsert_client(client_id, body)
        return {"client_id": client_id, "profile": body.model_dump()}

    @app.delete("/v1/clients/{client_id}", tags=["chat"], dependencies=[client_only], responses=_ERRORS)
    def delete_client(client_id: str, bot: Assistant = Depends(the_assistant)) -> ClientErasureResponse:
        """Erasure (a data-subject request from the bank's CRM): everything stored about the client. Rows
        deleted per table; all zero for a client the store does not know (safe to repeat)."""
        _check_client_id(client_id)
        deleted = forget_client(bot.store.engine, client_id)
        log.info("client erased", extra={"rows": sum(deleted.values())})
        return ClientErasureResponse(client_id=client_id, deleted=deleted)

    @app.get("/v1/dialogs/{dialog_id}", tags=["chat"], dependencies=[client_or_operator], responses=_ERRORS)
    def get_dialog(dialog_id: str, bot: Assistant = Depends(the_assistant)) -> DialogView:
        try:
            dialog = bot.store.dialog(dialog_id)
            messages, decisions = bot.store.dialog_history(dialog_id)
        except DialogNotFoundError as exc:
            raise ApiError(404, "unknown_dialog", "no such dialog") from exc
        return DialogView(
            dialog_id=dialog.id,
            client_id=dialog.client_id,
            status=dialog.status,
            voc_score=dialog.voc_score,
            messages=[
                MessageView(
                    id=m.id,
                    role=m.role,
                    text=m.text,
                    button=m.button_payload,
                    buttons=m.buttons,
                    created_at=m.created_at.isoformat(),
                    sentiment=m.sentiment,
                    ocr_text=m.ocr_text,
                )
                for m in messages
            ],
            decisions=[
                DecisionView(
                    message_id=d.message_id,
                    kind=d.kind,
                    reason=d.reason,
                    intent=d.intent,
                    confidence=d.confidence,
                    threshold=d.threshold,
                    pool=d.pool,
                    scores=d.scores or {},
                    latency_ms=d.latency_ms,
                )
                for d in decisions
            ],
        )

    @app.get("/v1/handoffs", tags=["operator"], dependencies=[operator_only], responses=_ERRORS)
    def get_handoffs(
        status: str | None = Query("open", pattern="^(open|claimed|active|closed|all)$"),
        limit: int = Query(100, ge=1, le=1000),
        bot: Assistant = Depends(the_assistant),
    ) -> list[HandoffView]:
        tickets = bot.store.handoffs(None if status == "all" else status, limit)
        return [handoff_view(t) for t in tickets]

    app.include_router(build_operator_router(settings, the_assistant, client_or_operator, operator_only))
    install_pages(app)

    return app


def _checked_message_response(body: MessageRequest, bot: Assistant, settings: Settings) -> MessageResponse:
    return _message_response(body, bot, _accepted_image(body, bot, settings))


def _accepted_image(body: MessageRequest, bot: Assistant, settings: Settings):
    """Refuse what the bot cannot take, before anything is stored; the decoded screenshot, if one came."""
    _check_message(body, bot, settings)
    return decode_upload(body.image_base64, bot, settings) if body.image_base64 is not None else None


def _message_response(body: MessageRequest, bot: Assistant, image) -> MessageResponse:
    try:
        result = bot.handle(
            client_id=body.client_id,
            text=body.text,
            dialog_id=body.dialog_id,
            button_payload=body.button,
            client_message_id=body.client_message_id,
            language=body.language,
            image=image,
        )
    except DialogNotFoundError as exc:
        raise ApiError(404, "unknown_dialog", "no such dialog for this client") from exc
    except ClientMessageIdReusedError as exc:
        raise ApiError(
            409,
            "client_message_id_reused",
            "this client_message_id was sent before with another message; give each message its own id",
        ) from exc
    except StoreUnavailableError as exc:
        raise ApiError(
            503,
            "store_unavailable",
            "the dialog store is busy; retry with the same client_message_id",
            headers={"Retry-After": "1"},
        ) from exc
    return MessageResponse(
        dialog_id=result.dialog_id,
        message_id=result.message_id,
        reply=(
            ReplyBody(text=result.reply, buttons=result.buttons, citations=result.citations)
            if result.reply
            else None
        ),
        reply_message_id=result.reply_message_id,
        decision=DecisionBody(
            kind=result.kind, reason=result.reason, intent=result.intent, confidence=result.confidence
        ),
        handoff_ticket_id=result.ticket_id,
        retry=result.retry,
        feedback_form=result.feedback_form,
    )


def _stream_error(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return json.dumps({"code": exc.code, "message": exc.message})
    log.exception("streamed turn failed", exc_info=exc)
    return json.dumps({"code": "internal_error", "message": "the message could not be processed"})


def _check_client_id(client_id: str) -> None:
    if re.fullmatch(CLIENT_ID_PATTERN, client_id) is None:
        raise ApiError(422, "invalid_request", "client_id: 1-64 letters, digits or _.:@-")


def _check_message(body: MessageRequest, bot: Assistant, settings: Settings) -> None:
    """Refuse before storing: nothing is acknowledged that the bot cannot take."""
    if body.button is not None:
        if button_intent(body.button, bot.domain) is None:
            raise ApiError(422, "unknown_button", "unknown button payload")
    elif not has_visible_text(body.text) and body.image_base64 is None:
        raise ApiError(422, "empty_message", "the message is empty")
    if len(body.text) > settings.max_message_chars:
        raise ApiError(
            422,
            "message_too_long",
            f"the message has {len(body.text)} characters; the limit is {settings.max_message_chars}",
        )
