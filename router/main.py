"""ASGI entry point for uvicorn workers: `uvicorn router.main:app`."""

from router.app import create_app
from router.logging_setup import configure_logging
from router.settings import get_settings

configure_logging(get_settings().log_level, get_settings().log_json)
app = create_app()
