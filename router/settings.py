"""The one settings object: environment variables with the TWOLINE_ prefix (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from second_line.config import SecondLineSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CLIENT_KEY = "demo-client-key"
DEMO_OPERATOR_KEY = "demo-operator-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWOLINE_", env_file=".env", extra="ignore")

    domain_dir: Path = REPO_ROOT / "domains" / "demo_bank"
    data_dir: Path = REPO_ROOT.parent / "shared" / "data"
    """Public training data (BANKING77, CLINC150, Ask CFPB, ...) for `twoline train`."""
    artifacts_dir: Path = REPO_ROOT / "artifacts"
    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'twoline.db'}"
    """SQLite file by default; e.g. postgresql+psycopg://user@localhost/twoline for PostgreSQL."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int | None = Field(None, ge=1, le=64)
    """Worker processes; unset: one per usable CPU core, as memory allows (router/worker_count.py)."""

    encryption_key: SecretStr | None = None
    """Fernet key(s) to encrypt stored client texts at rest, comma-separated: the first encrypts, all
    decrypt (`twoline store generate-key`, `twoline store reencrypt`; router/store/encryption.py)."""

    client_api_key: SecretStr = SecretStr(DEMO_CLIENT_KEY)
    operator_api_key: SecretStr = SecretStr(DEMO_OPERATOR_KEY)

    max_message_chars: int = Field(2000, ge=1)
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    """Bodies larger than this are refused before parsing (images get their own limit)."""

    max_image_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    """Decoded size limit of a screenshot (`image_base64`); the body limit grows to fit its base64."""
    max_image_pixels: int = Field(16_000_000, ge=10_000)
    """Images with more pixels are refused (decompression bombs) before any pixel is decoded."""
    ocr_enabled: bool = True
    """Read screenshots with EasyOCR (needs the easyocr packages); when off or missing, images get 503."""
    ocr_threads: int = Field(1, ge=1)
    """Torch threads for OCR: 1 was 3.7x faster than 2 on a busy 2-core machine (2.4 s vs 8.7 s)."""

    intent_model_threads: int = Field(1, ge=1)
    request_threads: int = Field(4, ge=1, le=256)
    """Requests a worker process handles at once (its thread pool); more wait in the event loop."""
    turn_slots: int = Field(2, ge=0, le=256)
    """Of those, turns that compute at once (router/turn_gate.py); a turn waiting on the second line's
    LLM or on OCR frees its slot. 0: no limit."""
    math_threads: int = Field(1, ge=1)
    """numpy BLAS / OpenMP threads per worker process (parallelism comes from requests and workers)."""
    encoder_cache_size: int = Field(16_384, ge=0)
    huge_pages: bool = True
    """`twoline` starts itself again under glibc's huge-page tunable (router/huge_pages.py)."""
    use_ner: bool = True
    """spaCy / natasha NER for names and merchants; rules alone when off (faster)."""
    second_line: SecondLineSettings = Field(default_factory=SecondLineSettings)
    """RAG over the knowledge base: TWOLINE_SECOND_LINE_* variables (second_line/config.py)."""
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def intents_dir(self) -> Path:
        return self.artifacts_dir / "intents"

    @property
    def pools_dir(self) -> Path:
        return self.artifacts_dir / "pools"

    @property
    def follow_ups_dir(self) -> Path:
        return self.artifacts_dir / "follow_ups"

    @property
    def russian_follow_ups_dir(self) -> Path:
        return self.artifacts_dir / "follow_ups_ru"

    @property
    def russian_intents_dir(self) -> Path:
        return self.artifacts_dir / "russian_intents"

    @property
    def sentiment_dir(self) -> Path:
        return self.artifacts_dir / "sentiment"

    @property
    def likes_dir(self) -> Path:
        return self.artifacts_dir / "likes"

    @property
    def risk_dir(self) -> Path:
        return self.artifacts_dir / "risk"

    @property
    def max_request_bytes(self) -> int:
        """The body limit: a message plus the base64 of the largest image."""
        return self.max_body_bytes + 4 * ((self.max_image_bytes + 2) // 3)

    @property
    def uses_demo_keys(self) -> bool:
        return self.client_api_key.get_secret_value() == DEMO_CLIENT_KEY


class SettingsError(ValueError):
    """A TWOLINE_* variable (or `.env` line) holds a value the service cannot use; the message names it."""


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_named_variables(exc)) from exc


def _named_variables(exc: ValidationError) -> str:
    """'TWOLINE_MAX_MESSAGE_CHARS: Input should be a valid integer, ...' for each bad value; the values
    themselves are left out (some are keys)."""
    prefixes = {model.__name__: model.model_config["env_prefix"] for model in (Settings, SecondLineSettings)}
    prefix = prefixes.get(exc.title, "TWOLINE_")
    return "; ".join(
        f"{prefix}{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
        for error in exc.errors()
    )
