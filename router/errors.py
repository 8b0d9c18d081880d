"""API errors: JSON with a stable `code`, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from router.metrics import REQUEST_ERRORS
from router.store.dialog_store import StoreUnavailableError
from router.store.encryption import DecryptionError

log = logging.getLogger("twoline.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    REQUEST_ERRORS.labels(code).inc()
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


_HTTP_CODES = {
    400: "invalid_request",  # a body that is not UTF-8, or not parseable at all
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()[:5]
        ]
        return error_response(422, "invalid_request", "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(DecryptionError)
    async def _undecryptable(_: Request, exc: DecryptionError) -> JSONResponse:
        log.error("stored data cannot be decrypted", extra={"error_type": type(exc).__name__})
        return error_response(500, "stored_data_unreadable", str(exc))

    @app.exception_handler(StoreUnavailableError)
    @app.exception_handler(OperationalError)
    async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
        """A locked or unreachable database on any endpoint (the turn has its own message): retry."""
        log.warning("dialog store unavailable", extra={"error_type": type(exc).__name__})
        retry = {"Retry-After": "1"}
        return error_response(503, "store_unavailable", "the dialog store is busy; retry", retry)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", extra={"error_type": type(exc).__name__})
        return error_response(500, "internal_error", "internal error; the incident was logged")
