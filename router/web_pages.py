"""The demo web pages served by the router: the chat page at `/` and the operator console at
`/operator` (plain HTML, CSS and JavaScript in router/static/, no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_HEADERS = {
    # Scripts and styles only from this origin (no inline code), screenshots previewed from data:/blob:.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def install_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "chat.html", headers=PAGE_HEADERS)

    @app.get("/operator", include_in_schema=False)
    def operator_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "operator.html", headers=PAGE_HEADERS)
